import { describePriority, GENERATOR_BOUNDS, type ThreadPriority } from "../harness/fleet/index.ts";
import type { Operation } from "../harness/fleet/plan.ts";
import {
  type CpuBreakdown,
  cpuBreakdown,
  per1000,
  RAMP_S,
  type RateFigure,
  type RateStep,
  type StormFigure,
} from "./fleet.bench.ts";
import type { NodeFigure, NodeStep } from "./node-ceiling.ts";
import { PASS_APPROVED_RATIO, RATE_TOLERANCE } from "./pass-rule.ts";
import { LAB_GROUPS } from "./process-watch.ts";

// The fleet suites' parts of docs/benchmarks.md (scripts/bench.ts renders them with machine, date and command):
// what was measured and how, the table, and what the figures say — including, whenever the fleet could not
// keep its schedule, that the load tool and not the switch was the bottleneck.

/** One suite's section (the shape of scripts/bench.ts `Section`). */
export interface FleetSection {
  title: string;
  intro: string;
  columns: string[];
  rows: string[][];
  notes?: string[];
}

export const int = (value: number) => Math.round(value).toLocaleString("en-US");
export const fixed = (value: number | undefined, digits = 2) =>
  value === undefined || !Number.isFinite(value) ? "?" : value.toFixed(digits);
export const outcomeList = (counts: Record<string, number>) =>
  Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([name, n]) => `${name} ${n.toLocaleString("en-US")}`)
    .join(", ") || "none";
const LAB_LABELS = LAB_GROUPS.map((g) => g.label);

/** The distinct schedulings of some threads, as a sentence part ("fifo 1"). */
export const prioritiesText = (list: (ThreadPriority | null | undefined)[]) =>
  [...new Set(list.flatMap((p) => (p ? [describePriority(p)] : [])))].join("; ") || "not recorded";

/** "harness X (fleet workers Y)" then each lab group: cores per 1,000 operations/s. */
const per1000Cells = (cpu: CpuBreakdown, ops: number) => [
  `${fixed(per1000(cpu.harnessS, ops), 3)} (${fixed(per1000(cpu.fleetWorkersS, ops), 3)})`,
  ...LAB_LABELS.map((label) => fixed(per1000(cpu.lab[label] ?? 0, ops), 3)),
];
const per1000Columns = [
  "cores per 1,000/s: harness (fleet workers)",
  ...LAB_LABELS.map((label) => `… ${label}`),
];
const totalCores = (cpu: CpuBreakdown) =>
  (cpu.harnessS + Object.values(cpu.lab).reduce((a, b) => a + b, 0)) / Math.max(0.001, cpu.loadSeconds);
const cpuSentence = (cpu: CpuBreakdown, ops: number) =>
  `harness process ${fixed(per1000(cpu.harnessS, ops), 3)} (of which the fleet's worker threads ` +
  `${fixed(per1000(cpu.fleetWorkersS, ops), 3)}), ${LAB_LABELS.map((l) => `${l} ${fixed(per1000(cpu.lab[l] ?? 0, ops), 3)}`).join(", ")}`;

const HOW_CPU =
  "CPU over the load (load start → the last segment's end): the harness process from run.json `fleet.cpu` " +
  "(process.cpuUsage() from load start to the fleet's end: the fleet's worker threads, its coordinator, the " +
  "report's aggregator, the metrics scraper and the containers' log streams — everything in the process " +
  "`posstorm run` runs in); the fleet's worker threads alone from their own end reports (thread CPU, less what " +
  "they used loading before `ready`); every lab program from /proc once a second (the containers' `/app/*.mjs` " +
  "and `toxiproxy-server`, found by command line and the lab's container ids in their cgroup; issuers a and b " +
  "added up; the Docker engine, shared with any other container on the machine, with the lab's containerd shims). " +
  "Cores per 1,000 sign-ins/s = CPU seconds per 1,000 sign-ins.";

