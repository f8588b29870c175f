#!/usr/bin/env node
// `npm run bench [-- suite…]`: runs the registered benchmark suites one after the other on this machine and
// writes docs/benchmarks.md (machine, date, command, one section per suite). To add a suite, append an entry to
// `suites` whose run() returns a Section.

import { readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { connectToxiproxy } from "../harness/chaos/toxiproxy.ts";
import { freePort } from "../harness/lab/ports.ts";
import { startToxiproxy } from "../harness/lab/toxiproxy.ts";
import {
  benchFleetRate,
  benchNodeCeiling,
  benchStorm,
  PASS_APPROVED_RATIO,
  type ProcessFigure,
  type RateFigure,
} from "../harness/load/fleet.bench.ts";
import { benchCodec } from "../harness/protocol/codec.bench.ts";
import { benchCodecInK6 } from "../harness/protocol/codec.k6.bench.ts";
import { benchReport, type RenderFigures } from "../harness/report/aggregate.bench.ts";
import { benchSwitch, type Via } from "../harness/sim/switch/switch.bench.ts";

/** One suite's part of docs/benchmarks.md: a table and the words around it. */
export interface Section {
  title: string;
  /** What was measured and how, above the table. */
  intro: string;
  columns: string[];
  rows: string[][];
  /** Lines below the table. */
  notes?: string[];
}

export interface BenchSuite {
  name: string;
  run(): Promise<Section>;
}

const repo = join(dirname(fileURLToPath(import.meta.url)), "..");
const OUTPUT = join(repo, "docs", "benchmarks.md");

const perSecond = (value: number) => Math.round(value).toLocaleString("en-US");
const micros = (value: number) => value.toFixed(2);
const progress = (line: string) => console.error(`  ${line}`);
const outcomeList = (counts: Record<string, number>) =>
  Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([name, n]) => `${name} ${n.toLocaleString("en-US")}`)
    .join(", ") || "none";
const processRow = (p: ProcessFigure, cpuSeconds = p.cpuSeconds) => [
  p.role,
  cpuSeconds.toFixed(1),
  p.averageCores.toFixed(2),
  p.peakCores.toFixed(2),
  p.peakRssMiB.toFixed(0),
];
/** The fleet-rate result of this invocation, for node-ceiling's ratio. */
let fleetRate: RateFigure | undefined;

