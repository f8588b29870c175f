import { SYSTEM_ERROR_CODES } from "../protocol/index.ts";
import { PERCENTILES, type Percentile, TIMEOUT_KINDS, type TimeoutKind } from "../slo/index.ts";
import { type CountTable, countOver, perSlot, type RunSeries, type Slots } from "./series.ts";

// What counts as a timeout, an error and a success: the definitions every figure of the report shares.
// An attempt is one operation with its one outcome (pos_ops); rates are fractions of attempts (0.01 = 1 %).

export { PERCENTILES, type Percentile, TIMEOUT_KINDS, type TimeoutKind };

/** Outcomes that are neither a timeout nor a reply: the connection or the reply failed. */
export const ERROR_OUTCOMES: readonly string[] = ["refused", "reset", "closed", "protocol", "mac"];

/** F39 codes that count as errors, not business declines: the protocol's table (RESPONSE_CODES). */
export { SYSTEM_ERROR_CODES };

export type RateIndicator = "timeout-rate" | "error-rate" | "success-rate";

export interface RateDefinition {
  indicator: RateIndicator;
  /** timeout-rate only: one kind, or all (default). */
  kind?: TimeoutKind | "all";
}

interface Term {
  table: (s: RunSeries) => CountTable;
  key: (k: string) => boolean;
}

const outcomes = (s: RunSeries) => s.ops;
const codes = (s: RunSeries) => s.codes;

function termsOf(def: RateDefinition): Term[] {
  switch (def.indicator) {
    case "timeout-rate": {
      const kind = def.kind ?? "all";
      return [
        {
          table: outcomes,
          key: (k) => (kind === "all" ? k.startsWith("timeout.") : k === `timeout.${kind}`),
        },
      ];
    }
    case "error-rate":
      return [
        { table: outcomes, key: (k) => ERROR_OUTCOMES.includes(k) },
        { table: codes, key: (k) => SYSTEM_ERROR_CODES.includes(k) },
      ];
    case "success-rate":
      return [{ table: outcomes, key: (k) => k === "approved" }];
  }
}

export interface RateCounts {
  /** Attempts that count against (timeouts, errors) or for (successes) the indicator. */
  events: number;
  attempts: number;
}

/** Events and attempts of one operation (all when undefined) over the slots. */
export function rateCounts(series: RunSeries, def: RateDefinition, slots: Slots, op?: string): RateCounts {
  let events = 0;
  for (const term of termsOf(def)) events += countOver(term.table(series), slots, op, term.key);
  return { events, attempts: countOver(series.ops, slots, op) };
}

/** Per-slot events and attempts, for windows and charts. */
export function rateSeries(
  series: RunSeries,
  def: RateDefinition,
  op?: string,
): { events: number[]; attempts: number[] } {
  const events = new Array<number>(series.slots).fill(0);
  for (const term of termsOf(def)) {
    const values = perSlot(series, term.table(series), op, term.key);
    for (let i = 0; i < series.slots; i++) events[i]! += values[i]!;
  }
  return { events, attempts: perSlot(series, series.ops, op) };
}

export const ratio = (c: RateCounts): number | null => (c.attempts === 0 ? null : c.events / c.attempts);
