import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createTestHosts, removeTestHosts } from "../harness/lab/test-hosts.ts";
import { startAgentProcess } from "../harness/lab/testing/agent-process.ts";
import { per1000, rateProfile } from "./fleet.bench.ts";
import { harnessSplit, runWatched, writeTempProfile } from "./fleet-run.ts";
import { type FleetSection, fixed, int } from "./fleet-sections.ts";
import { closedWindow } from "./like-for-like.ts";
import { readStat, waitForQuiet } from "./process-watch.ts";

// Distributed runs on this one machine: the fleet's closed model (64 loops of sign-ins) run by the coordinator's
// own worker threads, by one agent, and by two agents in two network namespaces (the project's test hosts),
// against the same containers lab. On 2 cores the agents cannot add capacity; what this measures is what they
// cost, and the coordinator's own CPU per 1,000 operations/s (the ceiling of one coordinator).

export interface AgentsStep {
  setup: string;
  agents: number;
  segments: string;
  perSecond: number;
  approvedRatio: number;
  p50Ms: number;
  p99Ms: number;
  /** The coordinator's process (with agents: no fleet threads) over the load, cores, and per 1,000 sign-ins/s. */
  coordinatorCores: number;
  coordinatorPer1000: number;
  /** The agents' processes (all of them), from /proc, over the whole run. */
  agentCores: number;
  agentPer1000: number;
  clockOffsetsMs: string;
  status: string;
}

const CONCURRENCY = 64;

/** CPU seconds a process has used (/proc/<pid>/stat; 0 once it is gone). */
const cpuSeconds = (pid: number) => readStat(pid)?.cpuS ?? 0;

export async function benchAgents(
  opts: { progress?: (line: string) => void; seconds?: number } = {},
): Promise<AgentsStep[]> {
  const seconds = opts.seconds ?? 10;
  const warmupS = 1;
  const durationS = warmupS + seconds;
  const hosts = await createTestHosts(2);
  const steps: AgentsStep[] = [];
  try {
    for (const setup of [
      { name: "no agent (the coordinator's worker threads)", agents: 0, segments: 2 },
      { name: "1 agent (2 segments)", agents: 1, segments: 2 },
      { name: "2 agents (1 segment each)", agents: 2, segments: 1 },
    ]) {
      await waitForQuiet({ progress: opts.progress, timeoutMs: 60_000 });
      const started = await Promise.all(
        hosts
          .slice(0, setup.agents)
          .map((host) => startAgentProcess({ name: `h${host.index}`, segments: setup.segments, host })),
      );
      const pids = started.map((a) => a.child.pid!);
      try {
        const profile = {
          ...rateProfile(1, durationS),
          name: `bench-agents-${setup.agents}`,
          description: `closed model, ${CONCURRENCY} loops of sign-ins for ${durationS} s on ${setup.name}`,
          fleet: { model: "closed", operation: "signin", vus: CONCURRENCY, terminals: 10_000 },
        };
        // The agent processes' CPU: `ip netns exec` execs node, so the child's pid is the agent's.
        const agentCpuBefore = pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
        const run = await runWatched(writeTempProfile(`agents-${setup.agents}`, profile), {
          window: { fromS: 0, toS: durationS },
          // Without agents the coordinator runs 2 segments, as the agent setups do in all (the closed model's
          // default would give 64 loops one).
          run: setup.agents > 0 ? { agents: started.map((a) => a.address) } : { segments: setup.segments },
        });
        const agentCpu = pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0) - agentCpuBefore;
        const w = await closedWindow(run.runDir, warmupS * 1000, durationS * 1000);
        const all = run.outcomes?.total.signin ?? 0;
        const split = harnessSplit(run);
        const runJson = JSON.parse(readFileSync(join(run.runDir, "run.json"), "utf8")) as {
          agents?: { name: string; clockOffsetMs: number; rttMs: number }[];
        };
        const step: AgentsStep = {
          setup: setup.name,
          agents: setup.agents,
          segments: String(run.fleet?.segments ?? "?"),
          perSecond: w.signIns / seconds,
          approvedRatio: w.signIns > 0 ? w.approved / w.signIns : 0,
          p50Ms: w.p50Ms,
          p99Ms: w.p99Ms,
          coordinatorCores: split.harnessS / run.loadSeconds,
          coordinatorPer1000: per1000(split.harnessS, all),
          agentCores: agentCpu / run.loadSeconds,
          agentPer1000: per1000(agentCpu, all),
          clockOffsetsMs:
            runJson.agents?.map((a) => `${a.name} ${a.clockOffsetMs} (rtt ${a.rttMs})`).join(", ") ?? "",
          status: run.status,
        };
        steps.push(step);
        opts.progress?.(
          `${setup.name}: ${step.perSecond.toFixed(0)} sign-ins/s, p99 ${step.p99Ms.toFixed(1)} ms, coordinator ` +
            `${step.coordinatorCores.toFixed(2)} cores (${step.coordinatorPer1000.toFixed(3)} per 1,000/s), agents ` +
            `${step.agentCores.toFixed(2)} cores`,
        );
      } finally {
        for (const a of started) a.child.kill("SIGTERM");
      }
    }
  } finally {
    await removeTestHosts();
  }
  return steps;
}

