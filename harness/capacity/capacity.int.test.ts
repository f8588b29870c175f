import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { profileFile } from "../profile/testing/profile-file.ts";
import { type CapacityResult, runCapacity } from "./capacity.ts";

// `posstorm capacity` on the reference lab, against answers known by construction: an HSM cut to 300 calls/s
// caps sign-ins at 300/s; 8 issuer workers × 40 ms cap purchases at 200/s. Each must be found within ±10 % and
// the resource named. A step the generator limits (too few terminals for a slow HSM) is inconclusive.

const reports = () => mkdtempSync(join(tmpdir(), "posstorm-capacity-"));
const window = { warmupS: 2, steadyS: 4 };

/** The band's middle: the answer quoted as `mid ± half`. */
const middle = (r: CapacityResult) => (r.band!.low + (r.band!.high ?? r.band!.low)) / 2;

describe("posstorm capacity", () => {
  it("finds sign-in capacity at the HSM's 300 calls/s (±10 %) and names the HSM", async () => {
    const profile = profileFile(
      "cap-hsm",
      `{
        name: "cap-hsm",
        durationS: 10,
        lab: { runtime: "containers", hsm: { capacityPerSecond: 300 } },
        terminal: { responseTimeoutMs: 3000, connectTimeoutMs: 2000 },
        fleet: { model: "open", operation: "signin", stages: [{ durationS: 10, ratePerS: 100 }], maxVUs: 500 },
        slos: [
          { id: "signin-p99", indicator: "latency", percentile: "p99", scope: { operation: "signin" }, objective: { max: 250 } },
          { id: "signin-success", indicator: "success-rate", scope: { operation: "signin" }, objective: { min: 0.99 } },
          { id: "recovery", indicator: "recovery-time", objective: { max: 10 } },
        ],
      }`,
    );
    const result = await runCapacity({
      profile,
      reportsDir: reports(),
      search: { startRate: 150, precision: 0.05, repeats: 1 },
      window,
      minRate: 250,
      log: () => undefined,
    });
    expect(result.stoppedBy).toBe("converged");
    expect(result.verdict).toMatchObject({ status: "pass", exitCode: 0 });
    expect(Math.abs(middle(result) - 300) / 300).toBeLessThanOrEqual(0.1);
    expect(result.saturated?.resource).toBe("hsm");
    // The recovery-time SLO needs a fault: left out and said so, not judged as no-data.
    expect(result.sloLeftOut).toEqual(["recovery"]);
    // The boundary ran more than once: a band, not a point.
    const boundary = result.steps.filter((s) => s.rate === result.band!.low);
    expect(boundary.length).toBeGreaterThanOrEqual(2);
    expect(result.band!.high).toBeGreaterThan(result.band!.low);
    for (const file of ["capacity.json", "summary.md", "verdict.json", "junit.xml", "report.html"]) {
      expect(existsSync(join(result.dir, file)), file).toBe(true);
    }
    expect(readFileSync(join(result.dir, "summary.md"), "utf8")).toContain("hsm saturated first");
    expect(JSON.parse(readFileSync(join(result.dir, "verdict.json"), "utf8"))).toMatchObject({
      status: "pass",
      capacity: result.capacity,
      saturatedFirst: { resource: "hsm" },
    });
    // A step's figures recount from its raw samples: sign-ins that ended in the judged window, per second.
    const step = result.steps.find((s) => s.status === "pass")!;
    const samples = gunzipSync(readFileSync(join(result.dir, step.dir, "samples.ndjson.gz")))
      .toString("utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { t: number; op?: string; ms?: number });
    const endedInWindow = samples.filter((s) => {
      if (s.op !== "signin" || s.ms === undefined) return false;
      const endS = (s.t + s.ms) / 1000;
      return endS >= window.warmupS && endS < window.warmupS + window.steadyS;
    }).length;
    expect(step.throughput).toBeCloseTo(endedInWindow / window.steadyS, 0);
  });

  it("finds purchase capacity at 8 issuer workers × 40 ms = 200/s (±10 %) and names the issuer", async () => {
    const profile = profileFile(
      "cap-issuer",
      `{
        name: "cap-issuer",
        durationS: 10,
        lab: {
          runtime: "containers",
          issuers: { a: { medianMs: 40, p99Ms: 40, workers: 8 }, b: { medianMs: 40, p99Ms: 40, workers: 8 } },
        },
        terminal: {
          responseTimeoutMs: 3000,
          connectTimeoutMs: 2000,
          cards: [{ pan: "6222020000000001234", weight: 1 }],
        },
        fleet: { model: "open", operation: "purchase", stages: [{ durationS: 10, ratePerS: 100 }], maxVUs: 500 },
        slos: [
          { id: "purchase-p99", indicator: "latency", percentile: "p99", scope: { operation: "purchase" }, objective: { max: 300 } },
          { id: "purchase-success", indicator: "success-rate", scope: { operation: "purchase" }, objective: { min: 0.99 } },
          { id: "one-sided", indicator: "one-sided", objective: { max: 0 } },
        ],
      }`,
    );
    const result = await runCapacity({
      profile,
      reportsDir: reports(),
      search: { startRate: 100, precision: 0.05, repeats: 1 },
      window,
      log: () => undefined,
    });
    expect(result.stoppedBy).toBe("converged");
    expect(Math.abs(middle(result) - 200) / 200).toBeLessThanOrEqual(0.1);
    expect(result.saturated?.resource).toBe("issuer-a");
    // Above the capacity the issuer's queue grew; below it, it did not.
    const failed = result.steps.find((s) => s.status === "fail")!;
    const issuerAtFail = failed.resources.find((r) => r.resource === "issuer-a")!;
    expect(issuerAtFail.saturated).toBe(true);
    const first = result.steps[0]!;
    expect(first.status).toBe("pass");
    expect(first.resources.find((r) => r.resource === "issuer-a")!.saturated).toBe(false);
  });

  it("calls a step the generator limited inconclusive, never a pass, and exits 2", async () => {
    // 3 terminals and an HSM that takes 100 ms per sign-in serve 30 sign-ins/s: at 60/s arrivals are dropped.
    const profile = profileFile(
      "cap-generator",
      `{
        name: "cap-generator",
        durationS: 10,
        lab: { runtime: "containers", hsm: { serviceTimeMs: 100 } },
        terminal: { responseTimeoutMs: 3000, connectTimeoutMs: 2000 },
        fleet: { model: "open", operation: "signin", stages: [{ durationS: 10, ratePerS: 60 }], maxVUs: 3 },
        slos: [{ id: "signin-success", indicator: "success-rate", scope: { operation: "signin" }, objective: { min: 0.5 } }],
      }`,
    );
    const result = await runCapacity({
      profile,
      reportsDir: reports(),
      search: { startRate: 60 },
      window,
      maxTerminals: 3,
      log: () => undefined,
    });
    // Run again once (a passing disturbance would not repeat), inconclusive both times: the search stops there.
    expect(result.steps).toHaveLength(2);
    expect(result.steps[0]).toMatchObject({ status: "inconclusive", rate: 60 });
    expect(result.steps[1]).toMatchObject({ status: "inconclusive", rate: 60, purpose: "retry" });
    expect(result.steps[0]!.generator.join(" ")).toMatch(/dropped/);
    expect(result.stoppedBy).toBe("inconclusive");
    expect(result.capacity).toBeNull();
    expect(result.verdict).toMatchObject({ status: "inconclusive", exitCode: 2 });
    expect(result.verdict.notes.join(" ")).toMatch(/generator-limited/);
  });
});
