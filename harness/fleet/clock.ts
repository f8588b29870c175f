import { performance } from "node:perf_hooks";

// The engine's clock: milliseconds since the epoch with sub-millisecond precision, monotonic within a thread
// (performance.timeOrigin + performance.now(); Date.now() has whole milliseconds and follows clock steps).
// Every intended and actual start, outcome time and deadline of the fleet is on this clock.

/** Now, ms since the epoch (fractional). */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