export const suites: BenchSuite[] = [
  {
    name: "codec-node",
    async run() {
      const durationMs = 2000;
      const figures = benchCodec({ durationMs, warmupMs: 500 });
      return {
        title: "ISO 8583 codec in Node (harness/protocol)",
        intro:
          `0200 purchase round trips on one thread, ${durationMs / 1000} s per case after a 0.5 s warm-up ` +
          "(harness/protocol/codec.bench.ts, workloads in harness/protocol/testing/saleRoundTrip.ts). A round " +
          "trip encodes a frame (length, TPDU, header, 16 fields; F64 when MAC'd), decodes it, verifies the MAC " +
          "and compares the values; STAN and amount change every time. The UnionPay ECB MAC uses a single-length " +
          "MAK, X9.19 a double-length one. Goal: at least 100,000 MAC'd round trips/s.",
        columns: [
          "case",
          "round trips/s (wall clock)",
          "round trips per CPU second",
          "CPU µs per round trip",
          "frame bytes",
        ],
        rows: figures.map((f) => [
          f.case,
          perSecond(f.roundTripsPerSecond),
          perSecond(f.roundTripsPerCpuSecond),
          micros(f.microsecondsPerRoundTrip),
          String(f.frameBytes),
        ]),
        notes: [
          "Round trips per CPU second divide by the CPU time the process used (GC threads included), so they " +
            "stay close to the single-core figure when other processes share the machine; wall-clock figures " +
            "drop with the load average shown above.",
        ],
      };
    },
  },
  {
    name: "codec-k6",
    async run() {
      const { k6Version, durationSeconds, figures } = await benchCodecInK6(5);
      return {
        title: "ISO 8583 codec inside k6 (one VU)",
        intro:
          `The same round trips inside the k6 binary (${k6Version}; sobek JavaScript engine, no JIT), one VU for ` +
          `${durationSeconds} s per case (harness/k6/smoke/codec-roundtrip.ts, figures from k6's summary). The first ` +
          "row is what one terminal VU spends on the codec per purchase; the others loop 20 round trips per " +
          "iteration to measure the codec rather than k6's per-iteration overhead.",
        notes: [
          "The engine interprets JavaScript, so the codec costs about 100 times more CPU than in Node: budget " +
            "the first row's figure per k6 core when sizing a terminal fleet (a MAC'd purchase also needs its " +
            "reply decoded and verified).",
        ],
        columns: ["case", "round trips per iteration", "iterations/s", "round trips/s", "µs per round trip"],
        rows: figures.map((f) => [
          f.case,
          String(f.roundTripsPerIteration),
          perSecond(f.iterationsPerSecond),
          perSecond(f.roundTripsPerSecond),
          micros(f.microsecondsPerRoundTrip),
        ]),
      };
    },
  },
  {
    name: "switch",
    async run() {
      const terminals = 200;
      const seconds = 5;
      const viaToxiproxy: Via = async (switchPort) => {
        const toxiproxy = await startToxiproxy({ session: `bench-${Date.now()}` });
        const port = await freePort();
        await connectToxiproxy(toxiproxy.apiUrl).createProxy({
          name: "edge",
          listen: `127.0.0.1:${port}`,
          upstream: `127.0.0.1:${switchPort}`,
        });
        return { port, close: () => toxiproxy.stop() };
      };
      const direct = await benchSwitch({ terminals, seconds });
      const proxied = await benchSwitch({ terminals, seconds, via: viaToxiproxy });
      const row = (path: string, f: typeof direct) => [
        path,
        perSecond(f.purchasesPerSecond),
        f.p50Ms.toFixed(2),
        f.p99Ms.toFixed(2),
        f.switchCpuMsPer1000.toFixed(1),
        perSecond(f.purchasesPerSwitchCpuSecond),
        Object.entries(f.codes)
          .map(([code, n]) => `${code}: ${n}`)
          .join(", "),
      ];
      return {
        title: "Reference switch (harness/sim/switch)",
        intro:
          `${terminals} signed-in terminals on long connections send MAC'd purchases back to back (one outstanding ` +
          `each) for ${seconds} s after a 1 s warm-up; the switch runs as its own process (main.ts), the HSM and ` +
          "the issuer answer at once (harness/sim/switch/switch.bench.ts). Direct: terminals connect to the switch; " +
          "through Toxiproxy: to an `edge` proxy (the Toxiproxy image, no toxic) in front of it. The switch's CPU " +
          "comes from /proc. Goal: at least 10,000 purchases/s direct on one core.",
        columns: [
          "path",
          "purchases/s (wall clock)",
          "p50 ms",
          "p99 ms",
          "switch CPU ms per 1,000 purchases",
          "purchases per switch CPU second",
          "F39 of all 0210s",
        ],
        rows: [row("direct", direct), row("through Toxiproxy", proxied)],
        notes: [
          "The terminals, HSM and issuer share the 2 cores with the switch, so the wall-clock rate is bounded by " +
            "the load generator as much as by the switch; purchases per switch CPU second is the one-core figure.",
        ],
      };
    },
  },
  {
    name: "fleet-storm",
    async run() {
      const f = await benchStorm({ progress });
      const o = f.outcomes;
      const k6 = f.processes.find((p) => p.role === "k6");
      const duration = (op: string) => f.summary?.metrics[`pos_op_duration{op:${op}}`];
      const latency = (op: string) => {
        const d = duration(op);
        return d
          ? `p50 ${d.med?.toFixed(0)} ms, p99 ${d["p(99)"]?.toFixed(0)} ms, max ${d.max?.toFixed(0)} ms`
          : "";
      };
      const opLine = (op: "signin" | "purchase" | "reversal" | "echo", label: string) =>
        o && o.total[op] > 0
          ? [
              `- ${label}: ${o.total[op].toLocaleString("en-US")} — ${outcomeList(o.byOutcome[op])}; F39 ` +
                `${outcomeList(o.byCode[op])}; retries ${o.retries[op]}; ${latency(op)}.`,
            ]
          : [];
      const ok = f.status === "completed" && f.k6ExitCode === 0;
      const scheduleLag = f.summary?.metrics.pos_schedule_lag;
      const switchMs = (mti: string) => {
        const l = f.switchLatencyMs[mti];
        return l ? `p50 ${l.p50.toFixed(0)} ms, p99 ${l.p99.toFixed(0)} ms` : "?";
      };
      return {
        title: `Terminal fleet: ${f.terminals.toLocaleString("en-US")}-terminal morning-signin-storm through the lab`,
        intro:
          "`profiles/morning-signin-storm.ts` run end to end as `posstorm run` runs it (`runProfile`, containers " +
          "lab, harness/load/fleet.bench.ts `benchStorm`): 10,000 terminals over 20 VUs sign in on a normal curve " +
          "(σ 60 s, peak at 120 s, 300 s window) and buy once each after 30 ± 25 s; HSM at 300 calls/s, issuers " +
          "60 ms median. k6, every lab program (the containers' `/app/*.mjs` and `toxiproxy-server`, found by " +
          "/proc/*/cmdline and the container ids in their cgroup), the lab's containerd shims, the Docker engine " +
          "(shared with any other container on the machine) and the harness process (runProfile: it reads k6's " +
          "results, the containers' logs and the programs' metrics) are read from /proc/<pid>/stat and VmHWM once " +
          "a second. CPU s: while watched, lab up → lab down (k6: the kernel's count for the exited child, VU " +
          "set-up included); average cores: CPU during the load (k6 launched → k6 gone) / its length; peak cores: " +
          "the busiest 1 s; peak RSS: VmHWM (summed over a role's processes).",
        columns: ["process", "CPU s", "average cores during the load", "peak cores (1 s)", "peak RSS MiB"],
        rows: f.processes.map((p) =>
          processRow(
            p,
            p.role === "k6"
              ? f.k6ChildCpuSeconds
              : (f.processesWholeRun.find((w) => w.role === p.role)?.windowCpuSeconds ?? p.cpuSeconds),
          ),
        ),
        notes: [
          `Run ${ok ? "completed" : `**${f.status}**`}${f.error ? `: ${f.error}` : ""} (${f.k6Version ?? "k6 ?"}, ` +
            `exit ${f.k6ExitCode ?? "?"}). Whole run ${f.runSeconds.toFixed(0)} s (lab up → lab down); load ` +
            `${f.loadSeconds.toFixed(0)} s from k6's launch to its exit (the profile allows 420 s; k6 ends when every ` +
            `terminal has signed in and bought); k6 needed ${f.k6StartSeconds?.toFixed(1) ?? "?"} s to its first sample.`,
          "",
          ...opLine("signin", "sign-ins"),
          ...opLine("purchase", "purchases"),
          ...opLine("reversal", "reversals"),
          ...(scheduleLag
            ? [
                `- k6's own lateness (\`pos_schedule_lag\`: operation start against its planned time): p50 ` +
                  `${scheduleLag.med?.toFixed(0)} ms, p99 ${scheduleLag["p(99)"]?.toFixed(0)} ms, max ` +
                  `${scheduleLag.max?.toFixed(0)} ms; the switch's own latency (its /metrics histogram): 0800 ${switchMs("0800")}, ` +
                  `0200 ${switchMs("0200")}.`,
              ]
            : []),
          ...(o
            ? [
                `- sessions signed in ${o.sessions.signedIn.toLocaleString("en-US")}; reversals queued ` +
                  `${o.reversals.queued}, settled ${o.reversals.settled}, abandoned ${o.reversals.abandoned}.`,
              ]
            : ["- no outcome counts (k6 wrote no summary)."]),
          "",
          k6 && f.k6KiBPerTerminal !== undefined
            ? `k6 memory per terminal: ${f.k6KiBPerTerminal.toFixed(1)} KiB (peak k6 RSS ${k6.peakRssMiB.toFixed(0)} MiB ` +
              `/ ${f.terminals.toLocaleString("en-US")} terminals, everything k6 holds included).`
            : "k6 memory per terminal: not measured (k6 was not seen).",
          `Machine during the load: ${f.machine.busyCores.toFixed(2)} of 2 cores busy (/proc/stat), ` +
            `${f.machine.otherCores.toFixed(2)} of them outside the processes above (other work on the machine, ` +
            "kernel threads).",
          `Load average (1 min) ${f.loadAverageBefore.toFixed(2)} before the run, at most ` +
            `${f.loadAverageMax.toFixed(2)} during it, ${f.loadAverageAfter.toFixed(2)} after it. Run folder (temporary): \`${f.runDir}\`.`,
        ],
      };
    },
  },
  {
    name: "fleet-rate",
    async run() {
      const f = await benchFleetRate({ progress });
      fleetRate = f;
      const best = f.steps.find((s) => s.ratePerS === f.maxRatePerS);
      const failed = f.steps.find((s) => !s.passed);
      const lab = (cores: Record<string, number>) =>
        Object.entries(cores)
          .filter(([, c]) => c >= 0.005)
          .map(([role, c]) => `${role} ${c.toFixed(2)}`)
          .join(", ");
      return {
        title: "Terminal fleet: highest sustained sign-in rate of k6 through the lab",
        intro:
          `Open model (\`ramping-arrival-rate\`, \`operation: "signin"\`, one constant stage of ${f.steps[0]?.durationS ?? 20} s), ` +
          "one `runProfile` per rate with a temporary profile: containers lab with default settings (HSM unlimited, " +
          "4 workers, 1 ms), short connections through `edge`, no retries, 5 s timeouts, 10,000 TIDs; one second's " +
          "worth of VUs (the rate, at least 50), all initialised before the load (preAllocatedVUs = maxVUs). Rates " +
          "double until a step fails, then two halvings of the gap. Each step waits (up to 2 min) for the machine " +
          "to be busy less than 0.3 cores over 2 s with nothing of the bench running. A step passes with 0 `dropped_iterations` " +
          `(k6-summary.json), every iteration started and ≥ ${(PASS_APPROVED_RATIO * 100).toFixed(1)}% approved. k6 CPU ` +
          "from /proc once a second: steady = from k6's first sample to its exit (VU set-up left out); cores per " +
          "1,000 ops/s = steady k6 CPU s / sign-ins × 1,000 (harness/load/fleet.bench.ts `benchFleetRate`).",
        columns: [
          "target sign-ins/s",
          "sign-ins",
          "dropped iterations",
          "approved %",
          "not approved",
          "p50 ms",
          "p99 ms",
          "VUs",
          "k6 cores (steady / peak 1 s)",
          "k6 cores per 1,000 ops/s",
          "k6 CPU s (total)",
          "k6 peak RSS MiB",
          "lab cores (average)",
          "machine busy before / during / others during",
          "load avg (1 min) before / max",
          "result",
        ],
        rows: f.steps.map((s) => [
          perSecond(s.ratePerS),
          s.signIns.toLocaleString("en-US"),
          String(s.droppedIterations),
          (s.approvedRatio * 100).toFixed(2),
          outcomeList(s.others as Record<string, number>),
          s.p50Ms?.toFixed(1) ?? "",
          s.p99Ms?.toFixed(1) ?? "",
          String(s.vusMax),
          `${s.k6SteadyCores.toFixed(2)} / ${s.k6PeakCores.toFixed(2)}`,
          s.k6CoresPer1000.toFixed(2),
          s.k6TotalCpuSeconds.toFixed(1),
          s.k6PeakRssMiB.toFixed(0),
          lab(s.labCores),
          `${s.othersBefore?.toFixed(2) ?? "?"} / ${s.machine.busyCores.toFixed(2)} / ${s.machine.otherCores.toFixed(2)}`,
          `${s.loadAverageBefore.toFixed(2)} / ${s.loadAverageMax.toFixed(2)}`,
          s.passed ? "pass" : `**fail**${s.error ? ` (${s.error})` : ""}`,
        ]),
        notes: [
          f.maxRatePerS > 0
            ? `**Highest sustained rate: ${perSecond(f.maxRatePerS)} sign-ins/s** (${f.k6Version ?? "k6 ?"}); k6 ` +
              `spends ${best?.k6CoresPer1000.toFixed(2)} cores per 1,000 sign-ins/s there.`
            : "**No rate passed.**",
          ...(failed
            ? [
                `At ${perSecond(failed.ratePerS)}/s k6 got through ${perSecond(failed.achievedPerS)} sign-ins/s using ` +
                  `${failed.k6SteadyCores.toFixed(2)} cores on average and up to ${failed.k6PeakCores.toFixed(2)} of the 2, ` +
                  `the lab ${Object.values(failed.labCores)
                    .reduce((x, y) => x + y, 0)
                    .toFixed(
                      2,
                    )}: k6's CPU (${failed.k6CoresPer1000.toFixed(1)} ms per sign-in) is the limit.`,
              ]
            : []),
          "The machine has 2 cores shared by k6, the switch, the HSM, two issuers and Toxiproxy (and whatever else " +
            "runs). Lab cores include the containerd shims, the Docker engine and the harness process (it reads " +
            "k6's results and the containers' logs). Machine busy (/proc/stat, all CPU of the machine): before = " +
            "over 2 s just before the step, nothing of the bench running; during = during the load; others during " +
            "= the part no process of the run accounts for (other people's work, kernel threads). The load average " +
            "counts this run's own threads too.",
        ],
      };
    },
  },
  {
    name: "node-ceiling",
    async run() {
      const f = await benchNodeCeiling({ progress });
      const cores = (c: Record<string, number>, role: string) => (c[role] ?? 0).toFixed(2);
      const best = f.steps.find((s) => s.concurrency === f.maxAtConcurrency && s.passed);
      const total = (s: (typeof f.steps)[number]) =>
        s.clientCores + Object.values(s.labCores).reduce((a, b) => a + b, 0);
      const ratio =
        fleetRate && f.maxPerSecond > 0
          ? `k6 / Node = ${perSecond(fleetRate.maxRatePerS)} / ${perSecond(f.maxPerSecond)} = ` +
            `**${(fleetRate.maxRatePerS / f.maxPerSecond).toFixed(2)}** (fleet-rate measured in the same invocation).`
          : "k6 / Node: not computed (run `npm run bench -- fleet-rate node-ceiling` to measure both in one session).";
      return {
        title: "Terminal fleet: the ceiling with a minimal Node client",
        intro:
          "The same containers lab (startLab, default settings) driven by `TestTerminal.signIn` " +
          "(harness/sim/switch/testing/terminal.ts: a new connection through `edge` per sign-in, key unwrap and check) " +
          "from N concurrent closed loops in a Node process of their own, each loop on its own TIDs; 10 s per " +
          "level after 1 s of warm-up (harness/load/fleet.bench.ts `benchNodeCeiling`). Client cores from the " +
          "client's process.cpuUsage; the others from /proc: the Docker engine and the lab's containerd shims carry " +
          "the containers' stdout, the harness process (which started the lab) reads it. Each level waits (up to " +
          "2 min) for the machine to be busy less than 0.3 cores over 2 s, the lab idle; machine busy as in the " +
          "fleet-rate section.",
        columns: [
          "concurrency",
          "sign-ins/s",
          "approved %",
          "failures",
          "p50 ms",
          "p99 ms",
          "client cores",
          "client cores per 1,000 ops/s",
          "switch cores",
          "HSM cores",
          "Toxiproxy cores",
          "dockerd + shims cores",
          "harness cores",
          "machine busy before / during / others during",
        ],
        rows: f.steps.map((s) => [
          String(s.concurrency),
          perSecond(s.perSecond),
          (s.approvedRatio * 100).toFixed(2),
          outcomeList(s.failures),
          s.p50Ms.toFixed(1),
          s.p99Ms.toFixed(1),
          s.clientCores.toFixed(2),
          s.clientCoresPer1000.toFixed(3),
          cores(s.labCores, "switch"),
          cores(s.labCores, "hsm"),
          cores(s.labCores, "toxiproxy"),
          ((s.labCores.dockerd ?? 0) + (s.labCores["containerd-shim"] ?? 0)).toFixed(2),
          cores(s.labCores, "harness"),
          `${s.othersBefore.toFixed(2)} / ${s.machine.busyCores.toFixed(2)} / ${s.machine.otherCores.toFixed(2)}`,
        ]),
        notes: [
          `**Node maximum: ${perSecond(f.maxPerSecond)} sign-ins/s** (concurrency ${f.maxAtConcurrency}, ≥ ` +
            `${(PASS_APPROVED_RATIO * 100).toFixed(1)}% approved). ${ratio}`,
          ...(best
            ? [
                `At the maximum the processes measured use ${total(best).toFixed(2)} of the 2 cores, the client ` +
                  `${best.clientCores.toFixed(2)}: the lab, not the client, is the limit. Toxiproxy logs at ` +
                  `${process.env.POSSTORM_TOXIPROXY_LOG_LEVEL ?? "info"} level: ` +
                  `${f.toxiproxyLog.linesPerSignIn.toFixed(1)} JSON lines, ` +
                  `${(f.toxiproxyLog.bytesPerSignIn / 1024).toFixed(2)} KiB per sign-in, carried by the shim and ` +
                  "dockerd and read by the harness (the last two columns plus part of Toxiproxy's own).",
              ]
            : []),
          `Load average (1 min): ${f.loadAverageBefore.toFixed(2)} before, at most ${f.loadAverageMax.toFixed(2)} during.`,
        ],
      };
    },
  },
  {
    name: "report",
    async run() {
      const seconds = 600;
      const opsPerS = 2000;
      const f = await benchReport({ seconds, opsPerS, progress });
      const r = f.run;
      const megabytes = (bytes: number) =>
        bytes >= 1e6
          ? `${(bytes / 1e6).toLocaleString("en-US", { maximumFractionDigits: 1 })} MB`
          : `${Math.ceil(bytes / 1e3)} kB`;
      const row = (label: string, x: RenderFigures | undefined) =>
        x ? [label, x.wallS.toFixed(2), x.cpuS.toFixed(2), x.maxRssMiB.toFixed(0)] : [label, "", "", ""];
      const [fromRaw, steps, fromSeries] = f.renders;
      const [rawNoLedgers, seriesNoLedgers] = f.withoutLedgers;
      const total = Object.values(f.disk).reduce((a, b) => a + b, 0);
      const ledgerBytes = Object.entries(f.disk)
        .filter(([file]) => file.includes(".ledger."))
        .reduce((a, [, n]) => a + n, 0);
      return {
        title: "Report generation: a 10-minute run at 2,000 operations/s",
        intro:
          `A synthetic run folder as \`posstorm run\` leaves it (harness/report/aggregate.bench.ts \`writeSyntheticRun\`): ` +
          `${(r.operations / 1e6).toFixed(1)} M operations over ${seconds} s at ${perSecond(opsPerS)}/s (open model, ` +
          "20,000 terminals; 95 % purchases, 4 % sign-ins, reversals), k6's JSON lines of every metric as k6 writes " +
          "them (posstorm's pos_*, k6/x/tcp's tcp_*, iterations, data_*, vus; nanosecond times, the run's tags) " +
          "streamed through the ResultsRecorder exactly as runFleet stores them; 98.8 % approved, 0.8 % declined, a " +
          "few connect timeouts, resets and closes. Fault window 300–360 s: issuer a (3 purchases in 4) answers in " +
          "2 s, or for 40 % after the 30 s response timeout; each such purchase owes a reversal (pos_unsettled), sent " +
          "and approved later (issuer a's backlog drains over 10 s after the fault). Four programs scraped every " +
          "second; the issuers' ledgers as collect() stores them (every purchase they saw, one JSON entry per line, " +
          "gzipped). Then `posstorm report` (renderRun: series, ledgers, 9 SLOs incl. windows, recovery and " +
          "one-sided, verdict.json, " +
          "summary.md, junit.xml, report.html) in a Node process of its own per row: wall time, CPU " +
          "(process.cpuUsage) and the kernel's peak RSS of that process (resourceUsage().maxRSS). The step rows run " +
          "renderRun's steps one by one in one process (peak RSS so far).",
        columns: ["report", "wall s", "CPU s", "peak RSS MiB"],
        rows: [
          row(
            "from k6-results.json.gz (`posstorm report --reaggregate`, or a folder without series.json)",
            fromRaw,
          ),
          ...(steps?.steps ?? []).map((step) => [
            `… ${step.step}`,
            step.wallS.toFixed(3),
            "",
            step.maxRssMiB.toFixed(0),
          ]),
          row(
            "from series.json (`posstorm report`; the end of `posstorm run`, which aggregates as k6 writes)",
            fromSeries,
          ),
          row("from k6-results.json.gz, without the ledgers", rawNoLedgers),
          row("from series.json, without the ledgers", seriesNoLedgers),
        ],
        notes: [
          `k6 wrote ${megabytes(r.k6Bytes)} (${(r.k6Lines / 1e6).toFixed(1)} M lines, ` +
            `${(r.k6Bytes / r.operations).toFixed(0)} B per operation): what k6-results.json used to hold. The ` +
            `recorder kept ${(r.recorded.linesKept / 1e6).toFixed(2)} M lines (posstorm's metrics, every sample; ` +
            `${megabytes(r.recorded.bytesKept)} uncompressed) and stored **${megabytes(r.recorded.bytesStored)} ` +
            `gzipped: ${(r.recorded.bytesStored / r.operations).toFixed(1)} B per operation**. Reading k6's output, ` +
            `feeding the live counts and the aggregator and gzipping, as \`posstorm run\` does while k6 runs, took ` +
            `${r.recordS.toFixed(1)} s for the ${seconds} s of output (${((r.recordS / seconds) * 100).toFixed(1)} % ` +
            "of a core).",
          `Disk after the report: ${Object.entries(f.disk)
            .sort(([, a], [, b]) => b - a)
            .map(([file, n]) => `${file} ${megabytes(n)}`)
            .join(", ")}; ${megabytes(total)} in all.`,
          ...(ledgerBytes > 0
            ? [
                `The issuers' ledgers (${(r.ledgerEntries / 1e6).toFixed(2)} M entries) are ${megabytes(ledgerBytes)} ` +
                  `of the ${megabytes(total)}. \`reconcileRun\` streams them (gunzip, one line at a time) and keeps ` +
                  "each issuer's tallies and only the entries an unsettled purchase names " +
                  `(${r.unsettled.toLocaleString("en-US")} here): with them the report peaks at ` +
                  `${fromSeries?.maxRssMiB.toFixed(0) ?? "?"} MiB from series.json and ` +
                  `${fromRaw?.maxRssMiB.toFixed(0) ?? "?"} MiB from the raw file, without them at ` +
                  `${seriesNoLedgers?.maxRssMiB.toFixed(0) ?? "?"} and ${rawNoLedgers?.maxRssMiB.toFixed(0) ?? "?"} MiB; ` +
                  `reading them costs ${fromSeries && seriesNoLedgers ? (fromSeries.wallS - seriesNoLedgers.wallS).toFixed(1) : "?"} s.`,
              ]
            : []),
        ],
      };
    },
  },
];

