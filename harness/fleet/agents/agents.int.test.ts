import type { ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startAgentProcess } from "../../lab/testing/agent-process.ts";
import { runFleet } from "../coordinator.ts";
import { resolvePlan } from "../plan-check.ts";
import type { OperationSample, Sample } from "../samples.ts";
import { planFor, readSamples, recount, type SwitchLab, startSwitchLab } from "../testing/lab.ts";
import { type AgentServer, serveAgent } from "./agent.ts";
import { planFingerprint } from "./fingerprint.ts";
import { AgentConnection, assignSegments, connectAgents } from "./remote.ts";

// Agents on loopback against the real reference switch (in-process): the coordinator's merged counts equal the
// agents' raw samples, each agent runs the segments it was given, a busy agent refuses a second coordinator,
// an agent refuses a plan that is not its own or a target outside loopback, and an agent killed mid-run fails
// the run naming it.

const labs: SwitchLab[] = [];
const agents: AgentServer[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
  await Promise.all(agents.splice(0).map((a) => a.close()));
  await Promise.all(labs.splice(0).map((lab) => lab.close()));
});

async function lab(terminals: number): Promise<SwitchLab> {
  const started = await startSwitchLab(terminals);
  labs.push(started);
  return started;
}

const samplesPath = () => join(mkdtempSync(join(tmpdir(), "posstorm-agents-")), "samples.ndjson.gz");
const quiet = () => undefined;

async function agent(
  name: string,
  extra: Partial<Parameters<typeof serveAgent>[0]> = {},
): Promise<AgentServer> {
  const started = await serveAgent({
    listen: { host: "127.0.0.1", port: 0 },
    name,
    segments: 1,
    log: quiet,
    ...extra,
  });
  agents.push(started);
  return started;
}
/** `posstorm agent` as a process of its own on a free loopback port. */
async function agentProcess(name: string): Promise<{ child: ChildProcess; port: number }> {
  const agent = await startAgentProcess({ name, segments: 1 });
  children.push(agent.child);
  return { child: agent.child, port: Number(agent.address.split(":").pop()) };
}

const at = (a: AgentServer) => `127.0.0.1:${a.address.port}`;

const population = {
  model: "population" as const,
  terminals: 40,
  vus: 1,
  signIn: { curve: "uniform" as const, windowS: 1 },
  purchases: { perTerminal: 1, thinkTimeS: { mean: 0.2, jitter: 0.1 } },
};

