import type { RateFigure } from "./fleet.bench.ts";
import { type FleetSection, fixed, int, outcomeList, prioritiesText } from "./fleet-sections.ts";
import type { ClosedStep, NodeOpenFigure } from "./like-for-like.ts";
import type { NodeFigure } from "./node-ceiling.ts";

// docs/benchmarks.md sections for like-for-like.ts: the fleet's closed model beside the minimal client's closed
// loops (fleet-closed), and the minimal client's open model under the fleet's pass rule (node-open).

const ratioText = (fleet: number, client: number) => (client > 0 ? (fleet / client).toFixed(2) : "?");

export function closedSection(steps: ClosedStep[], node: NodeFigure | undefined): FleetSection {
  const clientAt = (c: number) => node?.steps.find((s) => s.concurrency === c);
  const best = [...steps]
    .filter((s) => s.approvedRatio >= 0.999)
    .sort((a, b) => b.perSecond - a.perSecond)[0];
  const bestClient = node?.maxPerSecond ?? 0;
  const same = node ? clientAt(node.maxAtConcurrency) : undefined;
  const fleetSame = node ? steps.find((s) => s.concurrency === node.maxAtConcurrency) : undefined;
  return {
    title: "Terminal fleet against the minimal client: closed loops at the same concurrency",
    intro:
      'The fleet\'s closed model (`fleet: { model: "closed", operation: "signin", vus: N, terminals: 10000 }`, ' +
      "harness/fleet/closed.ts: N loops of sign-ins back to back, loop w taking turns on its own TIDs) run as " +
      "`posstorm run` runs it, one run per concurrency with the fleet-rate section's terminal settings " +
      "(bench/like-for-like.ts `benchFleetClosed`), beside the node-ceiling section's closed loops at the same " +
      "N measured in the same invocation. Both count the sign-ins that end in the 10 s after 1 s of warm-up; " +
      "latency from each sign-in's start. Fleet CPU: the harness process over the whole load (run.json " +
      "`fleet.cpu`) and its worker threads, per 1,000 sign-ins of the load; client CPU: its process over the " +
      "counted window. Each run first waits (up to 1 min) for the machine to be busy less than 0.3 cores.",
    columns: [
      "concurrency",
      "client sign-ins/s",
      "fleet sign-ins/s",
      "fleet / client",
      "client p50 / p99 ms",
      "fleet p50 / p99 ms",
      "fleet approved %",
      "client cores per 1,000/s",
      "fleet cores per 1,000/s: harness (workers)",
      "fleet harness cores",
      "fleet generator-limited",
    ],
    rows: steps.map((s) => {
      const c = clientAt(s.concurrency);
      return [
        String(s.concurrency),
        c ? int(c.perSecond) : "?",
        int(s.perSecond),
        c ? ratioText(s.perSecond, c.perSecond) : "?",
        c ? `${fixed(c.p50Ms, 1)} / ${fixed(c.p99Ms, 1)}` : "?",
        `${fixed(s.p50Ms, 1)} / ${fixed(s.p99Ms, 1)}`,
        fixed(s.approvedRatio * 100),
        c ? fixed(((c.cpuSeconds["node client"] ?? 0) / Math.max(1, c.signIns)) * 1000, 3) : "?",
        `${fixed(s.harnessPer1000, 3)} (${fixed(s.workersPer1000, 3)})`,
        fixed(s.harnessCores),
        s.status === "completed" ? (s.generatorLimited ? "yes" : "no") : `run ${s.status}`,
      ];
    }),
    notes: [
      best && node
        ? `**Closed-loop maxima: fleet ${int(best.perSecond)} sign-ins/s (concurrency ${best.concurrency}), client ` +
          `${int(bestClient)} (concurrency ${node.maxAtConcurrency}): fleet / client = ` +
          `${ratioText(best.perSecond, bestClient)}**` +
          (same && fleetSame
            ? `; at the client's best concurrency (${node.maxAtConcurrency}) ${int(fleetSame.perSecond)} / ` +
              `${int(same.perSecond)} = ${ratioText(fleetSame.perSecond, same.perSecond)}.`
            : ".")
        : "Closed-loop ratio: not computed (run `npm run bench -- node-ceiling fleet-closed` to measure both in one invocation).",
      `Fleet run folders (temporary): ${steps.map((s) => `\`${s.runDir}\``).join(", ")}.`,
    ],
  };
}

export function nodeOpenSection(f: NodeOpenFigure, fleetRate: RateFigure | undefined): FleetSection {
  return {
    title: "The minimal client as an open model, under the fleet's pass rule",
    intro:
      "The node-ceiling section's client (TestTerminal.signIn, a new connection through `edge` per sign-in) driven " +
      "by arrivals at the exact times k / rate for 20 s (bench/node-open.ts, a Node process of its own), " +
      "each on the longest-idle free TID of 10,000, at most one second's worth of arrivals (at least 50) busy — " +
      "beyond that an arrival is dropped and counted. Latency from the intended start; schedule lag = actual − " +
      "intended start; event-loop delay per second (10 ms resolution) as the fleet's self-watch measures it. " +
      "Searched exactly as fleet-rate searches the fleet (bench/fleet.bench.ts `searchRate`: doubling from " +
      "250/s until a step fails, five bisections (steps on 50/s), a step failing only on the generator bounds runs again " +
      "and the second attempt decides) with the same pass rule: 0 dropped, ≥ 99.9% approved, the achieved rate " +
      "within 1% of the target, schedule-lag p99 ≤ 10 ms and event-loop delay p99 ≤ 100 ms in every second. One " +
      "containers lab for every step (fleet-rate starts one per run). Client CPU from its process.cpuUsage from " +
      "the first intended start to the last reply; cores per 1,000/s = CPU seconds per 1,000 sign-ins. The " +
      "client's thread asks for the fleet's threads' priority (harness/fleet/thread-priority.ts): " +
      `${prioritiesText(f.steps.map((s) => s.result.priority))}.`,
    columns: [
      "target sign-ins/s",
      "achieved/s",
      "dropped",
      "approved %",
      "failures",
      "p50 ms",
      "p99 ms",
      "schedule lag p99 / max ms",
      "loop delay p99, worst second ms",
      "client cores",
      "client cores per 1,000/s",
      "machine busy before / during",
      "result",
    ],
    rows: f.steps.map((s) => [
      int(s.ratePerS),
      s.achievedPerS.toFixed(1),
      int(s.result.dropped),
      fixed(s.approvedRatio * 100),
      outcomeList(s.result.failures),
      fixed(s.result.p50Ms, 1),
      fixed(s.result.p99Ms, 1),
      `${fixed(s.result.lagP99Ms, 1)} / ${fixed(s.result.lagMaxMs, 1)}`,
      fixed(s.result.loopDelayP99MaxMs, 1),
      fixed(s.clientCores),
      fixed(s.clientPer1000, 3),
      `${fixed(s.othersBefore)} / ${fixed(s.machine.busyCores)}`,
      (s.passed ? "pass" : `**fail**: ${s.failures.join("; ")}`) + (s.attempt > 1 ? " (2nd attempt)" : ""),
    ]),
    notes: [
      `**Client's highest open-model rate: ${int(f.maxRatePerS)} sign-ins/s.** ` +
        (fleetRate
          ? `Fleet (fleet-rate, same invocation, same rule): ${int(fleetRate.maxRatePerS)}/s; fleet / client = ` +
            `**${ratioText(fleetRate.maxRatePerS, f.maxRatePerS)}**.`
          : "Fleet / client: not computed (run `npm run bench -- fleet-rate node-open` to measure both in one invocation)."),
      `Load average (1 min): ${fixed(f.loadAverageBefore)} before, at most ${fixed(f.loadAverageMax)} during.`,
    ],
  };
}
