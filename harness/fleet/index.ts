// harness/fleet: posstorm's own fleet engine (README.md beside this file). The terminal model on node:net,
// the population and open load models, segments in worker threads, merged per-second histograms, raw samples
// as gzipped NDJSON, and the generator's self-watch.

export { type AgentOptions, type AgentServer, serveAgent } from "./agents/agent.ts";
export { planFingerprint } from "./agents/fingerprint.ts";
export { AGENT_PORT, parseHostPort } from "./agents/protocol.ts";
export { AgentConnection, type AgentFacts, connectAgents } from "./agents/remote.ts";
export { TEST_HOST_LINK_PREFIX, targetAllowance } from "./agents/test-hosts.ts";
export { ArrivalSchedule, arrivalTimesMs, stripeShare } from "./arrivals.ts";
export { type FleetConditions, FleetControl, NO_CONDITIONS } from "./conditions.ts";
export { type FleetOptions, type FleetResult, runFleet } from "./coordinator.ts";
export {
  addCounts,
  type Counts,
  countSample,
  NO_CODE,
  newCounts,
  type OutcomeCounts,
  opsCounted,
  outcomeCounts,
  type TimeoutCounts,
  timeoutsOf,
} from "./counts.ts";
export {
  GENERATOR_BOUNDS,
  type GeneratorBounds,
  type GeneratorReason,
  type GeneratorVerdict,
  judgeGenerator,
} from "./generator-limits.ts";
export { decodeHistogram, encodeHistogram, type Histogram, percentileOf } from "./histogram.ts";
export { type LatencyHistograms, type LatencySummary, type MergedSecond, summarize } from "./merge.ts";
export { classifyNetError } from "./net-errors.ts";
export type { Recorder, ReversalEvent, SessionChange, SkipReason, UnsettledPurchase } from "./recorder.ts";
export {
  type DroppedSample,
  type EventSample,
  isOperationSample,
  type OperationSample,
  parseSampleLines,
  type RetrySample,
  type ReversalSample,
  type Sample,
  type SessionSample,
  type SkippedSample,
  type UnsettledSample,
} from "./samples.ts";
export type { SamplesFileStats } from "./samples-file.ts";
export { runSegment, SAMPLE_BATCH_MS } from "./segment.ts";
export {
  describePriority,
  raiseThreadPriority,
  type ThreadPriority,
  wantedRtPriority,
} from "./thread-priority.ts";
export type { SegmentInput, SegmentReport, SegmentSlice, WatchSecond, WireSecond } from "./wire.ts";
