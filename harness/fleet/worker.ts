import { parentPort, workerData } from "node:worker_threads";
import { type FleetConditions, NO_CONDITIONS } from "./conditions.ts";
import { errorMessage } from "./outcome.ts";
import { runSegment } from "./segment.ts";
import { raiseThreadPriority } from "./thread-priority.ts";
import type { CoordinatorMessage, SegmentMessage } from "./wire.ts";

// Worker-thread entry of one segment (Node runs this .ts file by type stripping). Protocol: post `ready`;
// on `start` run the segment, posting samples and ticks, then `done` (or `error`); `abort` stops it early;
// `conditions` changes what its terminals meet (fleet-side faults).
// workerData: { segment: number } (for messages posted before `start`).

const port = parentPort;
if (port === null)
  throw new Error("harness/fleet/worker.ts runs as a worker thread (new Worker), not as a script");
const segment = (workerData as { segment: number }).segment;
const post = (message: SegmentMessage) => port.postMessage(message);
const priority = raiseThreadPriority();
const controller = new AbortController();
const conditions: { current: FleetConditions } = { current: NO_CONDITIONS };

port.on("message", (message: CoordinatorMessage) => {
  if (message.type === "abort") {
    controller.abort();
    return;
  }
  if (message.type === "conditions") {
    conditions.current = message.conditions;
    return;
  }
  runSegment(message.input, post, controller.signal, conditions).then(
    (report) => post({ type: "done", segment, report: { ...report, priority } }),
    (error: unknown) =>
      post({
        type: "error",
        segment,
        message: errorMessage(error),
        stack: error instanceof Error ? error.stack : undefined,
      }),
  );
});
post({ type: "ready", segment });
