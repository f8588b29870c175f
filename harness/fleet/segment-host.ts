import { Worker } from "node:worker_threads";
import { type FleetConditions, NO_CONDITIONS } from "./conditions.ts";
import { errorMessage } from "./outcome.ts";
import { runSegment } from "./segment.ts";
import type { CoordinatorMessage, SegmentInput, SegmentMessage } from "./wire.ts";

// Where a segment runs, behind one shape: a worker thread (worker.ts) or the coordinator's own thread. The
// host delivers the segment's messages in order to `onMessage` and its failures to `onFailure` (once).

export interface SegmentHost {
  readonly index: number;
  /** Resolves once the segment can start (its worker loaded its modules). */
  readonly ready: Promise<void>;
  start(input: SegmentInput): void;
  /** Asks the segment to stop now (it still posts what it recorded and `done`). */
  abort(): void;
  /** What its terminals meet from now on (fleet-side faults). */
  setConditions(conditions: FleetConditions): void;
  /** Ends the thread (workers); idempotent. */
  terminate(): Promise<void>;
}

export interface HostEvents {
  onMessage(message: SegmentMessage): void;
  onFailure(index: number, error: Error): void;
}

/** The default worker entry, beside this file. */
export const WORKER_ENTRY = new URL("./worker.ts", import.meta.url);

export function workerHost(
  index: number,
  count: number,
  events: HostEvents,
  entry = WORKER_ENTRY,
): SegmentHost {
  const name = `fleet segment ${index} of ${count} (worker thread)`;
  const worker = new Worker(entry, { workerData: { segment: index }, name: `posstorm-fleet-${index}` });
  let finished = false;
  let terminated: Promise<void> | undefined;
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  const fail = (error: Error) => {
    if (finished) return;
    finished = true;
    events.onFailure(index, error);
  };
  worker.on("message", (message: SegmentMessage) => {
    if (message.type === "ready") markReady();
    if (message.type === "done") finished = true;
    if (message.type === "error") {
      const error = new Error(`${name} failed: ${message.message}`);
      if (message.stack !== undefined) error.stack = `${error.message}\n  in the worker: ${message.stack}`;
      fail(error);
      return;
    }
    events.onMessage(message);
  });
  worker.on("error", (error) => fail(new Error(`${name} crashed: ${errorMessage(error)}`, { cause: error })));
  worker.on("messageerror", (error) =>
    fail(new Error(`${name} sent a message that does not deserialize`, { cause: error })),
  );
  worker.on("exit", (code) => {
    if (terminated === undefined) fail(new Error(`${name} exited with code ${code} before it finished`));
  });
  const post = (message: CoordinatorMessage) => worker.postMessage(message);
  return {
    index,
    ready,
    start: (input) => post({ type: "start", input }),
    abort: () => post({ type: "abort" }),
    setConditions: (conditions) => post({ type: "conditions", conditions }),
    terminate: () => {
      terminated ??= worker.terminate().then(() => undefined);
      finished = true;
      return terminated;
    },
  };
}

export function inProcessHost(index: number, count: number, events: HostEvents): SegmentHost {
  const name = `fleet segment ${index} of ${count} (in-process)`;
  const controller = new AbortController();
  const conditions: { current: FleetConditions } = { current: NO_CONDITIONS };
  let finished = false;
  return {
    index,
    ready: Promise.resolve(),
    setConditions: (next) => {
      conditions.current = next;
    },
    start: (input) => {
      runSegment(input, (message) => events.onMessage(message), controller.signal, conditions).then(
        (report) => {
          finished = true;
          events.onMessage({ type: "done", segment: index, report });
        },
        (error: unknown) => {
          if (finished) return;
          finished = true;
          events.onFailure(index, new Error(`${name} failed: ${errorMessage(error)}`, { cause: error }));
        },
      );
    },
    abort: () => controller.abort(),
    terminate: async () => {
      controller.abort();
    },
  };
}
