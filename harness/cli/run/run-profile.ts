import { execFileSync } from "node:child_process";
import { createWriteStream, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import {
  type ChaosContext,
  clearKernelFaults,
  type EntryRecord,
  phasesOf,
  type StartedTimeline,
  startTimeline,
  type TimelineResult,
} from "../../chaos/index.ts";
import { graceS } from "../../k6/plan.ts";
import { type StartedLab, startLab } from "../../lab/lab.ts";
import { assertLoopback } from "../../lab/ports.ts";
import { onShutdown } from "../../lab/shutdown.ts";
import { type FleetRun, outcomeCounts, runFleet } from "../../load/fleet.ts";
import { findK6 } from "../../load/k6.ts";
import { K6_RESULTS_FILE, LiveCounts, type Point } from "../../load/results.ts";
import {
  compilePlan,
  loadProfile,
  switchFleet,
  terminalSettings,
  timelineOf,
} from "../../profile/compile.ts";
import type { Profile } from "../../profile/define.ts";
import {
  type Aggregator,
  createAggregator,
  ledgerFileOf,
  renderRun,
  type Scraper,
  SERVER_SAMPLES_FILE,
  startServerScraper,
  writeSeries,
} from "../../report/index.ts";
import { REPO_ROOT } from "../../shared/repo.ts";
import { descriptorWarning } from "./limits.ts";
import { runStamp } from "./stamp.ts";
import { describeEnded, watchLab } from "./watchdog.ts";

// `posstorm run <profile>`: plan → lab up → k6 fleet + fault timeline → collect → lab down.
// The run folder keeps what was collected whatever happens; Ctrl-C clears faults, stops the lab, exits 2.

export interface RunOptions {
  profile: string;
  reportsDir: string;
  runtime?: "containers" | "local";
  allowRemote?: boolean;
  /** Live line every second (default true). */
  live?: boolean;
  log?: (line: string) => void;
}

export interface RunOutcome {
  runId: string;
  runDir: string;
  status: "completed" | "failed" | "interrupted";
  /** 0 every SLO met, 1 an SLO breached, 2 the run failed or was interrupted. */
  exitCode: 0 | 1 | 2;
  error?: string;
}

function versions(lab: StartedLab | undefined): Record<string, string> {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string };
  let k6 = "?";
  try {
    k6 = execFileSync(findK6(), ["version"], { encoding: "utf8" }).split("\n")[0]!.trim();
  } catch {
    // recorded as unknown
  }
  return { posstorm: pkg.version, node: process.version, k6, runtime: lab?.runtime ?? "external switch" };
}

function liveLine(
  elapsedS: number,
  profile: Profile,
  phase: string,
  live: LiveCounts,
  nowSecond: number,
  terminals: number,
): string {
  const { ops, byOutcome } = live.window(nowSecond - 1, nowSecond);
  const rate = (kind: string) => (ops === 0 ? 0 : ((byOutcome.get(kind) ?? 0) / ops) * 100);
  const failed = ops - (byOutcome.get("approved") ?? 0) - (byOutcome.get("declined") ?? 0);
  return (
    `${String(Math.floor(elapsedS)).padStart(4)}s/${profile.durationS}s  ${phase.padEnd(18)} ops/s ${String(ops).padStart(5)}  ` +
    `signed in ${live.signedIn}/${terminals}  timeouts: connect ${rate("timeout.connect").toFixed(1)}% ` +
    `response ${rate("timeout.response").toFixed(1)}% idle ${rate("timeout.idle").toFixed(1)}%  other failures ${failed - (byOutcome.get("timeout.connect") ?? 0) - (byOutcome.get("timeout.response") ?? 0) - (byOutcome.get("timeout.idle") ?? 0)}`
  );
}

