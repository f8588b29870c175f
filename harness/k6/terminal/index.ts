// The terminal model (k6 side). terminal.ts, link.ts and metrics.ts import k6 modules; outcome.ts,
// schedule.ts and plan-check.ts are pure and also imported by Node (harness/load/) and its unit tests.

export { Link, type LinkFailure, type LinkReply } from "./link.ts";
export {
  posOpDuration,
  posOps,
  posRetries,
  posReversalEvents,
  posReversalsPending,
  posScheduleLag,
  posSessionChanges,
  posSignedIn,
  posSkipped,
  posTimeouts,
  recordScheduleLag,
} from "./metrics.ts";
export {
  classifySocketError,
  errorMessage,
  type NetworkOutcome,
  type SocketPhase,
  timeoutKind,
} from "./outcome.ts";
export { type RunPlanInput, resolvePlan } from "./plan-check.ts";
export {
  drawAmount,
  openStages,
  openTerminalIndex,
  pickCard,
  type Random,
  retryDelayMs,
  signInOffsetMs,
  terminalsOfVu,
  thinkTimeMs,
  tidOf,
} from "./schedule.ts";
export { type FleetContext, sleep, Terminal } from "./terminal.ts";
