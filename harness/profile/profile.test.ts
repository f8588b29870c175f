import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../shared/repo.ts";
import { fleetPlanOf, loadProfile, runPlanOf, switchFleet, terminalSettings, timelineOf } from "./compile.ts";
import { ProfileError } from "./validate.ts";

const dir = mkdtempSync(join(tmpdir(), "posstorm-profile-"));
const define = JSON.stringify(join(REPO_ROOT, "harness/profile/define.ts"));

function profileFile(name: string, body: string): string {
  const file = join(dir, `${name}.ts`);
  writeFileSync(file, `import { defineProfile } from ${define};\nexport default defineProfile(${body});\n`);
  return file;
}

const fleet = `{ model: "population", terminals: 10, vus: 1, signIn: { curve: "uniform", windowS: 5 },
  purchases: { perTerminal: 1, thinkTimeS: { mean: 1, jitter: 0 } } }`;

describe("profiles", () => {
  it("loads the shipped profiles by name", async () => {
    const shipped = readdirSync(join(REPO_ROOT, "profiles"))
      .filter((f) => f.endsWith(".ts"))
      .map((f) => f.replace(/\.ts$/, ""));
    expect(shipped).toEqual(expect.arrayContaining(["smoke", "signin-capacity", "timeout-chain"]));
    for (const name of shipped) {
      const { profile } = await loadProfile(name);
      expect(profile.name).toBe(name);
    }
  });

  it("a switch already running (`target`): faults on edge are fine, elsewhere refused with where to go instead", async () => {
    const good = profileFile(
      "target-ok",
      `{ name: "target-ok", durationS: 10, target: { host: "127.0.0.1", port: 9000 }, fleet: ${fleet},
         switchMetrics: { url: "http://127.0.0.1:9100/metrics", chart: ["tx_pending", "auth_total"] },
         chaos: [{ at: 2, for: 2, fault: { kind: "latency", link: "edge", latencyMs: 100 } },
                 { at: 5, for: 2, fault: { kind: "packet-loss", link: "edge", lossPercent: 5 } }] }`,
    );
    const { compiled } = await loadProfile(good);
    expect(compiled.switchMetrics?.chart).toEqual(["tx_pending", "auth_total"]);
    expect(runPlanOf(compiled, { runId: "x" }).switchMetrics?.url).toBe("http://127.0.0.1:9100/metrics");
    const bad = profileFile(
      "target-bad",
      `{ name: "target-bad", durationS: 10, target: { host: "127.0.0.1", port: 9000 }, fleet: ${fleet},
         lab: { issuers: { a: { medianMs: 10 } } },
         switchMetrics: { url: "127.0.0.1:9100" },
         chaos: [{ at: 2, for: 2, fault: { kind: "latency", link: "issuer-a", latencyMs: 100 } },
                 { at: 5, for: 2, fault: { kind: "hsm-capacity", capacityPerSecond: 5 } }] }`,
    );
    const error = await loadProfile(bad).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProfileError);
    const problems = (error as ProfileError).problems.join("\n");
    expect(problems).toMatch(
      /chaos\[0\]\.fault\.link: issuer-a is not proxied with `target`.*lab\.switchSource/,
    );
    expect(problems).toMatch(/chaos\[1\]\.fault\.kind: hsm-capacity acts on a lab program/);
    expect(problems).toMatch(/lab\.issuers: a profile with `target` starts no switch and no backends/);
    expect(problems).toMatch(/switchMetrics\.url: "127\.0\.0\.1:9100" must be an http:\/\/ address/);
  });

  it("names the path of every bad value", async () => {
    const file = profileFile(
      "bad",
      `{ name: "bad", durationS: 30, terminal: { responseTimeoutMs: -1, cards: [{ pan: "12", weight: 1 }] },
         fleet: { model: "population", terminals: 0, vus: 1, signIn: { curve: "sideways", windowS: 60 },
                  purchases: { perTerminal: 1, thinkTimeS: { mean: 1, jitter: 0 } } },
         chaos: [{ at: 40, for: 5, fault: { kind: "latency", link: "edge", latencyMs: 100 } }] } as never`,
    );
    const error = await loadProfile(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProfileError);
    const problems = (error as ProfileError).problems.join("\n");
    expect(problems).toContain("fleet.terminals: 0 must be >= 1");
    expect(problems).toContain('fleet.signIn.curve: "sideways" must be one of uniform, normal');
    expect(problems).toContain("fleet.signIn.windowS: 60s is longer than the load (durationS 30s)");
    expect(problems).toContain("terminal.responseTimeoutMs: -1 must be >= 1");
    expect(problems).toContain("terminal.cards[0].pan: must be 12 to 19 digits as a string");
    expect(problems).toMatch(/chaos\[0\].*starts at 40s but the load ends at 30s/);
    expect((error as Error).message).toContain(file);
  });

  it("names bad dialect knobs: F60's parts, F63 and the STAN across sign-ins", async () => {
    const file = profileFile(
      "bad-dialect",
      `{ name: "bad-dialect", durationS: 10,
         terminal: { field60Parts: 4, replyField63: "yes", stanAtSignIn: "reset",
                     software: [{ version: "1", share: 0.5 }, { version: "000002", share: 0.2 }] },
         fleet: { model: "population", terminals: 1, signIn: { curve: "uniform", windowS: 1 } } } as never`,
    );
    const problems = ((await loadProfile(file).catch((e: unknown) => e)) as ProfileError).problems;
    expect(problems).toContain("terminal.field60Parts: 4 must be 3 or 5");
    expect(problems).toContain('terminal.replyField63: "yes" must be true or false');
    expect(problems).toContain('terminal.stanAtSignIn: "reset" must be one of continue, restart');
    expect(problems).toContain('terminal.software[0].version: "1" must be 6 digits');
  });

  it("refuses at load what the terminals would refuse: long links with the open model", async () => {
    const file = profileFile(
      "long-open",
      `{ name: "long-open", durationS: 10, terminal: { mode: "long" },
         fleet: { model: "open", operation: "purchase", stages: [{ durationS: 10, ratePerS: 1 }],
                  preAllocatedVUs: 1, maxVUs: 2, terminals: 2 } }`,
    );
    const error = await loadProfile(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProfileError);
    expect((error as ProfileError).problems).toEqual([
      'terminal.mode: "long" is not "short" with the open model (long links need the population model)',
    ]);
  });

  it("refuses a closed model with fewer terminals than loops, or an unknown operation, with their paths", async () => {
    const file = profileFile(
      "closed-short",
      `{ name: "closed-short", durationS: 10,
         fleet: { model: "closed", operation: "signin", vus: 8, terminals: 4 } }`,
    );
    const error = await loadProfile(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProfileError);
    expect((error as ProfileError).problems).toEqual([
      "fleet.terminals: 4 is not at least fleet.vus (8): each loop needs a terminal of its own",
    ]);
    const unknown = profileFile(
      "closed-op",
      `{ name: "closed-op", durationS: 10, fleet: { model: "closed", operation: "refund", vus: 1 } }`,
    );
    const problems = ((await loadProfile(unknown).catch((e: unknown) => e)) as ProfileError).problems;
    expect(problems).toContain('fleet.operation: "refund" must be one of signin, purchase');
    const good = profileFile(
      "closed-ok",
      `{ name: "closed-ok", durationS: 10, fleet: { model: "closed", operation: "purchase", vus: 4 } }`,
    );
    expect((await loadProfile(good)).profile.fleet).toEqual({
      model: "closed",
      operation: "purchase",
      vus: 4,
    });
  });

  it("checks the network preset and the faults together at load: toxics stack, kernel drops clash", async () => {
    const withChaos = (name: string, fault: string) =>
      profileFile(
        name,
        `{ name: "${name}", durationS: 30, network: { profile: "3g" }, fleet: ${fleet},
           chaos: [{ name: "spike", at: 10, for: 5, fault: ${fault} }] }`,
      );
    const { profile } = await loadProfile(
      withChaos("stack", `{ kind: "latency", link: "edge", latencyMs: 500 }`),
    );
    // Both latency toxics on edge are in the compiled timeline: the 3g preset's for the whole run (a condition,
    // its toxics named apart) and the fault's for its window.
    expect(timelineOf(profile).filter((entry) => entry.fault.kind === "latency")).toEqual([
      {
        name: "network-3g-1",
        at: 0,
        for: 30,
        condition: true,
        fault: { kind: "latency", link: "edge", latencyMs: 150, jitterMs: 25, direction: "both" },
      },
      { name: "spike", at: 10, for: 5, fault: { kind: "latency", link: "edge", latencyMs: 500 } },
    ]);
    const error = await loadProfile(
      withChaos("clash", `{ kind: "packet-loss", link: "edge", lossPercent: 5 }`),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProfileError);
    expect((error as ProfileError).problems).toEqual([
      "chaos[0] (packet-loss on edge, 10s–15s) overlaps network (3g preset) (0s–30s)",
    ]);
  });

  it("says when the file is missing", async () => {
    await expect(loadProfile(join(dir, "nope.ts"))).rejects.toThrow(
      /nope\.ts: 1 problem\(s\):\n {2}cannot load the profile: no such file/,
    );
  });

  it("compiles to a run plan with the terminal defaults and the switch fleet", async () => {
    const { profile, compiled } = await loadProfile(
      profileFile("ok", `{ name: "ok", durationS: 30, terminal: { mode: "long" }, fleet: ${fleet} }`),
    );
    const planJson = runPlanOf(compiled, { runId: "ok-1" });
    expect(planJson.target).toBeUndefined(); // known once the lab is up
    const plan = fleetPlanOf(planJson, { host: "127.0.0.1", port: 9000 });
    expect(plan.terminal.mode).toBe("long");
    expect(plan.terminal.responseTimeoutMs).toBe(60_000);
    expect(plan.terminal.retry.policy).toBe("exponential");
    expect(plan.target).toEqual({ host: "127.0.0.1", port: 9000 });
    expect(switchFleet(terminalSettings(profile))).toEqual(["POS*10000"]);
  });

  it("compiles once into the whole plan: fleet, timeline and its phases, SLOs, compare and lab settings", async () => {
    const file = profileFile(
      "whole",
      `{ name: "whole", durationS: 60, fleet: ${fleet}, lab: { hsm: { capacityPerSecond: 50 } },
         chaos: [{ name: "slow", at: 20, for: 10, fault: { kind: "latency", link: "edge", latencyMs: 300 } }],
         slos: [{ indicator: "timeout-rate", objective: { max: 0.01 } }],
         compare: { maxRegressionPct: { p99: 20 } } }`,
    );
    const { compiled } = await loadProfile(file);
    const plan = runPlanOf(compiled, { runId: "whole-1" });
    expect(plan.profile).toEqual({ name: "whole", file });
    expect(plan.timeline?.map((e) => [e.name, e.at, e.for])).toEqual([["slow", 20, 10]]);
    expect(plan.phases?.map((p) => [p.name, p.startS, p.endS])).toEqual([
      ["baseline", 0, 20],
      ["fault:slow", 20, 30],
      ["recovery", 30, 60],
    ]);
    expect(plan.slos).toEqual([{ indicator: "timeout-rate", objective: { max: 0.01 } }]);
    expect(plan.compare).toEqual({ maxRegressionPct: { p99: 20 } });
    expect(plan.lab).toEqual({ hsm: { capacityPerSecond: 50 } });
    expect(plan.durationS).toBe(60);
    // the plan is plain data: what is written to plan.json reads back the same
    expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
  });
});