export async function runProfile(opts: RunOptions): Promise<RunOutcome> {
  const log = opts.log ?? ((line: string) => console.log(`[run] ${line}`));
  const { profile, file } = await loadProfile(opts.profile);
  const started = new Date();
  const runId = `${profile.name}-${runStamp(started)}`;
  const runDir = join(opts.reportsDir, runId);
  mkdirSync(runDir, { recursive: true });
  const entries = timelineOf(profile);
  const phases = phasesOf(entries, profile.durationS);
  const terminal = terminalSettings(profile);
  const terminals =
    profile.fleet.model === "population"
      ? profile.fleet.terminals
      : (profile.fleet.terminals ?? terminal.count);

  const run: Record<string, unknown> = {
    runId,
    profile: { name: profile.name, file, description: profile.description },
    status: "starting",
    startedAt: started.toISOString(),
    phases,
  };
  const save = () => writeFileSync(join(runDir, "run.json"), `${JSON.stringify(run, null, 2)}\n`);
  save();
  log(`run ${runId} → ${runDir}`);

  let lab: StartedLab | undefined;
  let scraper: Scraper | undefined;
  let writeSeriesNow: (() => void) | undefined;
  /** Settles once k6 is gone and its raw results are written whole (k6-results.json.gz ended). */
  let fleetSettled: Promise<unknown> | undefined;
  let timeline: StartedTimeline | undefined;
  let timelineResult: TimelineResult | undefined;
  const abort = new AbortController();
  let interrupted = false;

  const finish = async (status: RunOutcome["status"], error?: string) => {
    timelineResult =
      timelineResult ?? (await timeline?.abort(status === "completed" ? "load ended" : status));
    if (timelineResult) run.timeline = timelineResult;
    // The scraper's timer would otherwise keep the process alive after the run (runProfile as a library).
    await scraper?.stop();
    if (lab) await collect(lab, runDir, log).catch((e: Error) => log(`collect: ${e.message}`));
    await lab?.stop();
    run.status = status;
    run.endedAt = new Date().toISOString();
    if (error) run.error = error;
    save();
  };

  // A run that stops early still reports what its load measured until then (exit 2 whatever the verdict).
  const partialReport = async () => {
    await fleetSettled;
    try {
      writeSeriesNow?.();
    } catch (e) {
      log(`series: ${(e as Error).message}`);
    }
    await renderRun(runDir).then(
      () => log(`partial report in ${runDir}`),
      (e: Error) => log(`partial report: ${e.message}`),
    );
  };

  // Interrupt handling: cleanups run newest first, so this one is registered again once the lab is up
  // (it must collect from the lab before the lab's own cleanups stop its programs).
  const onInterrupt = async () => {
    interrupted = true;
    abort.abort(new Error("interrupted"));
    log("interrupted: clearing faults, stopping the lab, keeping what was collected");
    await finish("interrupted");
    await partialReport();
  };
  let unregister = onShutdown(onInterrupt);

  try {
    await clearKernelFaults().catch(() => undefined);
    let target: { host: string; port: number };
    if (profile.target) {
      assertLoopback(profile.target.host, opts.allowRemote);
      target = profile.target;
    } else {
      const runtime = opts.runtime ?? profile.lab?.runtime ?? "containers";
      log(`lab up (${runtime}) …`);
      const descriptors = descriptorWarning(terminal.mode, terminals);
      if (descriptors) log(descriptors);
      lab = await startLab({
        runtime,
        runDir,
        session: runId,
        ...(profile.lab?.issuers ? { issuers: profile.lab.issuers } : {}),
        ...(profile.lab?.hsm ? { hsmSettings: profile.lab.hsm } : {}),
        ...(profile.lab?.switch ? { switchSettings: profile.lab.switch } : {}),
        ...(profile.lab?.routes ? { routes: profile.lab.routes } : {}),
        ...(profile.lab?.switchSource ? { switchSource: profile.lab.switchSource } : {}),
        fleet: switchFleet(terminal),
      });
      target = lab.edge;
      unregister();
      unregister = onShutdown(onInterrupt);
      run.lab = JSON.parse(readFileSync(join(runDir, "lab.json"), "utf8"));
      log(`lab up: terminals connect to ${target.host}:${target.port}`);
    }
    run.versions = versions(lab);
    if (profile.slos) run.slos = profile.slos;
    const plan = compilePlan(profile, { runId, target });
    run.status = "running";
    save();

    const chaosContext: ChaosContext | undefined = lab && {
      toxiproxy: lab.toxiproxy,
      links: lab.links,
      admin: lab.admin,
      restartService: (role, { downMs }) => lab!.restart(role, { downMs }),
    };
    if (entries.length > 0 && !chaosContext)
      throw new Error("chaos needs the lab: a profile with `target` cannot have faults");

    // Load start = the moment k6 is launched: faults at 0 are in place before the first terminal connects
    // (k6 needs a moment to initialise its VUs). The first sample's time is recorded beside it.
    // k6's samples stream in as it writes them (runFleet stores them in k6-results.json.gz).
    const live = new LiveCounts();
    let aggregator: Aggregator | undefined;
    const onPoint = (point: Point) => {
      run.firstSampleAt ??= new Date(point.timeMs).toISOString();
      live.add(point);
      aggregator?.add(point);
    };
    const fleet = runFleet({ plan, runDir, signal: abort.signal, onPoint });
    fleetSettled = fleet.catch(() => undefined);
    const loadStartMs = Date.now();
    run.loadStartedAt = new Date(loadStartMs).toISOString();
    if (chaosContext && entries.length > 0) {
      timeline = startTimeline(entries, chaosContext, {
        loadDurationS: profile.durationS,
        startAtMs: loadStartMs,
      });
      void timeline.done.then((result) => {
        timelineResult = result;
      });
    }
    const aggregate = createAggregator({ loadStartMs });
    aggregator = aggregate;
    scraper = lab
      ? startServerScraper({
          admin: lab.admin,
          file: join(runDir, SERVER_SAMPLES_FILE),
          onSample: (t, role, metrics) => aggregate.addServerSample(t, role, metrics),
        })
      : undefined;
    writeSeriesNow = () => writeSeries(runDir, aggregate.result());
    const tick = () => {
      if (run.firstSampleAt !== undefined && opts.live !== false) {
        const elapsedS = (Date.now() - loadStartMs) / 1000;
        const phase = phases.find((p) => elapsedS >= p.startS && elapsedS < p.endS)?.name ?? "drain";
        log(liveLine(elapsedS, profile, phase, live, Math.floor(Date.now() / 1000), terminals));
      }
    };
    const ticker = setInterval(tick, 1000);
    // A lab program that ends on its own stops the run: k6 is stopped, the faults cleared, exit 2.
    let labFailure: string | undefined;
    const stopWatch = lab
      ? watchLab(lab, (ended) => {
          labFailure = `${describeEnded(ended)}, ${((Date.now() - loadStartMs) / 1000).toFixed(1)} s into the load`;
          log(`${labFailure}: stopping the run`);
          abort.abort(new Error(labFailure));
        })
      : () => undefined;
    let result: FleetRun;
    try {
      result = await fleet;
    } catch (error) {
      throw new Error(labFailure ?? (error as Error).message, { cause: error });
    } finally {
      clearInterval(ticker);
      stopWatch();
    }
    if (labFailure) throw new Error(labFailure);
    if (timeline) timelineResult = await timeline.done;
    const { linesRead, bytesRead, linesKept, bytesStored } = result.results;
    run.k6 = {
      exitCode: result.exitCode,
      graceS: graceS(plan.terminal, plan.fleet.model),
      results: { file: K6_RESULTS_FILE, linesRead, bytesRead, linesKept, bytesStored },
    };
    if (result.summary) {
      run.outcomes = outcomeCounts(result.summary);
      writeFileSync(join(runDir, "k6-summary.json"), `${JSON.stringify(result.summary.raw, null, 2)}\n`);
    }
    if (result.exitCode !== 0 && result.exitCode !== 99) {
      throw new Error(
        `k6 exited ${result.exitCode}: ${result.stderr.trim().split("\n").slice(-3).join(" | ")}`,
      );
    }
    unregister();
    await finish("completed");
    // The series the run aggregated as it went: the report need not read k6-results.json.gz again.
    writeSeriesNow();
    log(`done: ${live.total} operations; run folder ${runDir}`);
    printFaults(timelineResult?.entries ?? [], log);
    const rendered = await renderRun(runDir);
    for (const r of rendered.verdict.slos) {
      log(`SLO ${r.status.toUpperCase().padEnd(7)} ${r.id}: ${r.detail}`);
    }
    log(`verdict: ${rendered.verdict.status}; reports: ${rendered.files.summary}, ${rendered.files.html}`);
    return { runId, runDir, status: "completed", exitCode: rendered.exitCode };
  } catch (error) {
    if (interrupted) return { runId, runDir, status: "interrupted", exitCode: 2 };
    unregister();
    const message = (error as Error).message;
    log(`failed: ${message}`);
    await finish("failed", message).catch(() => undefined);
    if (writeSeriesNow) await partialReport(); // the load had started
    return { runId, runDir, status: "failed", exitCode: 2, error: message };
  }
}