const rateRow = (s: RateStep) => [
  int(s.ratePerS),
  fixed(s.achievedPerS, 1),
  int(s.signIns),
  String(s.dropped),
  fixed(s.approvedRatio * 100),
  outcomeList(s.others as Record<string, number>),
  fixed(s.p50Ms, 1),
  fixed(s.p99Ms, 1),
  `${fixed(s.lagP99Ms, 1)} / ${fixed(s.lagP99WorstSecondMs, 1)}`,
  `${fixed(s.cpu.harnessS / s.cpu.loadSeconds)} (${fixed(s.cpu.fleetWorkersS / s.cpu.loadSeconds)})`,
  ...per1000Cells(s.cpu, s.signIns),
  fixed(totalCores(s.cpu)),
  `${fixed(s.othersBefore)} / ${fixed(s.machine.busyCores)} / ${fixed(s.machine.otherCores)}`,
  `${fixed(s.loadAverageBefore)} / ${fixed(s.loadAverageMax)}`,
  `${s.passed ? "pass" : `**fail**: ${s.failures.join("; ")}`}${s.attempt === 2 ? " (2nd attempt)" : ""}`,
];
const rateColumns = [
  "target sign-ins/s",
  "started/s",
  "sign-ins",
  "dropped",
  "approved %",
  "not approved",
  "p50 ms",
  "p99 ms",
  "schedule lag p99 ms (all / worst second)",
  "harness cores (fleet workers)",
  ...per1000Columns,
  "cores, all programs",
  "machine busy before / during / others",
  "load avg (1 min) before / max",
  "result",
];

/** Where a failed step's time went: the generator's own verdict first, then the machine. */
function whyFailed(s: RateStep): string {
  const generator = s.generatorLimited
    ? `the fleet says it was generator-limited (${s.generatorReasons.join("; ") || "no reasons recorded"}): the ` +
      "load tool, not the switch, was the bottleneck there"
    : "the fleet kept its schedule (not generator-limited)";
  const busy = s.machine.busyCores;
  return (
    `At ${int(s.ratePerS)}/s: ${s.failures.join("; ")}; ${generator}. The machine was ${fixed(busy)} of 2 cores ` +
    `busy (the run's programs ${fixed(totalCores(s.cpu))}, others ${fixed(s.machine.otherCores)})` +
    (busy > 1.85 ? ": the 2 cores were saturated." : ".")
  );
}

/** "1 up to 3,000/s, 2 at 4,000/s": the segments of each rate step. */
function segmentsText(steps: RateStep[]): string {
  const byCount = new Map<number, number[]>();
  for (const s of steps)
    if (s.segments !== undefined) byCount.set(s.segments, [...(byCount.get(s.segments) ?? []), s.ratePerS]);
  const parts = [...byCount].map(
    ([n, rates]) =>
      `${n} at ${[...new Set(rates)]
        .sort((a, b) => a - b)
        .map(int)
        .join(", ")}/s`,
  );
  return parts.join("; ") || "not recorded";
}

