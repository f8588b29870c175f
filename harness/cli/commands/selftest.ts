import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { gunzipSync } from "node:zlib";
import type { CommandModule } from "yargs";
import { type OperationSample, parseSampleLines, runFleet } from "../../fleet/index.ts";
import { type Runtime, startLab } from "../../lab/lab.ts";
import { DEFAULT_LAB_KEY_HEX } from "../../protocol/index.ts";
import { runStamp } from "../../run/stamp.ts";
import { REPO_ROOT } from "../../shared/repo.ts";
import { onShutdown } from "../../shared/shutdown.ts";

// The real parts end to end, in a minute: the fleet engine's terminals sign in to the reference lab through
// Toxiproxy's `edge`; a latency toxic on `edge` must show in the terminals' own latencies, and clear.

interface SelftestArgs {
  "latency-ms": number;
  iterations: number;
  terminals: number;
  runtime: Runtime;
  "reports-dir": string;
}

interface Phase {
  name: "baseline" | "fault" | "recovery";
  fault?: string;
  startedAt: string;
  durationS: number;
  /** Sign-ins attempted, approved, failed (any other outcome), and arrivals dropped (all terminals busy). */
  signIns: number;
  approved: number;
  failed: number;
  dropped: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
}

/** Sign-ins per second of each phase. */
const RATE_PER_S = 10;
/** The terminals' response timer: a latency at or above it fails the sign-ins (and the self-test). */
const RESPONSE_TIMEOUT_MS = 5_000;

const log = (line: string) => console.log(`[selftest] ${line}`);

const percentile = (sorted: number[], q: number) =>
  sorted.length === 0 ? 0 : sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;

function phaseOf(
  name: Phase["name"],
  samplesFile: string,
  startedAt: Date,
  dropped: number,
  fault?: string,
): Phase {
  const ops = parseSampleLines(gunzipSync(readFileSync(samplesFile)).toString("utf8")).filter(
    (s): s is OperationSample => !("ev" in s) && s.op === "signin",
  );
  const ms = ops.map((s) => s.ms).sort((a, b) => a - b);
  const approved = ops.filter((s) => s.outcome === "approved").length;
  return {
    name,
    ...(fault ? { fault } : {}),
    startedAt: startedAt.toISOString(),
    durationS: (Date.now() - startedAt.getTime()) / 1000,
    signIns: ops.length,
    approved,
    failed: ops.length - approved,
    dropped,
    p50Ms: percentile(ms, 0.5),
    p95Ms: percentile(ms, 0.95),
    maxMs: ms.at(-1) ?? 0,
  };
}

function summaryMarkdown(runId: string, phases: Phase[], verdict: string, latencyMs: number): string {
  const rows = phases.map(
    (p) =>
      `| ${p.name}${p.fault ? ` (${p.fault})` : ""} | ${p.signIns} | ${p.approved} | ${p.failed} | ${p.dropped} | ${p.p50Ms.toFixed(1)} | ${p.p95Ms.toFixed(1)} | ${p.maxMs.toFixed(1)} |`,
  );
  return [
    `# posstorm self-test ${runId}`,
    "",
    `Fleet engine terminals → Toxiproxy \`edge\` → reference switch (→ HSM); fault: ${latencyMs} ms latency on \`edge\`.`,
    "",
    "| phase | sign-ins | approved | failed | dropped | p50 ms | p95 ms | max ms |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
    ...rows,
    "",
    `**${verdict}**`,
    "",
  ].join("\n");
}

