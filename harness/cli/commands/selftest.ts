import { mkdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import type { CommandModule } from "yargs";
import { connectToxiproxy } from "../../chaos/toxiproxy.ts";
import { startEchoServer } from "../../lab/echo-server.ts";
import { freePort, LOOPBACK } from "../../lab/ports.ts";
import { onShutdown } from "../../lab/shutdown.ts";
import { startToxiproxy } from "../../lab/toxiproxy.ts";
import { findK6, type K6Summary, runK6 } from "../../load/k6.ts";
import { REPO_ROOT } from "../../shared/repo.ts";
import { runStamp } from "../run/stamp.ts";

// The main job until the reference lab exists: the real parts end to end. k6 terminals (k6/x/tcp)
// reach a TCP echo server through the Toxiproxy image; a latency toxic must show in k6's own figures.

interface SelftestArgs {
  "latency-ms": number;
  iterations: number;
  vus: number;
  "reports-dir": string;
}

interface Phase {
  name: "baseline" | "fault" | "recovery";
  fault?: string;
  startedAt: string;
  durationS: number;
  iterations: number;
  ok: number;
  failed: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
}

const log = (line: string) => console.log(`[selftest] ${line}`);

function phaseOf(
  name: Phase["name"],
  summary: K6Summary | undefined,
  startedAt: Date,
  fault?: string,
): Phase {
  const metric = (m: string, stat: string) => summary?.metrics[m]?.values[stat] ?? 0;
  return {
    name,
    ...(fault ? { fault } : {}),
    startedAt: startedAt.toISOString(),
    durationS: (Date.now() - startedAt.getTime()) / 1000,
    iterations: metric("iterations", "count"),
    ok: metric("echo_ok", "passes"),
    failed: metric("echo_failures", "count"),
    p50Ms: metric("echo_rtt", "med"),
    p95Ms: metric("echo_rtt", "p(95)"),
    maxMs: metric("echo_rtt", "max"),
  };
}

function summaryMarkdown(runId: string, phases: Phase[], verdict: string, latencyMs: number): string {
  const rows = phases.map(
    (p) =>
      `| ${p.name}${p.fault ? ` (${p.fault})` : ""} | ${p.iterations} | ${p.ok} | ${p.failed} | ${p.p50Ms.toFixed(1)} | ${p.p95Ms.toFixed(1)} | ${p.maxMs.toFixed(1)} |`,
  );
  return [
    `# posstorm self-test ${runId}`,
    "",
    `k6 terminals → Toxiproxy \`edge\` → TCP echo server; fault: ${latencyMs} ms latency on \`edge\`.`,
    "",
    "| phase | iterations | ok | failed | p50 ms | p95 ms | max ms |",
    "|---|---:|---:|---:|---:|---:|---:|",
    ...rows,
    "",
    `**${verdict}**`,
    "",
  ].join("\n");
}

export const selftestCommand: CommandModule<object, SelftestArgs> = {
  command: "selftest",
  describe: "Run k6 through the Toxiproxy image with a latency fault and check that k6 measures it",
  builder: (y) =>
    y
      .option("latency-ms", { type: "number", default: 300, describe: "latency toxic on edge, ms" })
      .option("iterations", { type: "number", default: 40, describe: "k6 iterations per phase" })
      .option("vus", { type: "number", default: 4, describe: "k6 VUs (terminals)" })
      .option("reports-dir", {
        type: "string",
        default: join(REPO_ROOT, "reports"),
        describe: "where run folders go",
      }),
  handler: async (args) => {
    const argv = { ...args, latencyMs: args["latency-ms"], reportsDir: args["reports-dir"] };
    const started = new Date();
    const runId = `selftest-${runStamp(started)}`;
    const dir = join(argv.reportsDir, runId);
    mkdirSync(dir, { recursive: true });
    const phases: Phase[] = [];
    const report = (verdict: string, exitCode: number) => {
      const result = {
        runId,
        startedAt: started.toISOString(),
        latencyMs: argv.latencyMs,
        phases,
        verdict,
        exitCode,
      };
      writeFileSync(join(dir, "selftest.json"), `${JSON.stringify(result, null, 2)}\n`);
      writeFileSync(join(dir, "summary.md"), summaryMarkdown(runId, phases, verdict, argv.latencyMs));
    };
    const abort = new AbortController();
    const unregister = onShutdown(async () => {
      abort.abort(new Error("interrupted"));
      report("INTERRUPTED: partial results", 2);
      log(`interrupted; partial report in ${relative(process.cwd(), dir)}`);
    });

    log(`run ${runId} → ${relative(process.cwd(), dir)}`);
    const k6 = findK6();
    await using echo = await startEchoServer();
    log(`echo server on ${LOOPBACK}:${echo.port} (stand-in for the switch)`);
    await using toxiproxy = await startToxiproxy({ session: runId });
    const control = connectToxiproxy(toxiproxy.apiUrl);
    const edgePort = await freePort();
    await control.createProxy({
      name: "edge",
      listen: `${LOOPBACK}:${edgePort}`,
      upstream: `${LOOPBACK}:${echo.port}`,
    });
    log(`toxiproxy ${await control.version()} API ${toxiproxy.apiUrl}; proxy edge ${LOOPBACK}:${edgePort}`);

    const k6Phase = async (name: Phase["name"], fault?: string) => {
      const at = new Date();
      const result = await runK6({
        k6,
        script: join(REPO_ROOT, "harness/k6/smoke/tcp-echo.ts"),
        env: { TARGET_PORT: String(edgePort), VUS: String(argv.vus), ITERATIONS: String(argv.iterations) },
        timeoutMs: 120_000,
        signal: abort.signal,
      });
      if (!result.summary)
        throw new Error(`k6 exited ${result.exitCode} without a summary: ${result.stderr.trim()}`);
      const phase = phaseOf(name, result.summary, at, fault);
      phases.push(phase);
      log(
        `${name.padEnd(8)} ${phase.ok}/${phase.iterations} ok  p50 ${phase.p50Ms.toFixed(1)} ms  p95 ${phase.p95Ms.toFixed(1)} ms  (${phase.durationS.toFixed(1)} s)`,
      );
      return phase;
    };

    const baseline = await k6Phase("baseline");
    const toxic = await control.addToxic("edge", { kind: "latency", latencyMs: argv.latencyMs });
    const fault = await k6Phase("fault", `latency ${argv.latencyMs} ms on edge`).finally(() =>
      control.removeToxic("edge", toxic),
    );
    const recovery = await k6Phase("recovery");
    unregister();

    const added = fault.p50Ms - baseline.p50Ms;
    const allOk = [baseline, fault, recovery].every(
      (p) => p.failed === 0 && p.ok === p.iterations && p.ok > 0,
    );
    const measured = added >= argv.latencyMs * 0.9 && recovery.p50Ms < baseline.p50Ms + argv.latencyMs / 3;
    const verdict =
      allOk && measured
        ? `PASS: the ${argv.latencyMs} ms fault added ${added.toFixed(1)} ms to the k6 median and cleared`
        : `FAIL: fault added ${added.toFixed(1)} ms (want >= ${(argv.latencyMs * 0.9).toFixed(0)}), all ok: ${allOk}`;
    const exitCode = allOk && measured ? 0 : 1;
    report(verdict, exitCode);
    log(verdict);
    log(`report: ${relative(process.cwd(), join(dir, "summary.md"))}`);
    process.exitCode = exitCode;
  },
};