export function agentsSection(steps: AgentsStep[]): FleetSection {
  const local = steps.find((s) => s.agents === 0);
  const withAgents = steps.filter((s) => s.agents > 0);
  const worstCoordinator = Math.max(...withAgents.map((s) => s.coordinatorPer1000));
  return {
    title: "Distributed runs: 1 and 2 agents on this machine, and the coordinator's own CPU",
    intro:
      `The fleet's closed model (${CONCURRENCY} loops of sign-ins back to back, 10,000 TIDs, the fleet-rate ` +
      "section's terminal settings), one `posstorm run` per setup against a containers lab " +
      "(bench/agents.bench.ts `benchAgents`): the coordinator's own worker threads (2 segments); one agent " +
      "offering 2 segments; two agents offering 1 each. The agents run in network namespaces of their own " +
      "(harness/lab/test-hosts.ts: posstorm-h1, posstorm-h2, veth links 10.77.k.0/30) and their load goes " +
      "through their own Toxiproxy links (agent-h1, agent-h2), each in front of `edge` (two proxy hops). Sign-ins ending in the 10 s after 1 s of warm-up; " +
      "latency from each sign-in's start. Coordinator CPU: the `posstorm run` process over the load (run.json " +
      "`fleet.cpu`: with agents it runs no fleet thread — what is left is receiving and merging the agents' data, " +
      "parsing and aggregating their samples, the lab's log streams and scrapes); agent CPU: the agent processes " +
      "from /proc over the run. Cores per 1,000/s = CPU seconds per 1,000 sign-ins.",
    columns: [
      "setup",
      "segments",
      "sign-ins/s",
      "approved %",
      "p50 / p99 ms",
      "coordinator cores",
      "coordinator cores per 1,000/s",
      "agent cores",
      "agent cores per 1,000/s",
      "clock offsets ms",
      "run",
    ],
    rows: steps.map((s) => [
      s.setup,
      s.segments,
      int(s.perSecond),
      fixed(s.approvedRatio * 100),
      `${fixed(s.p50Ms, 1)} / ${fixed(s.p99Ms, 1)}`,
      fixed(s.coordinatorCores),
      fixed(s.coordinatorPer1000, 3),
      s.agents > 0 ? fixed(s.agentCores) : "–",
      s.agents > 0 ? fixed(s.agentPer1000, 3) : "–",
      s.clockOffsetsMs || "–",
      s.status,
    ]),
    notes: [
      ...(local
        ? [
            `**No real gain is possible on 2 cores**: ${withAgents.map((s) => `${s.setup} ${int(s.perSecond)} sign-ins/s (${fixed(s.perSecond / Math.max(1, local.perSecond))}× the coordinator's own threads)`).join(", ")}, against ${int(local.perSecond)} with the coordinator's own threads, each measured once. The agents share the same 2 cores with the lab and the coordinator: they move the fleet's CPU into other processes, add the cost of relaying its data, and send every sign-in through two proxies (the agent's link, then edge) (each agent's main thread takes its workers' messages and writes them to the coordinator's connection: compare the agent columns with the fleet's own threads in the fleet-closed section). Past one machine the agents add cores; here they can only cost.`,
          ]
        : []),
      ...(withAgents.length > 0 && Number.isFinite(worstCoordinator) && worstCoordinator > 0
        ? [
            `**The coordinator's own CPU with agents: up to ${fixed(worstCoordinator, 3)} cores per 1,000 sign-ins/s** (receiving the agents' data, parsing and aggregating their samples, the lab's scrapes). Extrapolated linearly — not measured that high — one coordinator core would carry about ${int(Math.floor(1000 / worstCoordinator / 1000) * 1000)} operations/s of merged fleet data before it became the bottleneck; the coordinator's event-loop delay would show it first.`,
          ]
        : []),
    ],
  };
}
