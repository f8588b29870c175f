import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type ChaosContext,
  clearKernelFaults,
  type EntryRecord,
  type StartedTimeline,
  startTimeline,
  type TimelineResult,
} from "../chaos/index.ts";
import {
  type AgentConnection,
  connectAgents,
  FleetControl,
  type FleetResult,
  outcomeCounts,
  runFleet,
} from "../fleet/index.ts";
import { LiveCounts, liveLine } from "../fleet/live.ts";
import { graceS } from "../fleet/plan.ts";
import { collect, settle } from "../lab/collect.ts";
import { chaosContextOf } from "../lab/controls.ts";
import { agentLinkName, labJsonOf, type StartedLab, startLab } from "../lab/lab.ts";
import { assertLoopback } from "../lab/ports.ts";
import { type CompiledRun, fleetPlanOf, loadProfile, runPlanOf, switchFleet } from "../profile/compile.ts";
import {
  type Aggregator,
  createAggregator,
  type Reconciliation,
  renderRun,
  type Scraper,
  SERVER_SAMPLES_FILE,
  startServerScraper,
  type Verdict,
  writeSeries,
} from "../report/index.ts";
import {
  type FleetFacts,
  RUN_FILES,
  type RunJson,
  runFile,
  writePlanJson,
  writeRunJson,
} from "../run-folder/index.ts";
import { REPO_ROOT } from "../shared/repo.ts";
import { onShutdown, onSoftStop } from "../shared/shutdown.ts";
import { describeAbort, rateBreach } from "../slo/index.ts";
import { descriptorWarning } from "./limits.ts";
import { type LiveServer, startLiveServer } from "./live/live-view.ts";
import { ManualFaults } from "./live/manual-faults.ts";
import { runStamp } from "./stamp.ts";
import { describeEnded, watchLab } from "./watchdog.ts";

// `posstorm run <profile>`: plan → lab up → fleet + fault timeline → collect → lab down.
// The run folder keeps what was collected whatever happens; Ctrl-C clears faults, stops the lab, exits 2.

export interface RunOptions extends CompiledRunOptions {
  profile: string;
}

export interface CompiledRunOptions {
  /** The run folder is reportsDir/runId. */
  reportsDir: string;
  /** Default: the profile's name and the start time (`smoke-20261205-101500`). */
  runId?: string;
  runtime?: "containers" | "local";
  allowRemote?: boolean;
  /** Live line every second (default true). */
  live?: boolean;
  /** Fleet segments, one worker thread each (default: fleet/arrivals.ts defaultSegments). */
  segments?: number;
  /**
   * Agents (`host:port` of each `posstorm agent`) that run the fleet's segments instead of this process: each
   * gets a link of its own to the switch (`agent-<name>`), on the address it reached this coordinator from.
   */
  agents?: string[];
  /** Port of the live view on 127.0.0.1 (default 0: a free one; its address is printed and in run.json). */
  livePort?: number;
  /**
   * A rehearsal: the first Ctrl-C (or the live page's "End rehearsal") ends the load by hand, faults cleared,
   * and the run reports as completed; a second Ctrl-C interrupts.
   */
  endByHand?: boolean;
  log?: (line: string) => void;
}

export interface RunOutcome {
  runId: string;
  runDir: string;
  status: "completed" | "aborted" | "failed" | "interrupted";
  /** 0 every SLO met, 1 an SLO breached or an abort condition stopped it, 2 the run failed or was interrupted. */
  exitCode: 0 | 1 | 2;
  error?: string;
  /** The SLO verdict of a completed run. */
  verdict?: Verdict;
  /** The issuers' ledgers against the terminals' outcomes (one-sided transactions) of a completed run. */
  reconciliation?: Reconciliation;
}