export function rateSection(f: RateFigure): FleetSection {
  const best = f.steps.find((s) => s.ratePerS === f.maxRatePerS && s.passed);
  const failed = f.steps.filter((s) => !s.passed);
  return {
    title: "Terminal fleet: highest sustained sign-in rate through the lab",
    intro:
      `Open model (\`operation: "signin"\`: a ${RAMP_S} s ramp from a tenth of the rate, then a constant stage of ` +
      `${f.steps[0]?.durationS ?? 20} s; a fresh lab warms up at the lower rates first), one \`runProfile\` ` +
      "per rate in the bench's process with a temporary profile (bench/fleet.bench.ts `benchFleetRate`): " +
      "containers lab with default settings (HSM unlimited, 4 workers, 1 ms), a new connection through `edge` per " +
      "sign-in, no retries, 5 s timeouts, 10,000 TIDs, maxVUs one second's worth of arrivals (at least 50). Rates " +
      "double until a step fails, then five bisections of the gap (steps on 50/s). Each step first waits (up to 1 min) " +
      "for the machine to be busy less than 0.3 cores over 2 s; a step that fails only by being generator-limited " +
      "runs once more and the second attempt decides (both rows shown). A step passes with 0 dropped arrivals and ≥ " +
      `${(PASS_APPROVED_RATIO * 100).toFixed(1)}% approved over the whole run (the ramp too), the achieved rate ` +
      `(sign-ins whose intended start is in the constant stage, / its length) within ${RATE_TOLERANCE * 100}% of the target, and the run not generator-limited ` +
      `(run.json \`fleet.generator\`: more than ${GENERATOR_BOUNDS.droppedArrivals} dropped arrivals, a schedule-lag ` +
      `p99 over every start of the run above ${GENERATOR_BOUNDS.scheduleLagP99Ms} ms, or an event-loop delay p99 ` +
      `above ${GENERATOR_BOUNDS.loopDelayP99Ms} ms in any second). Latency from samples.ndjson.gz (intended ` +
      "start → outcome, every outcome); schedule lag: p99 of every start, and the worst per-second p99 of any " +
      `segment (run.json). Fleet segments as \`posstorm run\` picks them (one per 3,000 operations/s of the peak, ` +
      `at most one per core; run.json \`fleet.segments\`): ${segmentsText(f.steps)}. Fleet worker threads' ` +
      `scheduling (run.json \`fleet.threadPriority\`, harness/fleet/thread-priority.ts): ` +
      `${prioritiesText(f.steps.flatMap((s) => s.threadPriority ?? []))}. ${HOW_CPU}`,
    columns: rateColumns,
    rows: f.steps.map(rateRow),
    notes: [
      best
        ? `**Highest sustained rate: ${int(f.maxRatePerS)} sign-ins/s**; p50 ${fixed(best.p50Ms, 1)} ms, p99 ` +
          `${fixed(best.p99Ms, 1)} ms, schedule lag p99 ${fixed(best.lagP99Ms, 1)} ms (worst second ` +
          `${fixed(best.lagP99WorstSecondMs, 1)} ms). Cores per 1,000 sign-ins/s there: ${cpuSentence(best.cpu, best.signIns)}.`
        : "**No rate passed.**",
      ...failed.map(whyFailed),
      "Machine busy (/proc/stat, all CPU of the machine): before = over 2 s just before the step, nothing of the " +
        "bench running; during = during the load; others = the part no watched process accounts for (other " +
        "people's work, kernel threads). The load average counts this run's own threads too.",
    ],
  };
}

export function openSection(s: RateStep): FleetSection {
  const deviation = ((s.achievedPerS - s.ratePerS) / s.ratePerS) * 100;
  return {
    title: `Terminal fleet: open model at ${int(s.ratePerS)} sign-ins/s for ${s.durationS} s`,
    intro:
      `One open-model run (bench/fleet.bench.ts \`benchOpen\`), the fleet-rate section's profile at ` +
      `${int(s.ratePerS)} sign-ins/s for ${s.durationS} s after its ${RAMP_S} s ramp (1,000/s, or 90% of the Node ceiling measured in the same ` +
      "invocation when that is lower). Goal: the achieved rate within 1% of the target, 0 dropped, not " +
      `generator-limited. ${HOW_CPU}`,
    columns: rateColumns,
    rows: [rateRow(s)],
    notes: [
      `**Achieved ${fixed(s.achievedPerS, 1)} sign-ins/s against ${int(s.ratePerS)} (${deviation >= 0 ? "+" : ""}` +
        `${fixed(deviation)}%)**: ${int(s.started)} sign-ins started in the ${s.durationS} s stage, ${s.dropped} ` +
        `dropped, ${fixed(s.approvedRatio * 100)}% approved; ${s.generatorLimited ? `generator-limited (${s.generatorReasons.join("; ")}): the load tool, not the switch, was the bottleneck` : "not generator-limited"}.`,
      `Cores per 1,000 sign-ins/s: ${cpuSentence(s.cpu, s.signIns)}.`,
      ...(s.passed ? [] : [whyFailed(s)]),
      `Run folder (temporary): \`${s.runDir}\`.`,
    ],
  };
}

const nodeCpu = (s: NodeStep, role: (r: string) => boolean) =>
  Object.entries(s.cpuSeconds)
    .filter(([r]) => role(r))
    .reduce((sum, [, c]) => sum + c, 0);

