import type { StartedTimeline } from "../timeline.ts";

/**
 * Test fixtures' wait for a timeline whose faults all start at 0: polls until every fault is active or
 * `timeoutMs` passes; returns the records that are not active (empty when all took).
 */
export async function awaitAllActive(timeline: StartedTimeline, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (timeline.records().some((r) => r.status !== "active") && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return timeline.records().filter((r) => r.status !== "active");
}