function machine(): [string, string][] {
  const model = (() => {
    try {
      return /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim();
    } catch {
      return undefined;
    }
  })();
  return [
    ["CPU", model ?? cpus()[0]?.model ?? "unknown"],
    ["cores", String(cpus().length)],
    ["memory", `${(totalmem() / 2 ** 30).toFixed(1)} GiB`],
    ["Node", process.version],
    ["OS", `${process.platform} ${process.arch}, kernel ${release()}`],
    ["load average (1 min) at start", loadavg()[0]!.toFixed(2)],
  ];
}

function table(columns: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.map((cell) => cell.replace(/\|/g, "\\|")).join(" | ")} |`;
  return [line(columns), line(columns.map(() => "---")), ...rows.map(line)].join("\n");
}

/** One suite's markdown, between markers so a later run of other suites keeps it. */
export function renderSection(name: string, date: Date, host: [string, string][], section: Section): string {
  const parts = [`<!-- suite:${name} -->`, `## ${section.title}`, "", section.intro];
  if (section.columns.length > 0) parts.push("", table(section.columns, section.rows));
  if (section.notes?.length) parts.push("", ...section.notes);
  parts.push(
    "",
    `Measured ${date.toISOString().replace(/\.\d+Z$/, "Z")} with \`npm run bench -- ${name}\` on: ` +
      host.map(([k, v]) => `${k} ${v}`).join("; ") +
      ".",
    `<!-- /suite:${name} -->`,
  );
  return parts.join("\n");
}

