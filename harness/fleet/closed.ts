import { stripeShare } from "./arrivals.ts";
import { nowMs } from "./clock.ts";
import type { ClosedFleet } from "./plan.ts";
import type { ModelRuntime } from "./runtime.ts";

// The closed model for one segment: its share of the loops (loop k of the segment is fleet loop
// slice.index + k × N), each running one operation after another until the deadline. Local loop k takes turns
// on the segment's terminals k, k + loops, k + 2 × loops, … (fleet index = slice.index + j × N), so no terminal
// runs two operations at once. An operation started before the deadline completes its chain (`started`).

export async function runClosed(rt: ModelRuntime, fleet: ClosedFleet): Promise<void> {
  const { ctx, recorder, slice } = rt;
  const terminals = stripeShare(fleet.terminals ?? ctx.plan.terminal.count, slice.index, slice.count);
  const loops = Math.min(terminals, stripeShare(fleet.vus, slice.index, slice.count));
  let busy = 0;

  const loop = async (k: number) => {
    let j = k;
    while (!ctx.aborted && nowMs() < ctx.deadlineMs) {
      const t = rt.terminal(slice.index + j * slice.count);
      j = j + loops < terminals ? j + loops : k;
      t.intend(nowMs());
      busy++;
      recorder.noteBusy(busy);
      try {
        if (fleet.operation === "signin") await t.signInWithRetry(true);
        else await t.transaction(true);
      } finally {
        busy--;
      }
    }
  };
  // Every loop ends before a failure is thrown, as in the other models.
  const ended = await Promise.allSettled(Array.from({ length: loops }, (_, k) => loop(k)));
  const failed = ended.find((e) => e.status === "rejected");
  if (failed) throw failed.reason;
}