function versions(lab: StartedLab | undefined, compiled: CompiledRun): Record<string, string> {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string };
  return {
    posstorm: pkg.version,
    node: process.version,
    fleet: `posstorm fleet engine ${pkg.version}`,
    runtime: lab?.runtime ?? "none",
    switch: compiled.target
      ? `yours, already running at ${compiled.target.host}:${compiled.target.port}`
      : compiled.lab?.switchSource && compiled.lab.switchSource.kind !== "reference"
        ? `yours (${compiled.lab.switchSource.kind})`
        : "posstorm reference switch",
  };
}

export async function runProfile(opts: RunOptions): Promise<RunOutcome> {
  // The profile is compiled once, here (loadProfile): everything below reads `compiled` or plan.json.
  const { compiled } = await loadProfile(opts.profile);
  return runCompiled(compiled, opts);
}

/** One run of a compiled profile (capacity steps and timeout cells are compiled runs with their own settings). */
export async function runCompiled(compiled: CompiledRun, opts: CompiledRunOptions): Promise<RunOutcome> {
  const log = opts.log ?? ((line: string) => console.log(`[run] ${line}`));
  const started = new Date();
  const runId = opts.runId ?? `${compiled.profile.name}-${runStamp(started)}`;
  const runDir = join(opts.reportsDir, runId);
  mkdirSync(runDir, { recursive: true });
  const { timeline: entries, phases, terminal, terminals, durationS } = compiled;

  const run: RunJson = {
    runId,
    profile: compiled.profile,
    status: "starting",
    startedAt: started.toISOString(),
  };
  const save = () => writeRunJson(runDir, run);
  save();
  // The plan as compiled; written again with the switch's address once the lab is up.
  let planJson = runPlanOf(compiled, { runId });
  writePlanJson(runDir, planJson);
  log(`run ${runId} → ${runDir}`);

  let lab: StartedLab | undefined;
  let agents: AgentConnection[] | undefined;
  let scraper: Scraper | undefined;
  let writeSeriesNow: (() => void) | undefined;
  /** Settles once the fleet has ended and its raw samples are written whole (samples.ndjson.gz closed). */
  let fleetSettled: Promise<unknown> | undefined;
  let timeline: StartedTimeline | undefined;
  let timelineResult: TimelineResult | undefined;
  const abort = new AbortController();
  let interrupted = false;
  /** Faults applied by hand (live view, `posstorm chaos apply --run`), once the lab is up. */
  let manual: ManualFaults | undefined;
  let liveServer: LiveServer | undefined;

  const finish = async (status: RunOutcome["status"], error?: string) => {
    await manual?.clearAll(status === "completed" ? "schedule" : "abort", true);
    timelineResult =
      timelineResult ?? (await timeline?.abort(status === "completed" ? "load ended" : status));
    const byHand = manual?.records() ?? [];
    if (timelineResult || byHand.length > 0) {
      const now = new Date().toISOString();
      const base = timelineResult ?? {
        startedAt: run.loadStartedAt ?? now,
        endedAt: now,
        aborted: false,
        entries: [],
      };
      run.timeline = { ...base, entries: [...base.entries, ...byHand] };
    }
    // The scraper's timer would otherwise keep the process alive after the run (runProfile as a library).
    await scraper?.stop();
    // A completed run lets the switch finish its store-and-forward first (an interrupted one does not wait).
    if (lab && (status === "completed" || status === "aborted")) await settle(lab, log);
    if (lab) await collect(lab, runDir, log).catch((e: Error) => log(`collect: ${e.message}`));
    await lab?.stop();
    if (agents) {
      // However the run ended, the agents are let go (their segments stop) and run.json names them.
      for (const agent of agents) agent.close();
      run.agents = agents.map((a) => a.facts());
    }
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
    await liveServer?.close();
  };
  let unregister = onShutdown(onInterrupt);

  try {
    await clearKernelFaults().catch(() => undefined);
    const labSettings = compiled.lab;
    const runtime = opts.runtime ?? labSettings?.runtime ?? "containers";
    const switchMetricsUrl = compiled.switchMetrics?.url;
    if (compiled.target) {
      // A switch already running: the lab is Toxiproxy in front of it (edge), so the faults on edge still work.
      assertLoopback(compiled.target.host, opts.allowRemote);
      log(
        `Toxiproxy up (${runtime}) in front of your switch at ${compiled.target.host}:${compiled.target.port} …`,
      );
      lab = await startLab({
        runtime,
        runDir,
        session: runId,
        target: compiled.target,
        ...(switchMetricsUrl ? { switchMetricsUrl } : {}),
      });
    } else {
      log(`lab up (${runtime}) …`);
      const descriptors = descriptorWarning(terminal.mode, terminals);
      if (descriptors) log(descriptors);
      lab = await startLab({
        runtime,
        runDir,
        session: runId,
        ...(labSettings?.issuers ? { issuers: labSettings.issuers } : {}),
        ...(labSettings?.hsm ? { hsmSettings: labSettings.hsm } : {}),
        ...(labSettings?.switch ? { switchSettings: labSettings.switch } : {}),
        ...(labSettings?.routes ? { routes: labSettings.routes } : {}),
        ...(labSettings?.switchSource ? { switchSource: labSettings.switchSource } : {}),
        ...(switchMetricsUrl ? { switchMetricsUrl } : {}),
        ...(terminal.keysFile ? { terminalKeysFile: terminal.keysFile } : { fleet: switchFleet(terminal) }),
      });
    }
    const target = lab.edge;
    if (opts.agents !== undefined && opts.agents.length > 0) {
      log(`connecting to ${opts.agents.length} agent(s): ${opts.agents.join(", ")} …`);
      agents = await connectAgents(opts.agents, runId);
      for (const agent of agents) {
        agent.target = await lab.addAgentLink(agent.name, agent.localAddress);
        log(
          `agent ${agent.name} (${agent.address}, ${agent.host} pid ${agent.pid}): ${agent.offered} segment(s), clock offset ${agent.clockOffsetMs} ms (round trip ${agent.rttMs} ms), load through link ${agentLinkName(agent.name)} at ${agent.target.host}:${agent.target.port}`,
        );
      }
      run.agents = agents.map((a) => a.facts());
    }
    unregister();
    unregister = onShutdown(onInterrupt);
    run.lab = labJsonOf(lab);
    log(`lab up: terminals connect to ${target.host}:${target.port}`);
    run.versions = versions(lab, compiled);
    planJson = { ...planJson, target };
    writePlanJson(runDir, planJson);
    const plan = fleetPlanOf(planJson, target);
    run.status = "running";
    save();

    // Fleet-side faults (power loss) go through the same timeline to the run's own terminals.
    const fleetControl = new FleetControl();
    const chaosContext: ChaosContext = { ...chaosContextOf(lab), fleet: fleetControl };
    manual = new ManualFaults(chaosContext, entries.length);
    const byHand = manual;
    const live = new LiveCounts();
    const labLast: Record<string, Record<string, number>> = {};
    let fleetEnded = false;
    /** Seconds since load start, to a tenth (0 before it). */
    const sinceStartS = () =>
      loadStartMs === undefined ? 0 : Math.round((Date.now() - loadStartMs) / 100) / 10;
    /**
     * Every fault off now: the planned timeline aborted (what it applied cleared, what it had still to apply
     * skipped) and every fault by hand cleared. The names of those that were in effect.
     */
    const clearEveryFault = async (
      reason: string,
      by: "emergency-stop" | "abort" | "manual",
    ): Promise<string[]> => {
      const active = (timeline?.records() ?? []).filter((r) => r.status === "active").map((r) => r.name);
      if (timeline) timelineResult = await timeline.abort(reason);
      return [...active, ...(await byHand.clearAll(by))];
    };
    /** Ends the load early once every fault is off; the run then settles, collects and reports as usual. */
    const stopLoad = (reason: string, by: "abort" | "manual") => {
      void clearEveryFault(reason, by).finally(() => abort.abort(new Error(reason)));
    };
    liveServer = await startLiveServer(
      {
        runId,
        profile: compiled.profile.name,
        durationS,
        loadStartMs: () => loadStartMs,
        series: () => aggregator?.result(),
        planned: () => timeline?.records() ?? [],
        lab: () => labLast,
        ended: () => fleetEnded,
        manual: byHand,
        end: opts.endByHand ? () => endByHand("the live page") : undefined,
        emergencyStop: () => clearEveryFault("emergency stop", "emergency-stop"),
      },
      live,
      { ...(opts.livePort !== undefined ? { port: opts.livePort } : {}), log },
    );
    run.live = { url: liveServer.url };
    save();
    log(`live view: ${liveServer.url} (Prometheus text: ${liveServer.url}/metrics)`);

    // Load start = the moment the fleet's first arrival is due (runFleet picks it once every segment is ready):
    // the timeline, the aggregation and the scrapes start there, so faults at 0 are in place before the first
    // terminal connects. The fleet's samples stream in as the segments send them (kept in samples.ndjson.gz).
    let loadStartMs: number | undefined;
    let aggregator: Aggregator | undefined;
    const onStart = (startAtMs: number) => {
      loadStartMs = startAtMs;
      byHand.setLoadStart(startAtMs);
      run.loadStartedAt = new Date(startAtMs).toISOString();
      save();
      let faultsDueAtStart: Promise<void> | undefined;
      if (chaosContext && entries.length > 0) {
        const started = startTimeline(entries, chaosContext, { loadDurationS: durationS, startAtMs });
        timeline = started;
        void started.done.then((result) => {
          timelineResult = result;
        });
        faultsDueAtStart = settledAtStart(started);
      }
      const aggregate = createAggregator({ loadStartMs: startAtMs });
      aggregator = aggregate;
      scraper = lab
        ? startServerScraper({
            // Every lab program, Toxiproxy (it carries every link's bytes) and your switch when it says where.
            pages: lab.metrics,
            ...(compiled.switchMetrics?.chart ? { keep: compiled.switchMetrics.chart } : {}),
            file: join(runDir, SERVER_SAMPLES_FILE),
            onSample: (t, role, metrics) => {
              labLast[role] = Object.fromEntries(metrics);
              aggregate.addServerSample(t, role, metrics);
            },
          })
        : undefined;
      writeSeriesNow = () => writeSeries(runDir, aggregate.result());
      // The fleet starts once the faults due at 0 are in place (or failed): none of its terminals gets ahead of them.
      return faultsDueAtStart;
    };
    const fleet = runFleet({
      plan,
      control: fleetControl,
      samplesFile: runFile(runDir, "samples"),
      ...(opts.segments !== undefined ? { segments: opts.segments } : {}),
      ...(agents ? { agents } : {}),
      signal: abort.signal,
      onStart,
      onSample: (sample) => {
        live.add(sample);
        aggregator?.addSample(sample);
      },
      log: (line) => log(line),
    });
    fleetSettled = fleet.catch(() => undefined);
    const tick = () => {
      if (loadStartMs === undefined || opts.live === false) return;
      const elapsedS = (Date.now() - loadStartMs) / 1000;
      if (elapsedS < 0) return;
      const phase = phases.find((p) => elapsedS >= p.startS && elapsedS < p.endS)?.name ?? "drain";
      log(liveLine({ elapsedS, durationS, phase, live, terminals }));
    };
    const ticker = setInterval(tick, 1000);
    // A game day's abort conditions, checked once a second over the complete seconds: the first breach clears
    // every fault, then stops the load; the run still collects and reports (exit 1, journal: aborted).
    const abortWhen = compiled.gameDay?.abortWhen ?? [];
    const checkAborts = () => {
      if (loadStartMs === undefined || run.abort || fleetEnded) return;
      const elapsedS = (Date.now() - loadStartMs) / 1000;
      const s = Math.floor(elapsedS);
      for (const c of abortWhen) {
        let detail: string | undefined;
        if (c.kind === "reversal-abandoned") {
          const n = live.counts.reversals.abandoned;
          if (n > 0) detail = `${n} reversal(s) abandoned by the terminals`;
        } else if (c.kind !== "program-down" && s >= c.forS) {
          const breach = rateBreach(c, live.window(s - c.forS, s, c.operation).byOutcome);
          if (breach?.breached)
            detail = `${breach.events} of ${breach.ops} operations ending in ${s - c.forS}–${s} s (${(breach.share * 100).toFixed(1)} %)`;
        }
        if (detail === undefined) continue;
        abortRun(describeAbort(c), detail);
        return;
      }
    };
    /** A rehearsal ended by hand: faults cleared, then the load stopped; the run reports as completed. */
    const endByHand = (by: string) => {
      if (run.abort || run.endedByHand || fleetEnded) return;
      run.endedByHand = { by, atS: sinceStartS(), at: new Date().toISOString() };
      save();
      log(
        `rehearsal ended by hand (${by}) at ${run.endedByHand.atS} s: clearing every fault, stopping the load, then the report`,
      );
      stopLoad("ended by hand", "manual");
    };
    const stopSoftStop = opts.endByHand ? onSoftStop(() => endByHand("Ctrl-C")) : () => undefined;
    /** The first abort condition breached: faults cleared, then the load stopped; the run goes on to report. */
    const abortRun = (condition: string, detail: string) => {
      if (run.abort) return;
      run.abort = { condition, atS: sinceStartS(), at: new Date().toISOString(), detail };
      save();
      log(`abort at ${run.abort.atS} s: ${condition}: ${detail}; clearing every fault, stopping the load`);
      stopLoad(`abort condition: ${condition}`, "abort");
    };
    const abortTicker = abortWhen.length > 0 ? setInterval(checkAborts, 1000) : undefined;
    // A lab program that ends on its own stops the run: the fleet is stopped, the faults cleared, exit 2.
    let labFailure: string | undefined;
    const stopWatch = lab
      ? watchLab(lab, (ended) => {
          const intoS = loadStartMs === undefined ? 0 : (Date.now() - loadStartMs) / 1000;
          // A game day that names a program down as an abort condition stops there and reports (exit 1).
          if (abortWhen.some((c) => c.kind === "program-down") && loadStartMs !== undefined) {
            abortRun(describeAbort({ kind: "program-down" }), describeEnded(ended));
            return;
          }
          labFailure = `${describeEnded(ended)}, ${intoS.toFixed(1)} s into the load`;
          log(`${labFailure}: stopping the run`);
          abort.abort(new Error(labFailure));
        })
      : () => undefined;
    let result: FleetResult;
    try {
      result = await fleet;
    } catch (error) {
      throw new Error(labFailure ?? (error as Error).message, { cause: error });
    } finally {
      fleetEnded = true;
      stopSoftStop();
      clearInterval(ticker);
      clearInterval(abortTicker);
      stopWatch();
    }
    if (labFailure) throw new Error(labFailure);
    if (result.aborted && !run.abort && !run.endedByHand)
      throw new Error("the fleet was stopped before the load ended");
    if (timeline) timelineResult = await timeline.done;
    run.fleet = fleetFacts(result);
    run.outcomes = outcomeCounts(result.totals);
    writeFileSync(runFile(runDir, "fleetWatch"), `${JSON.stringify(result.selfWatch)}\n`);
    if (result.generatorLimited.limited) {
      log(`generator-limited: ${result.generatorLimited.reasons.map((r) => r.text).join("; ")}`);
    }
    unregister();
    const ended = run.abort ? "aborted" : "completed";
    await finish(ended);
    // The series the run aggregated as it went: the report need not read samples.ndjson.gz again.
    writeSeriesNow?.();
    log(`done: ${live.total} operations; run folder ${runDir}`);
    printFaults(timelineResult?.entries ?? [], log);
    const rendered = await renderRun(runDir);
    for (const r of rendered.verdict.slos) {
      log(`SLO ${r.status.toUpperCase().padEnd(7)} ${r.id}: ${r.detail}`);
    }
    log(`verdict: ${rendered.verdict.status}; reports: ${rendered.files.summary}, ${rendered.files.html}`);
    // The live view stays up until the report is written: /metrics then holds the run's final counts.
    await liveServer?.close();
    if (run.abort) log(`aborted: ${run.abort.condition} (journal: ${runDir}/journal.json)`);
    return {
      runId,
      runDir,
      status: ended,
      exitCode: rendered.exitCode,
      verdict: rendered.verdict,
      reconciliation: rendered.model.reconciliation,
    };
  } catch (error) {
    if (interrupted) return { runId, runDir, status: "interrupted", exitCode: 2 };
    unregister();
    const message = (error as Error).message;
    log(`failed: ${message}`);
    await finish("failed", message).catch(() => undefined);
    if (writeSeriesNow) await partialReport(); // the load had started
    await liveServer?.close();
    return { runId, runDir, status: "failed", exitCode: 2, error: message };
  }
}

