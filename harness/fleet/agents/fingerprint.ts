import { createHash } from "node:crypto";
import type { RunPlan } from "../plan.ts";

/**
 * What makes two plans the same load: everything but the run id and the target (each agent reaches the switch
 * at its own address). sha256 of the canonical JSON (keys sorted), hex, first 16 digits.
 */
export function planFingerprint(
  plan: Pick<RunPlan, "labKeyHex" | "terminal" | "fleet" | "durationS"> & { version?: number },
): string {
  const { labKeyHex, terminal, fleet, durationS, version } = plan;
  return createHash("sha256")
    .update(canonical({ version, labKeyHex, terminal, fleet, durationS }))
    .digest("hex")
    .slice(0, 16);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