describe("fleet segments on agents", () => {
  it("two agents run a segment each; the merged counts equal the union of their samples", async () => {
    const { sw } = await lab(40);
    const [a, b] = [await agent("a"), await agent("b")];
    const connected = await connectAgents([at(a), at(b)], "test");
    expect(connected.map((c) => [c.name, c.offered])).toEqual([
      ["a", 1],
      ["b", 1],
    ]);
    const result = await runFleet({
      plan: planFor(sw.port, population),
      samplesFile: samplesPath(),
      agents: connected,
      log: quiet,
    });
    expect(result.segments).toBe(2);
    expect(result.totals.ops).toEqual({
      signin: { approved: { "00": 40 } },
      purchase: { approved: { "00": 40 } },
    });
    const samples = readSamples(result.samples.path);
    expect(recount(samples)).toEqual(result.totals);
    const bySegment = (s: number) =>
      samples.filter((x): x is OperationSample => !("ev" in x) && x.segment === s);
    expect(bySegment(0)).toHaveLength(40);
    expect(bySegment(1)).toHaveLength(40);
    expect(result.agents?.map((f) => [f.name, f.segments])).toEqual([
      ["a", [0]],
      ["b", [1]],
    ]);
    // same machine: the offset is within the round trip
    for (const f of result.agents ?? []) expect(Math.abs(f.clockOffsetMs)).toBeLessThanOrEqual(f.rttMs + 2);
    // the agents are free again for the next coordinator
    const again = await connectAgents([at(a)], "test-2");
    again[0]!.close();
  });

  it("a busy agent refuses a second coordinator, naming the first", async () => {
    const a = await agent("a");
    const first = await AgentConnection.connect(at(a), "first");
    await expect(AgentConnection.connect(at(a), "second")).rejects.toThrow(
      /agent at 127\.0\.0\.1:\d+ refused: agent a is busy: it serves coordinator first/,
    );
    first.close();
  });

  it("an agent with a plan file refuses another plan; it refuses a target outside loopback", async () => {
    const { sw } = await lab(4);
    const plan = planFor(sw.port, { ...population, terminals: 4 });
    const dir = mkdtempSync(join(tmpdir(), "posstorm-agent-plan-"));
    writeFileSync(join(dir, "plan.json"), JSON.stringify({ ...plan, durationS: 99 }));
    const picky = await agent("picky", { planFile: join(dir, "plan.json") });
    const connected = await connectAgents([at(picky)], "test");
    await expect(
      runFleet({ plan, samplesFile: samplesPath(), agents: connected, log: quiet }),
    ).rejects.toThrow(
      new RegExp(
        `agent picky .* refused: the coordinator's plan \\(${planFingerprint(resolvePlan(plan))}\\) is not the plan in`,
      ),
    );
    const far = await agent("far", { switchAt: { host: "192.0.2.10", port: 9 } });
    const toFar = await connectAgents([at(far)], "test");
    await expect(runFleet({ plan, samplesFile: samplesPath(), agents: toFar, log: quiet })).rejects.toThrow(
      /agent far .* refused: target 192\.0\.2\.10:9 is outside loopback and the project's test hosts; start the agent with --allow-remote/,
    );
  });

  it("an agent killed mid-run fails the run naming it; the samples received are kept", async () => {
    const { sw } = await lab(200);
    const { child, port } = await agentProcess("doomed");
    const b = await agent("b");
    const connected = await connectAgents([`127.0.0.1:${port}`, at(b)], "test");
    const streamed: Sample[] = [];
    const run = runFleet({
      plan: planFor(
        sw.port,
        { model: "open", operation: "signin", stages: [{ ratePerS: 50, durationS: 6 }], maxVUs: 50 },
        { durationS: 6 },
      ),
      samplesFile: samplesPath(),
      agents: connected,
      log: quiet,
      onSample: (s) => streamed.push(s),
      onStart: () => {
        setTimeout(() => child.kill("SIGKILL"), 2_000);
        return undefined;
      },
    });
    await expect(run).rejects.toThrow(
      /agent doomed \(127\.0\.0\.1:\d+\) disconnected [12]\.\d s into the load/,
    );
    const fromDoomed = streamed.filter((s) => !("ev" in s) && s.segment === 0);
    expect(fromDoomed.length).toBeGreaterThan(20);
  });

  it("an agent that stops answering (SIGSTOP) mid-run fails the run as stalled, naming it", async () => {
    const { sw } = await lab(200);
    const { child, port } = await agentProcess("frozen");
    const connected = await connectAgents([`127.0.0.1:${port}`], "test");
    const run = runFleet({
      plan: planFor(
        sw.port,
        { model: "open", operation: "signin", stages: [{ ratePerS: 20, durationS: 15 }], maxVUs: 50 },
        { durationS: 15 },
      ),
      samplesFile: samplesPath(),
      agents: connected,
      log: quiet,
      onStart: () => {
        setTimeout(() => child.kill("SIGSTOP"), 1_000);
        return undefined;
      },
    });
    await expect(run).rejects.toThrow(/agent frozen \(127\.0\.0\.1:\d+\) stalled: no word for 5\.\d s/);
    child.kill("SIGKILL");
  }, 30_000);
});

describe("assignSegments", () => {
  it("shares the segments by what each agent offers, contiguous, at least one each", () => {
    expect(assignSegments([2, 2], 4)).toEqual([
      [0, 1],
      [2, 3],
    ]);
    expect(assignSegments([2, 2], 3)).toEqual([[0, 1], [2]]);
    expect(assignSegments([1, 3], 4)).toEqual([[0], [1, 2, 3]]);
    expect(assignSegments([4, 4], 2)).toEqual([[0], [1]]);
  });
});
