import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { listManaged } from "../lab/runtime/containers.ts";
import { REPO_ROOT } from "../shared/repo.ts";

// `posstorm selftest` as a user runs it: a child process, its exit code and its run folder.

function selftest(reportsDir: string, extra: string[], onLine?: (line: string, kill: () => void) => void) {
  const child = spawn(join(REPO_ROOT, "bin/posstorm"), ["selftest", "--reports-dir", reportsDir, ...extra], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk;
    for (const line of String(chunk).split("\n")) onLine?.(line, () => child.kill("SIGINT"));
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk;
  });
  return new Promise<{ code: number | null; output: string }>((resolve) =>
    child.once("exit", (code) => resolve({ code, output })),
  );
}

const runDir = (reportsDir: string) => join(reportsDir, readdirSync(reportsDir)[0]!);

describe("posstorm selftest", () => {
  it("passes on the real parts and writes its report", async () => {
    const reports = mkdtempSync(join(tmpdir(), "posstorm-selftest-"));
    const { code, output } = await selftest(reports, ["--iterations", "20"]);
    expect(output).toMatch(/PASS: the 300 ms fault added \d+\.\d ms/);
    expect(code).toBe(0);
    const result = JSON.parse(readFileSync(join(runDir(reports), "selftest.json"), "utf8"));
    expect(result.phases.map((p: { name: string }) => p.name)).toEqual(["baseline", "fault", "recovery"]);
    expect(result.phases[1].p50Ms - result.phases[0].p50Ms).toBeGreaterThanOrEqual(270);
    expect(existsSync(join(runDir(reports), "summary.md"))).toBe(true);
  });

  it("exits 1 when the terminals cannot measure the fault (5 s latency meets the 5 s response timer)", async () => {
    const reports = mkdtempSync(join(tmpdir(), "posstorm-selftest-"));
    const { code, output } = await selftest(reports, [
      "--latency-ms",
      "5000",
      "--iterations",
      "2",
      "--terminals",
      "1",
    ]);
    // 5 s latency meets the terminals' 5 s response timer: the fault's sign-in times out.
    expect(output).toMatch(/FAIL:/);
    expect(code).toBe(1);
  });

  it("Ctrl-C mid-run writes a partial report, removes its containers and exits 2", async () => {
    const reports = mkdtempSync(join(tmpdir(), "posstorm-selftest-"));
    let sent = false;
    const { code, output } = await selftest(
      reports,
      ["--iterations", "30", "--terminals", "1"],
      (line, kill) => {
        if (!sent && line.includes("baseline")) {
          sent = true;
          kill();
        }
      },
    );
    expect(sent).toBe(true);
    expect(code).toBe(2);
    expect(output).toMatch(/interrupted; partial report/);
    const result = JSON.parse(readFileSync(join(runDir(reports), "selftest.json"), "utf8"));
    expect(result.verdict).toMatch(/^INTERRUPTED/);
    expect(result.phases.length).toBeGreaterThanOrEqual(1);
    const session = result.runId as string;
    expect((await listManaged()).filter((c) => c.session === session)).toEqual([]);
  });
});
