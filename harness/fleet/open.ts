import { ArrivalSchedule, stripeShare } from "./arrivals.ts";
import { nowMs } from "./clock.ts";
import type { OpenFleet } from "./plan.ts";
import { type ModelRuntime, sleepUntil } from "./runtime.ts";

// The open model for one segment: arrivals at the exact times of the rate curve (arrivals.ts), arrival k to
// segment k mod N, so each segment sees the whole curve at rate / N. An arrival takes the longest-idle free
// terminal of the segment and runs one operation on it (a purchase signs in first when needed); one that
// finds none free, or the segment's share of maxVUs busy, is dropped and counted, never queued. Latency is
// measured from the arrival's intended time, so a late start shows (no coordinated omission).
// preAllocatedVUs is ignored.

export async function runOpen(rt: ModelRuntime, fleet: OpenFleet): Promise<void> {
  const { ctx, recorder, slice } = rt;
  const plan = ctx.plan;
  const terminals = stripeShare(fleet.terminals ?? plan.terminal.count, slice.index, slice.count);
  const cap = Math.min(terminals, stripeShare(fleet.maxVUs, slice.index, slice.count));
  // Free terminals (local numbers j: fleet index = slice.index + j × slice.count), oldest-freed first.
  const free = new Int32Array(Math.max(1, terminals));
  let head = 0;
  let size = terminals;
  for (let j = 0; j < terminals; j++) free[j] = j;

  let busy = 0;
  let allStarted = false;
  let failure: { error: unknown } | undefined;
  let finished: () => void = () => {};
  const allDone = new Promise<void>((resolve) => {
    finished = resolve;
  });
  const release = (j: number) => {
    free[(head + size) % free.length] = j;
    size++;
    busy--;
    if (busy === 0 && allStarted) finished();
  };

  const schedule = new ArrivalSchedule(fleet.stages, plan.durationS, slice.index, slice.count);
  for (let offset = schedule.next(); offset !== undefined && !ctx.aborted; offset = schedule.next()) {
    const intended = rt.startAtMs + offset;
    await sleepUntil(ctx, intended, nowMs());
    if (ctx.aborted) break;
    if (busy >= cap || size === 0) {
      recorder.recordDropped(fleet.operation, intended);
      continue;
    }
    recorder.recordScheduleLag(Math.max(0, nowMs() - intended));
    const j = free[head]!;
    head = (head + 1) % free.length;
    size--;
    busy++;
    recorder.noteBusy(busy);
    const t = rt.terminal(slice.index + j * slice.count);
    t.intend(intended);
    // An arrival scheduled before the deadline completes its operation (`started`).
    const operation = fleet.operation === "signin" ? t.signInWithRetry(true) : t.transaction(true);
    operation.then(
      () => release(j),
      (error: unknown) => {
        failure ??= { error };
        release(j);
      },
    );
  }
  allStarted = true;
  if (busy > 0) await allDone;
  if (failure !== undefined) throw failure.error;
}