/** Resolves once every entry due at load start is applied, or has failed or been skipped. */
async function settledAtStart(timeline: StartedTimeline): Promise<void> {
  const settling = () =>
    timeline.records().some((r) => r.atS === 0 && (r.status === "pending" || r.status === "applying"));
  while (settling()) await new Promise((resolve) => setTimeout(resolve, 5));
}

/** What run.json keeps of the fleet: how it ran, whether it kept up, what it wrote. */
function fleetFacts(result: FleetResult): FleetFacts {
  const watch = result.selfWatch;
  const max = (pick: (w: (typeof watch)[number]) => number | null) =>
    watch.reduce((m, w) => Math.max(m, pick(w) ?? 0), 0);
  const loadS = Math.max(0.001, (result.endedAtMs - result.startAtMs) / 1000);
  return {
    engine: "posstorm",
    segments: result.segments,
    socketsOpened: result.socketsOpened,
    threads: result.inProcess ? "in-process" : "worker",
    threadPriority: result.segmentReports.map((r) => r.priority ?? null),
    graceS: graceS(result.plan.terminal, result.plan.fleet.model),
    generator: result.generatorLimited,
    watch: {
      file: RUN_FILES.fleetWatch,
      scheduleLagP99Ms: result.generatorLimited.scheduleLag.p99Ms,
      scheduleLagP99MaxMs: max((w) => w.scheduleLagP99Ms),
      loopDelayP99MaxMs: max((w) => w.loopDelayP99Ms),
      dropped: result.totals.dropped,
    },
    cpu: {
      userMs: result.processCpuMs.user,
      systemMs: result.processCpuMs.system,
      averageCores: (result.processCpuMs.user + result.processCpuMs.system) / 1000 / loadS,
    },
    samples: {
      file: RUN_FILES.samples,
      records: result.samples.records,
      bytes: result.samples.bytes,
      gzipBytes: result.samples.gzipBytes,
    },
  };
}

function printFaults(entries: EntryRecord[], log: (line: string) => void): void {
  for (const e of entries) {
    const applied = e.appliedAt ? `applied at ${e.appliedAt.sinceStartS.toFixed(1)}s` : "not applied";
    const cleared = e.clearedAt ? `cleared at ${e.clearedAt.sinceStartS.toFixed(1)}s` : "";
    log(`fault ${e.name}: ${e.status}, ${applied} ${cleared}${e.error ? `, error: ${e.error}` : ""}`);
  }
}
