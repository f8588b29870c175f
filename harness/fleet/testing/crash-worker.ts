import { parentPort, workerData } from "node:worker_threads";

// A worker entry for runFleet's crash test: it says it is ready like worker.ts, then segment 1 throws
// (uncaught) when told to start; the other segments wait forever.

const segment = (workerData as { segment: number }).segment;
parentPort?.on("message", (message: { type: string }) => {
  if (message.type === "start" && segment === 1) throw new Error("boom in the test worker");
});
parentPort?.postMessage({ type: "ready", segment });
