import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { DEFAULT_LAB_KEY_HEX } from "../../protocol/index.ts";
import { parsePrometheus } from "../../shared/prometheus.ts";
import type { SwitchConfigInput } from "../../sim/switch/config.ts";
import { type RunningSwitch, startSwitch } from "../../sim/switch/switch.ts";
import {
  type FakeHsmOptions,
  type FakeIssuerOptions,
  startFakeHsm,
  startFakeIssuer,
} from "../../sim/switch/testing/backends.ts";
import { type Counts, countSample, newCounts } from "../counts.ts";
import type { RunPlanInput } from "../plan-check.ts";
import { parseSampleLines, type Sample } from "../samples.ts";

// Test helpers of the fleet's integration tests: the reference switch in-process with scriptable backends
// (admitting POS00001…POS<count>), plans against it, and a recount of a samples file.

export interface SwitchLab {
  sw: RunningSwitch;
  metric(key: string): number;
  close(): Promise<void>;
}

export async function startSwitchLab(
  terminals: number,
  backends: { hsm?: FakeHsmOptions; issuer?: FakeIssuerOptions } = {},
  config: SwitchConfigInput = {},
): Promise<SwitchLab> {
  const hsm = await startFakeHsm(backends.hsm);
  const issuer = await startFakeIssuer({ record: false, ...backends.issuer });
  const sw = await startSwitch(
    {
      port: 0,
      adminPort: 0,
      hsm: `127.0.0.1:${hsm.port}`,
      issuers: { "issuer-a": `127.0.0.1:${issuer.port}` },
      routes: { "62": "issuer-a", "4": "issuer-a" },
      fleet: { prefix: "POS", count: terminals },
      ...config,
    },
    { log: () => {} },
  );
  const metric = (key: string) => parsePrometheus(sw.metrics.render()).get(key) ?? 0;
  const deadline = Date.now() + 5_000;
  while (metric('switch_issuer_connections{issuer="issuer-a"}') < 1 || metric("switch_hsm_connections") < 1) {
    if (Date.now() > deadline) throw new Error("the switch did not connect to its backends within 5000ms");
    await new Promise((r) => setTimeout(r, 10));
  }
  return {
    sw,
    metric,
    close: async () => {
      await sw.close();
      await hsm.close();
      await issuer.close();
    },
  };
}

/** A plan against `port` (POS TIDs from 1); `fleet` and overrides as given. */
export function planFor(
  port: number,
  fleet: RunPlanInput["fleet"],
  overrides: Partial<RunPlanInput> = {},
): RunPlanInput {
  return {
    version: 1,
    runId: "fleet-int",
    target: { host: "127.0.0.1", port },
    labKeyHex: DEFAULT_LAB_KEY_HEX,
    terminal: { responseTimeoutMs: 5_000, connectTimeoutMs: 2_000, retry: { policy: "none" } },
    fleet,
    durationS: 3,
    ...overrides,
  };
}

/** Every record of a samples file (gunzip throws on a truncated file). */
export function readSamples(path: string): Sample[] {
  return parseSampleLines(gunzipSync(readFileSync(path)).toString("utf8"));
}

/** The counts the samples say, to compare with runFleet's totals. */
export function recount(samples: readonly Sample[]): Counts {
  const counts = newCounts();
  for (const s of samples) countSample(counts, s);
  return counts;
}