/** The sections already in docs/benchmarks.md, by suite name. */
function existingSections(): Map<string, string> {
  const out = new Map<string, string>();
  let text = "";
  try {
    text = readFileSync(OUTPUT, "utf8");
  } catch {
    return out;
  }
  for (const match of text.matchAll(/<!-- suite:([\w-]+) -->[\s\S]*?<!-- \/suite:\1 -->/g))
    out.set(match[1]!, match[0]);
  return out;
}

export function renderBenchmarks(sections: Map<string, string>): string {
  const parts = [
    "# Benchmarks",
    "",
    "Written by `npm run bench` (scripts/bench.ts; `npm run bench -- <suite>` reruns one suite and keeps the " +
      "others). Suites run one after the other, single-threaded; each section names its date, command and " +
      "machine. These machines are noisy: compare figures measured in one run.",
  ];
  for (const suite of suites) {
    const section = sections.get(suite.name);
    if (section) parts.push("", section);
  }
  return `${parts.join("\n")}\n`;
}

async function main(argv: string[]): Promise<void> {
  const selected = argv.length === 0 ? suites : suites.filter((suite) => argv.includes(suite.name));
  const unknown = argv.filter((name) => !suites.some((suite) => suite.name === name));
  if (unknown.length > 0) {
    console.error(`unknown suite(s): ${unknown.join(", ")}; known: ${suites.map((s) => s.name).join(", ")}`);
    process.exitCode = 2;
    return;
  }
  const sections = existingSections();
  for (const suite of selected) {
    console.error(`bench: ${suite.name} …`);
    const host = machine();
    try {
      sections.set(suite.name, renderSection(suite.name, new Date(), host, await suite.run()));
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      console.error(`bench: ${suite.name} failed: ${reason}`);
      const failed = { title: suite.name, intro: `Not measured: ${reason}`, columns: [], rows: [] };
      sections.set(suite.name, renderSection(suite.name, new Date(), host, failed));
      process.exitCode = 1;
    }
  }
  writeFileSync(OUTPUT, renderBenchmarks(sections));
  console.error(`bench: wrote ${OUTPUT}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main(process.argv.slice(2));