function printFaults(entries: EntryRecord[], log: (line: string) => void): void {
  for (const e of entries) {
    const applied = e.appliedAt ? `applied at ${e.appliedAt.sinceStartS.toFixed(1)}s` : "not applied";
    const cleared = e.clearedAt ? `cleared at ${e.clearedAt.sinceStartS.toFixed(1)}s` : "";
    log(`fault ${e.name}: ${e.status}, ${applied} ${cleared}${e.error ? `, error: ${e.error}` : ""}`);
  }
}

/** A ledger download that receives nothing for this long fails (the whole download may take longer). */
const LEDGER_STALL_MS = 10_000;

/**
 * What the lab knows after the run: issuer ledgers and every program's final metrics. A ledger (one entry per
 * purchase the issuer saw: ~300 MB of JSON for 10 minutes at 2,000/s) is streamed from GET /ledger?format=ndjson
 * through gzip into collected/issuer-<name>.ledger.ndjson.gz, never held whole; the file appears complete or not
 * at all.
 */
async function collect(lab: StartedLab, runDir: string, log: (line: string) => void): Promise<void> {
  const out = join(runDir, "collected");
  mkdirSync(out, { recursive: true });
  await Promise.all(
    Object.entries(lab.admin).map(async ([role, url]) => {
      const get = async (path: string) => {
        const response = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(5_000) });
        if (!response.ok) throw new Error(`${role} ${path}: HTTP ${response.status}`);
        return await response.text();
      };
      try {
        writeFileSync(join(out, `${role}.metrics.prom`), await get("/metrics"));
        if (role.startsWith("issuer-"))
          await download(`${url}/ledger?format=ndjson`, join(runDir, ledgerFileOf(role)));
      } catch (error) {
        log(`collect ${role}: ${(error as Error).message}`);
      }
    }),
  );
}

/** GET `url` gzipped into `file` as it arrives (via `file`.partial, renamed once whole). */
async function download(url: string, file: string): Promise<void> {
  const stalled = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const watch = () => {
    clearTimeout(timer);
    timer = setTimeout(
      () => stalled.abort(new Error(`${url}: no data for ${LEDGER_STALL_MS} ms`)),
      LEDGER_STALL_MS,
    );
  };
  const partial = `${file}.partial`;
  try {
    watch();
    const response = await fetch(url, { signal: stalled.signal });
    if (!response.ok || !response.body) throw new Error(`${url}: HTTP ${response.status}`);
    await pipeline(
      response.body,
      async function* (chunks: AsyncIterable<Uint8Array>) {
        for await (const chunk of chunks) {
          watch();
          yield chunk;
        }
      },
      createGzip(),
      createWriteStream(partial),
    );
    renameSync(partial, file);
  } catch (error) {
    rmSync(partial, { force: true });
    throw stalled.signal.aborted ? stalled.signal.reason : error;
  } finally {
    clearTimeout(timer);
  }
}
