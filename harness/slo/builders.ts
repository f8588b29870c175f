import type { Operation } from "../fleet/plan.ts";
import type { Slo, SloScope } from "./definitions.ts";

// Shorthands for the SLOs profiles write most, giving the same objects as written out: an id from the operation
// (`purchase-timeouts`) unless `id` names it, a phase or a worst window when given, a warning level.

export interface SloOptions {
  id?: string;
  phase?: SloScope["phase"];
  window?: SloScope["window"];
  /** A stricter level than the objective (same direction): beyond it is a warning. */
  warn?: number;
}

function scoped(operation: Operation, o: SloOptions): SloScope {
  return { operation, ...(o.phase ? { phase: o.phase } : {}), ...(o.window ? { window: o.window } : {}) };
}

const atMost =
  (indicator: "timeout-rate" | "error-rate", suffix: string) =>
  (operation: Operation, max: number, o: SloOptions = {}): Slo => ({
    id: o.id ?? `${operation}-${suffix}`,
    indicator,
    scope: scoped(operation, o),
    objective: { max },
    ...(o.warn !== undefined ? { warn: { max: o.warn } } : {}),
  });

export const slo = {
  /** Timed-out attempts of `operation` / attempts ≤ max (0.005 = 0.5 %). Id `<operation>-timeouts`. */
  timeouts: atMost("timeout-rate", "timeouts"),
  /** Failed attempts that are not timeouts / attempts ≤ max. Id `<operation>-errors`. */
  errors: atMost("error-rate", "errors"),
  /** Approved / attempts ≥ min. Id `<operation>-success`. */
  success: (operation: Operation, min: number, o: SloOptions = {}): Slo => ({
    id: o.id ?? `${operation}-success`,
    indicator: "success-rate",
    scope: scoped(operation, o),
    objective: { min },
    ...(o.warn !== undefined ? { warn: { min: o.warn } } : {}),
  }),
  /** The 99th percentile of `operation`'s duration ≤ max ms. Id `<operation>-p99`. */
  p99: (operation: Operation, maxMs: number, o: SloOptions = {}): Slo => ({
    id: o.id ?? `${operation}-p99`,
    indicator: "latency",
    percentile: "p99",
    scope: scoped(operation, o),
    objective: { max: maxMs },
    ...(o.warn !== undefined ? { warn: { max: o.warn } } : {}),
  }),
  /** No transaction approved by the issuer, never reversed, and not seen approved by the terminal. */
  oneSided: (): Slo => ({ id: "one-sided", indicator: "one-sided", objective: { max: 0 } }),
};