export function ceilingSection(f: NodeFigure, fleetRate: RateFigure | undefined): FleetSection {
  const best = f.steps.find((s) => s.concurrency === f.maxAtConcurrency && s.passed);
  const total = (s: NodeStep) => Object.values(s.cpuSeconds).reduce((a, b) => a + b, 0) / s.seconds;
  const ratio =
    fleetRate && f.maxPerSecond > 0
      ? `Fleet open-model maximum / this closed-loop maximum = ${int(fleetRate.maxRatePerS)} / ` +
        `${int(f.maxPerSecond)} = **${(fleetRate.maxRatePerS / f.maxPerSecond).toFixed(2)}** (the fleet-engine ` +
        "issue's ratio, target ≥ 0.9, fleet-rate measured in the same invocation). It is not like with like: a rate " +
        "that must hold a schedule with no drop and a lag bound, against a closed loop with no latency bound. The " +
        "two like-for-like forms are the fleet-closed and node-open sections."
      : "Fleet / ceiling: not computed (run `npm run bench -- fleet-rate node-ceiling` to measure both in one invocation).";
  return {
    title: "Terminal fleet: the ceiling with a minimal Node client",
    intro:
      "The same containers lab (startLab, default settings) driven by `TestTerminal.signIn` " +
      "(harness/sim/switch/testing/terminal.ts: a new connection through `edge` per sign-in, key unwrap and check) " +
      "from N concurrent closed loops in a Node process of its own, each loop on its own TIDs; 10 s per level after " +
      "1 s of warm-up (bench/node-ceiling.ts `benchNodeCeiling`). Client CPU from its process.cpuUsage; the " +
      "others from /proc once a second as in the fleet-rate section (the harness process only holds the lab here: " +
      "it reads the containers' log streams). Cores per 1,000 sign-ins/s = CPU seconds per 1,000 sign-ins. Each " +
      "level first waits (up to 1 min) for the machine to be busy less than 0.3 cores over 2 s, the lab idle. " +
      `The client's thread asks for the fleet's threads' priority (harness/fleet/thread-priority.ts): ${prioritiesText(f.steps.map((s) => s.priority))}.`,
    columns: [
      "concurrency",
      "sign-ins/s",
      "approved %",
      "failures",
      "p50 ms",
      "p99 ms",
      "client cores",
      "cores per 1,000/s: client",
      ...LAB_LABELS.map((l) => `… ${l}`),
      "… harness",
      "cores, all programs",
      "machine busy before / during / others",
    ],
    rows: f.steps.map((s) => [
      String(s.concurrency),
      int(s.perSecond),
      fixed(s.approvedRatio * 100),
      outcomeList(s.failures),
      fixed(s.p50Ms, 1),
      fixed(s.p99Ms, 1),
      fixed(s.clientCores),
      fixed(per1000(s.cpuSeconds["node client"] ?? 0, s.signIns), 3),
      ...LAB_GROUPS.map((g) => fixed(per1000(nodeCpu(s, g.roles), s.signIns), 3)),
      fixed(per1000(s.cpuSeconds.harness ?? 0, s.signIns), 3),
      fixed(total(s)),
      `${fixed(s.othersBefore)} / ${fixed(s.machine.busyCores)} / ${fixed(s.machine.otherCores)}`,
    ]),
    notes: [
      `**Node maximum: ${int(f.maxPerSecond)} sign-ins/s** (concurrency ${f.maxAtConcurrency}, ≥ ` +
        `${(PASS_APPROVED_RATIO * 100).toFixed(1)}% approved). ${ratio}`,
      ...(best
        ? [
            `At the maximum the programs measured use ${fixed(total(best))} of the 2 cores (machine ` +
              `${fixed(best.machine.busyCores)} busy), the client ${fixed(best.clientCores)}` +
              (best.machine.busyCores > 1.85
                ? ": the 2 cores are saturated, the lab's share of them is the limit, not the client."
                : "."),
          ]
        : []),
      `Toxiproxy logs at \`${f.toxiproxyLogLevel}\` (the lab's default, POSSTORM_TOXIPROXY_LOG_LEVEL overrides): ` +
        `${f.toxiproxyLog.linesPerSignIn.toFixed(3)} lines, ${f.toxiproxyLog.bytesPerSignIn.toFixed(1)} bytes per ` +
        "sign-in over the whole bench (at `info` Toxiproxy writes a line per accepted connection, which the " +
        "containerd shim and the Docker engine carry and the harness reads into `<run dir>/logs/toxiproxy.log`).",
      `Load average (1 min): ${fixed(f.loadAverageBefore)} before, at most ${fixed(f.loadAverageMax)} during.`,
    ],
  };
}

