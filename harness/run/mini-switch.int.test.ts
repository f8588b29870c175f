import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "../lab/ports.ts";
import { profileFile } from "../profile/testing/profile-file.ts";
import { REPO_ROOT } from "../shared/repo.ts";
import { findTool, toolsDir } from "../shared/tools.ts";
import { phaseP50, runQuietly } from "./testing/run-quietly.ts";

// A switch posstorm did not write: switches/mini-switch, Go with the standard library only, built by setup. It
// signs terminals in with the keys `posstorm terminals export` wrote and approves purchases after checking their
// MAC. Driven both ways a user would: started by posstorm as a command, and already running (`target`); in both,
// a latency fault on edge shows in the terminals' figures.

const binary = findTool("mini-switch").path ?? join(toolsDir(), "bin", "mini-switch");
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill();
});

/** The smoke profile's 20 first terminals, exported as a terminal list with their TMKs and KCVs. */
function exportedKeys(): string {
  const out = join(mkdtempSync(join(tmpdir(), "posstorm-mini-")), "terminals.csv");
  execFileSync(
    process.execPath,
    [join(REPO_ROOT, "harness/cli/main.ts"), "terminals", "export", "smoke", "--out", out],
    {
      stdio: "pipe",
    },
  );
  return out;
}

const load = `
  terminal: { responseTimeoutMs: 3000 },
  fleet: { model: "population", terminals: 20, signIn: { curve: "uniform", windowS: 1 },
           purchases: { perTerminal: 6, thinkTimeS: { mean: 1, jitter: 0 } } },
  chaos: [{ name: "slow-edge", at: 3, for: 3, fault: { kind: "latency", link: "edge", latencyMs: 300 } }],
  slos: [{ id: "purchase-success", indicator: "success-rate", scope: { operation: "purchase" }, objective: { min: 1 } }],`;

async function runAndCheck(file: string) {
  const quiet = await runQuietly(file);
  const { outcome, run } = quiet;
  expect(outcome, outcome.error).toMatchObject({ status: "completed", exitCode: 0 });
  const outcomes = run.outcomes!;
  expect(outcomes.byOutcome.signin.approved).toBe(20);
  expect(outcomes.total.purchase).toBeGreaterThanOrEqual(80);
  expect(outcomes.byOutcome.purchase.approved).toBe(outcomes.total.purchase);
  expect(phaseP50(quiet, "fault:slow-edge")).toBeGreaterThanOrEqual(300);
  expect(phaseP50(quiet, "baseline")).toBeLessThan(100);
  return { run, outcome };
}

describe("a switch posstorm did not write (switches/mini-switch)", () => {
  it("started as a command: every sign-in and purchase approved with exported keys; the edge fault shows", async () => {
    const keys = exportedKeys();
    const file = profileFile(
      "mini-command",
      `{
        name: "mini-command",
        durationS: 9,
        lab: {
          runtime: "local",
          switchSource: {
            kind: "command",
            command: ["${binary}", "-listen", "127.0.0.1:{{switch.port}}", "-keys", "${keys}",
                      "-metrics", "127.0.0.1:{{switch.adminPort}}"],
          },
        },
        switchMetrics: { url: "http://127.0.0.1:{{switch.adminPort}}/metrics", chart: ["mini_approved_total"] },
        ${load}
      }`,
    );
    const { run, outcome } = await runAndCheck(file);
    expect(run.versions!.switch).toBe("yours (command)");
    // Its own metrics page was scraped as the switch's and charted.
    expect(readFileSync(join(outcome.runDir, "collected", "switch.metrics.prom"), "utf8")).toMatch(
      /mini_approved_total \d+/,
    );
    expect(readFileSync(join(outcome.runDir, "report.html"), "utf8")).toContain("mini_approved_total");
  });

  it("already running (target): the same, with Toxiproxy put in front of it", async () => {
    const keys = exportedKeys();
    const port = await freePort();
    const child = spawn(binary, ["-listen", `127.0.0.1:${port}`, "-keys", keys], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.stderr!.on("data", (chunk: Buffer) => {
        if (/listening/.test(chunk.toString())) resolve();
      });
      child.once("exit", (code) => reject(new Error(`mini-switch exited ${code}`)));
    });
    const file = profileFile(
      "mini-target",
      `{
        name: "mini-target",
        durationS: 9,
        target: { host: "127.0.0.1", port: ${port} },
        ${load}
      }`,
    );
    const { run } = await runAndCheck(file);
    expect(run.versions!.switch).toMatch(/yours, already running/);
    expect(Object.keys(run.lab!.links)).toEqual(["edge"]);
  });
});