export const selftestCommand: CommandModule<object, SelftestArgs> = {
  command: "selftest",
  describe:
    "Sign terminals in to the reference lab through Toxiproxy, add a latency fault on edge, check that the terminals measure it",
  builder: (y) =>
    y
      .option("latency-ms", { type: "number", default: 300, describe: "latency toxic on edge, ms" })
      .option("iterations", { type: "number", default: 40, describe: `sign-ins per phase (${RATE_PER_S}/s)` })
      .option("terminals", {
        type: "number",
        default: 4,
        describe: "terminals (at most this many sign-ins at once)",
      })
      .option("runtime", { choices: ["containers", "local"] as const, default: "containers" as Runtime })
      .option("reports-dir", {
        type: "string",
        default: join(REPO_ROOT, "reports"),
        describe: "where run folders go",
      }),
  handler: async (args) => {
    const latencyMs = args["latency-ms"];
    const started = new Date();
    const runId = `selftest-${runStamp(started)}`;
    const dir = join(args["reports-dir"], runId);
    mkdirSync(dir, { recursive: true });
    const phases: Phase[] = [];
    const report = (verdict: string, exitCode: number) => {
      const result = { runId, startedAt: started.toISOString(), latencyMs, phases, verdict, exitCode };
      writeFileSync(join(dir, "selftest.json"), `${JSON.stringify(result, null, 2)}\n`);
      writeFileSync(join(dir, "summary.md"), summaryMarkdown(runId, phases, verdict, latencyMs));
    };
    const abort = new AbortController();
    const unregister = onShutdown(async () => {
      abort.abort(new Error("interrupted"));
      report("INTERRUPTED: partial results", 2);
      log(`interrupted; partial report in ${relative(process.cwd(), dir)}`);
    });

    log(`run ${runId} → ${relative(process.cwd(), dir)}`);
    await using lab = await startLab({
      runtime: args.runtime,
      runDir: dir,
      session: runId,
      issuers: { a: {} },
      routes: { "62": "a", "4": "a" },
      fleet: [`POS*${args.terminals}`],
    });
    log(`lab up (${lab.runtime}): terminals connect to edge ${lab.edge.host}:${lab.edge.port}`);

    const phase = async (name: Phase["name"], fault?: string) => {
      const at = new Date();
      const samplesFile = join(dir, `samples-${name}.ndjson.gz`);
      const result = await runFleet({
        plan: {
          version: 1,
          runId: `${runId}-${name}`,
          target: lab.edge,
          labKeyHex: DEFAULT_LAB_KEY_HEX,
          terminal: {
            count: args.terminals,
            responseTimeoutMs: RESPONSE_TIMEOUT_MS,
            connectTimeoutMs: RESPONSE_TIMEOUT_MS,
            retry: { policy: "none" },
          },
          fleet: {
            model: "open",
            operation: "signin",
            stages: [{ durationS: args.iterations / RATE_PER_S, ratePerS: RATE_PER_S }],
            preAllocatedVUs: args.terminals,
            maxVUs: args.terminals,
            terminals: args.terminals,
          },
          durationS: args.iterations / RATE_PER_S,
        },
        samplesFile,
        segments: 1,
        signal: abort.signal,
        log,
      });
      const p = phaseOf(name, samplesFile, at, result.totals.dropped, fault);
      phases.push(p);
      log(
        `${name.padEnd(8)} ${p.approved}/${p.signIns} approved${p.dropped ? `, ${p.dropped} dropped` : ""}  ` +
          `p50 ${p.p50Ms.toFixed(1)} ms  p95 ${p.p95Ms.toFixed(1)} ms  (${p.durationS.toFixed(1)} s)`,
      );
      if (result.aborted) throw new Error("interrupted");
      return p;
    };

    const baseline = await phase("baseline");
    const toxic = await lab.toxiproxy.addToxic("edge", { kind: "latency", latencyMs });
    const fault = await phase("fault", `latency ${latencyMs} ms on edge`).finally(() =>
      lab.toxiproxy.removeToxic("edge", toxic),
    );
    const recovery = await phase("recovery");
    unregister();

    const added = fault.p50Ms - baseline.p50Ms;
    const allOk = [baseline, fault, recovery].every(
      (p) => p.failed === 0 && p.dropped === 0 && p.approved === p.signIns && p.approved > 0,
    );
    const measured = added >= latencyMs * 0.9 && recovery.p50Ms < baseline.p50Ms + latencyMs / 3;
    const verdict =
      allOk && measured
        ? `PASS: the ${latencyMs} ms fault added ${added.toFixed(1)} ms to the sign-in median and cleared`
        : `FAIL: fault added ${added.toFixed(1)} ms (want >= ${(latencyMs * 0.9).toFixed(0)}), all approved: ${allOk}`;
    const exitCode = allOk && measured ? 0 : 1;
    report(verdict, exitCode);
    log(verdict);
    log(`report: ${relative(process.cwd(), join(dir, "summary.md"))}`);
    process.exitCode = exitCode;
  },
};