export function stormSection(f: StormFigure): FleetSection {
  const o = f.outcomes;
  const loadS = Math.max(0.001, f.loadSeconds);
  const latency = (op: Operation) => {
    const l = f.samples.latencyMs[op];
    return l ? `p50 ${l.p50.toFixed(0)} ms, p99 ${l.p99.toFixed(0)} ms, max ${l.max.toFixed(0)} ms` : "";
  };
  const opLine = (op: Operation, label: string) =>
    o && o.total[op] > 0
      ? [
          `- ${label}: ${int(o.total[op])} — ${outcomeList(o.byOutcome[op])}; F39 ${outcomeList(o.byCode[op])}; ` +
            `retries ${o.retries[op]}; ${latency(op)}.`,
        ]
      : [];
  const switchMs = (mti: string) => {
    const l = f.switchLatencyMs[mti];
    return l ? `p50 ${l.p50.toFixed(0)} ms, p99 ${l.p99.toFixed(0)} ms` : "?";
  };
  const whole = (role: string) => f.processesWholeRun.find((p) => p.role === role);
  const workers = f.threads.cpuSeconds;
  const generator = f.fleet?.generator;
  const ops = (o?.total.signin ?? 0) + (o?.total.purchase ?? 0);
  const memoryOk = (f.liveHeapKiBPerTerminal ?? Number.POSITIVE_INFINITY) <= 4;
  const slopeOk = (f.liveSlopeKiBPerTerminal ?? Number.POSITIVE_INFINITY) <= 4;
  const lagOk = (f.samples.lagMs.p99 ?? Number.POSITIVE_INFINITY) <= GENERATOR_BOUNDS.scheduleLagP99Ms;
  return {
    title: `Terminal fleet: ${int(f.terminals)}-terminal morning-signin-storm through the lab`,
    intro:
      "`profiles/morning-signin-storm.ts` run end to end as `posstorm run` runs it (`runProfile` in the bench's " +
      "process, containers lab; bench/fleet.bench.ts `benchStorm`): 10,000 terminals (population model) sign " +
      "in on a normal curve (σ 60 s, peak at 120 s, 300 s window) and buy once each after 30 ± 25 s; HSM at 300 " +
      "calls/s, issuers 60 ms median. Every program is read from /proc once a second (CPU, RSS, VmHWM; the harness " +
      "process's CPU from process.cpuUsage(): the fleet's worker threads, coordinator, aggregator, scraper and the " +
      "containers' log streams); the fleet's worker threads also from their own end reports. CPU s: lab up → lab " +
      "down for the lab, the whole runProfile call for the harness; average cores: CPU during the load (load " +
      "start → the last segment's end) / its length; peak cores: the busiest 1 s; peak RSS: VmHWM (summed over a " +
      "role's processes). Memory per live terminal: each segment collects its garbage (POSSTORM_FLEET_LIVE_HEAP=1) " +
      "before the load and whenever its live terminals have grown by a tenth (at most every 10 s), and keeps the " +
      "V8 heap in use plus the isolate's external memory (array buffers' backing stores) then; per terminal = (the " +
      "reading with the most terminals alive − the one before the load) / those terminals, so costs that do not " +
      "grow with terminals (compiled code, histograms) count too, and so does what V8 drops after the baseline; the " +
      "slope of the readings with terminals alive (least squares, the baseline left out) is what one more terminal " +
      "costs. The collections pause the workers briefly. Peak memory: the fleet's worker threads' V8 heap (Σ over segments of the largest " +
      "heap in use, SegmentReport.heapUsedMaxBytes or the bench's own once-a-second worker.getHeapStatistics(), " +
      "whichever is larger) / terminals; goal ≤ 4 KiB. Schedule lag goal: p99 ≤ 10 ms.",
    columns: ["process", "CPU s", "average cores during the load", "peak cores (1 s)", "peak RSS MiB"],
    rows: [
      ...f.processes.map((p) => [
        p.role,
        fixed(whole(p.role)?.windowCpuSeconds ?? p.windowCpuSeconds, 1),
        fixed(p.averageCores),
        fixed(p.peakCores),
        p.peakRssMiB.toFixed(0),
      ]),
      [
        "… of the harness: fleet worker threads",
        fixed(workers, 1),
        fixed(workers / loadS),
        "",
        `heap ${(f.threads.heapPeakBytes / 2 ** 20).toFixed(0)}`,
      ],
    ],
    notes: [
      `Run ${f.status === "completed" ? "completed" : `**${f.status}**`}${f.error ? `: ${f.error}` : ""}. Whole run ` +
        `${f.runSeconds.toFixed(0)} s; load ${f.loadSeconds.toFixed(0)} s (the profile allows 420 s; the fleet ends ` +
        `when every terminal has signed in and bought); ${f.fleet?.segments ?? "?"} segments (${f.fleet?.threads ?? "?"} ` +
        `threads), ${int(f.fleet?.socketsOpened ?? 0)} connections opened.`,
      "",
      ...opLine("signin", "sign-ins"),
      ...opLine("purchase", "purchases"),
      ...opLine("reversal", "reversals"),
      `- schedule lag (actual − intended start): p99 ${fixed(f.samples.lagMs.p99, 1)} ms over every start (goal ` +
        `≤ ${GENERATOR_BOUNDS.scheduleLagP99Ms} ms: ${lagOk ? "met" : "**not met**"}), worst per-second p99 of any ` +
        `segment ${fixed(f.fleet?.watch.scheduleLagP99MaxMs, 1)} ms, max ${fixed(f.samples.lagMs.max, 1)} ms; event-loop delay p99 worst ` +
        `second ${fixed(f.fleet?.watch.loopDelayP99MaxMs, 1)} ms; ${generator?.limited ? `**generator-limited**: ${generator.reasons.map((r) => r.text).join("; ")} — the load tool, not the switch, was the bottleneck there` : "not generator-limited"}.`,
      `- the switch's own latency (its /metrics histogram): 0800 ${switchMs("0800")}, 0200 ${switchMs("0200")}.`,
      ...(o
        ? [
            `- sessions signed in ${int(o.sessions.signedIn)}; reversals queued ${o.reversals.queued}, settled ` +
              `${o.reversals.settled}, abandoned ${o.reversals.abandoned}.`,
          ]
        : ["- no outcome counts in run.json."]),
      "",
      `**Fleet memory per live terminal: ${fixed(f.liveHeapKiBPerTerminal)} KiB** (the workers' heap and external ` +
        `memory after a full collection with ${int(f.liveTerminals ?? 0)} terminals alive, less the same before the ` +
        `load; goal ≤ 4 KiB: ${memoryOk ? "met" : "**not met**"}); **slope ${fixed(f.liveSlopeKiBPerTerminal)} KiB per ` +
        `terminal** (${(f.liveReadings ?? []).join(" and ") || "no"} readings per segment, the baseline left out; goal ` +
        `≤ 4 KiB: ${slopeOk ? "met" : "**not met**"}). Without collections: ${fixed(f.heapKiBPerTerminal)} KiB of worker ` +
        `heap per terminal of the run (Σ peak ${(f.threads.heapPeakBytes / 2 ** 20).toFixed(1)} MiB over ` +
        `${f.threads.threads.length} segments / ${int(f.terminals)} terminals, garbage included); ` +
        `${fixed(f.heapGrowthKiBPerTerminal)} KiB above the workers' heap at \`ready\` ` +
        `(${(f.threads.readyHeapBytes / 2 ** 20).toFixed(1)} MiB, modules loaded). The harness process's RSS grew ` +
        `${fixed(f.rssGrowthKiBPerTerminal)} KiB per terminal (VmHWM − RSS before the run: the whole run — lab ` +
        "start-up, log streams, aggregator, report — not the fleet alone; sockets' kernel buffers are in neither).",
      `Machine during the load: ${fixed(f.machine.busyCores)} of 2 cores busy (/proc/stat), ` +
        `${fixed(f.machine.otherCores)} of them outside the processes above (other work, kernel threads). Load ` +
        `average (1 min) ${fixed(f.loadAverageBefore)} before the run, at most ${fixed(f.loadAverageMax)} during it, ` +
        `${fixed(f.loadAverageAfter)} after it. Run folder (temporary): \`${f.runDir}\`.`,
      `Cores per 1,000 operations/s over the load (${int(ops)} sign-ins and purchases): ${cpuSentence(cpuBreakdown(f), ops)}.`,
    ],
  };
}
