import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type OperationSample, parseSampleLines } from "../fleet/index.ts";
import { createTestHosts, removeTestHosts, type TestHost } from "../lab/test-hosts.ts";
import { type AgentProcess, killAgentProcess, startAgentProcess } from "../lab/testing/agent-process.ts";
import { profileFile } from "../profile/testing/profile-file.ts";
import { runQuietly } from "./testing/run-quietly.ts";

// A distributed run on this machine: two agents, each in a network namespace of its own (the project's test
// hosts), run the fleet's segments against the reference lab for one coordinator. The merged report counts
// exactly the agents' raw samples, its p99 is the p99 of their union — not the mean of each agent's p99, which
// a latency fault on one agent's own link pulls apart — and an agent killed mid-run fails the run naming it.

let hosts: TestHost[] = [];
const agents: AgentProcess[] = [];

beforeAll(async () => {
  hosts = await createTestHosts(2);
});
afterEach(async () => {
  await Promise.all(agents.splice(0).map(killAgentProcess));
});
afterAll(async () => {
  await removeTestHosts();
});

const startAgent = async (host: TestHost) => {
  const agent = await startAgentProcess({ name: `h${host.index}`, segments: 1, host });
  agents.push(agent);
  return agent;
};

const signInProfile = (name: string, durationS: number, ratePerS: number, chaos: string) =>
  profileFile(
    name,
    `{
      name: "${name}",
      durationS: ${durationS},
      lab: { runtime: "local" },
      terminal: { responseTimeoutMs: 3000, connectTimeoutMs: 2000, retry: { policy: "none" } },
      fleet: { model: "open", operation: "signin", stages: [{ durationS: ${durationS}, ratePerS: ${ratePerS} }], maxVUs: 200, terminals: 400 },
      chaos: [${chaos}],
    }`,
  );

function signInSamples(runDir: string): OperationSample[] {
  const text = gunzipSync(readFileSync(join(runDir, "samples.ndjson.gz"))).toString("utf8");
  return parseSampleLines(text).filter((s): s is OperationSample => !("ev" in s) && s.op === "signin");
}

/** Nearest-rank percentile of whole milliseconds (the histograms' unit). */
function p99(samples: OperationSample[]): number {
  const ms = samples.map((s) => Math.round(s.ms)).sort((a, b) => a - b);
  return ms[Math.max(0, Math.ceil(0.99 * ms.length) - 1)]!;
}

describe("a run on two agents in two network namespaces", () => {
  it("one merged report: counts are the agents' samples, p99 is their union's, not the mean of theirs", async () => {
    const [h1, h2] = [await startAgent(hosts[0]!), await startAgent(hosts[1]!)];
    const file = signInProfile(
      "two-agents",
      8,
      40,
      `{ name: "slow-h2", at: 0, for: 8, fault: { kind: "latency", link: "agent-h2", latencyMs: 150 } }`,
    );
    const { outcome, run, log } = await runQuietly(file, { agents: [h1.address, h2.address] });
    expect(outcome.status, log).toBe("completed");
    expect(outcome.exitCode, log).toBe(0);
    // Each agent ran its own segment; its load went through its own link, on the address it reached us from
    expect(run.agents?.map((a) => [a.name, a.segments, a.target?.host])).toEqual([
      ["h1", [0], hosts[0]!.gateway],
      ["h2", [1], hosts[1]!.gateway],
    ]);
    for (const a of run.agents ?? []) expect(Math.abs(a.clockOffsetMs)).toBeLessThanOrEqual(a.rttMs + 2);
    expect(run.lab?.links["agent-h1"]?.listen.host).toBe(hosts[0]!.gateway);
    expect(run.lab?.links["agent-h1"]?.upstream).toEqual(run.lab?.edge);
    expect(h1.log.join("")).toMatch(/load to 10\.77\.1\.1:\d+ \(test host on pst1a\)/);

    const samples = signInSamples(outcome.runDir);
    const own = [0, 1].map((segment) => samples.filter((s) => s.segment === segment));
    expect(own[0]!.length).toBeGreaterThan(100);
    expect(own[1]!.length).toBeGreaterThan(100);
    const verdict = JSON.parse(readFileSync(join(outcome.runDir, "verdict.json"), "utf8"));
    const signIn = verdict.total.byOperation.find((o: { operation: string }) => o.operation === "signin");
    expect(signIn.attempts).toBe(own[0]!.length + own[1]!.length);
    expect(run.outcomes?.byOutcome.signin.approved).toBe(own[0]!.length + own[1]!.length);

    // h2's sign-ins carry the fault's 150 ms, h1's do not
    const [p99h1, p99h2] = [p99(own[0]!), p99(own[1]!)];
    expect(p99h1).toBeLessThan(100);
    expect(p99h2).toBeGreaterThanOrEqual(150);
    const union = p99(samples);
    expect(Math.abs(signIn.latencyMs.p99 - union)).toBeLessThanOrEqual(Math.max(1, union * 0.01));
    const meanOfP99s = (p99h1 + p99h2) / 2;
    expect(Math.abs(signIn.latencyMs.p99 - meanOfP99s)).toBeGreaterThan(40);
  });

  it("an agent killed mid-run: exit 2, a partial report naming it, faults cleared, the other agent free", async () => {
    const [h1, h2] = [await startAgent(hosts[0]!), await startAgent(hosts[1]!)];
    const file = signInProfile(
      "agent-killed",
      20,
      20,
      `{ name: "slow-edge", at: 0, for: 20, fault: { kind: "latency", link: "edge", latencyMs: 30 } }`,
    );
    setTimeout(() => h2.child.kill("SIGKILL"), 6_000);
    const { outcome, run, log } = await runQuietly(file, { agents: [h1.address, h2.address] });
    expect(outcome.exitCode, log).toBe(2);
    expect(run.status).toBe("failed");
    expect(run.error).toMatch(/agent h2 \(10\.77\.2\.2:7070\) disconnected \d+\.\d s into the load/);
    expect(run.agents?.map((a) => a.name)).toEqual(["h1", "h2"]);
    // the fault was cleared, the partial report written from what came in
    expect(run.timeline?.entries?.map((e) => e.status)).toEqual(["cleared"]);
    const summary = readFileSync(join(outcome.runDir, "summary.md"), "utf8");
    expect(summary).toMatch(/agent h2/);
    const samples = signInSamples(outcome.runDir);
    expect(samples.length).toBeGreaterThan(50);
    // the agents' links run in front of edge: its fault reached every agent's sign-ins
    const approved = samples.filter((s) => s.outcome === "approved");
    expect(approved.length).toBeGreaterThan(50);
    for (const s of approved) expect(s.ms).toBeGreaterThanOrEqual(30);
    // the other agent let go of its segment and is free for the next coordinator
    await new Promise((r) => setTimeout(r, 500));
    expect(h1.log.join("")).toMatch(/segment\(s\) stopped; free again/);
    // nothing left behind: the run's Toxiproxy (and with it every agent link) is gone
    await expect(fetch(`${run.lab!.toxiproxy}/proxies`)).rejects.toThrow();
  });
});
