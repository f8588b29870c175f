import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runK6 } from "../load/k6.ts";

// The codec runs inside the real k6 binary: harness/k6/smoke/codec-roundtrip.ts encodes, MACs, decodes and
// checks 0200 frames with harness/protocol; k6's summary must show every check passed.

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const script = "harness/k6/smoke/codec-roundtrip.ts";
const ITERATIONS = 40;

describe("harness/protocol inside k6", () => {
  it.each([
    ["sale", "cup-ecb"],
    ["sale", "x9.19"],
    ["codec", "x9.19-ascii"],
    ["codec", "none"],
  ])("%s round trips with MAC %s: every check passes", async (workload, mac) => {
    const result = await runK6({
      script,
      cwd: repo,
      env: { WORKLOAD: workload, MAC: mac, ITERATIONS: String(ITERATIONS), ROUND_TRIPS: "2" },
      timeoutMs: 60_000,
    });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.summary?.checks).toEqual({ passes: 2 * ITERATIONS, fails: 0 });
    expect(result.summary?.metrics.codec_round_trips?.values.count).toBe(2 * ITERATIONS);
    expect(result.summary?.metrics.codec_frame_bytes?.values.avg).toBe(mac === "none" ? 122 : 130);
  });

  it("rejects a bad setting at init with k6's script-error exit code", async () => {
    const result = await runK6({ script, cwd: repo, env: { MAC: "md5" }, timeoutMs: 60_000 });
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr + result.stdout).toContain("MAC=md5: expected cup-ecb, x9.19, x9.19-ascii or none");
  });
});
