import { nowMs } from "./clock.ts";
import type { PopulationFleet } from "./plan.ts";
import { type ModelRuntime, sleepUntil } from "./runtime.ts";
import { signInOffsetMs, thinkTimeMs } from "./schedule.ts";
import { WakeQueue } from "./wake-queue.ts";

// The population model for one segment: its terminals (i mod N = segment) each sign in at a time drawn from
// the sign-in curve, then make `purchases.perTerminal` purchases separated by think time. One dispatcher with
// one timer starts everything: sign-ins from a sorted list, purchases from a queue of wake times
// (wake-queue.ts), so a terminal waiting to sign in or thinking costs no timer, promise or closure, only its
// Terminal (with its keys) and 16 bytes in the queue. No operation starts after the deadline; long-link
// terminals keep their link (echoing) until then and are stopped there. The plan's `vus` is ignored.

export async function runPopulation(rt: ModelRuntime, fleet: PopulationFleet): Promise<void> {
  const { ctx, recorder, slice } = rt;
  const count = fleet.terminals <= slice.index ? 0 : Math.ceil((fleet.terminals - slice.index) / slice.count);
  const offsets = new Float64Array(count);
  const order = new Int32Array(count);
  for (let j = 0; j < count; j++) {
    offsets[j] = signInOffsetMs(fleet.signIn, ctx.random);
    order[j] = j;
  }
  order.sort((a, b) => offsets[a]! - offsets[b]!);
  const indexOf = (j: number) => slice.index + j * slice.count;
  const long = ctx.plan.terminal.mode === "long";

  const wakes = new WakeQueue(count);
  const popped = { terminal: 0, count: 0 };
  let next = 0; // the next sign-in, in `order`
  // Terminals started and not done: in an operation or thinking (in `wakes`).
  let running = 0;
  let failure: { error: unknown } | undefined;
  let settle: () => void = () => {};
  const allDone = new Promise<void>((resolve) => {
    settle = resolve;
  });
  let cancelTimer: (() => void) | undefined;
  let armedAt = Number.POSITIVE_INFINITY;

  const nextSignInAt = () => {
    if (next >= count || ctx.aborted) return Number.POSITIVE_INFINITY;
    const at = rt.startAtMs + offsets[order[next]!]!;
    return at < ctx.deadlineMs ? at : Number.POSITIVE_INFINITY;
  };
  const settleWhenDone = () => {
    if (running === 0 && nextSignInAt() === Number.POSITIVE_INFINITY) settle();
  };
  const done = () => {
    running--;
    recorder.noteBusy(running);
    settleWhenDone();
  };
  const fail = (error: unknown) => {
    failure ??= { error };
    done();
  };

  /** After a terminal's sign-in (`purchases` = 0) or its purchases-th purchase: think, or finish. */
  const after = (j: number, purchases: number) => {
    if (purchases < fleet.purchases.perTerminal && !ctx.aborted) {
      const wake = nowMs() + thinkTimeMs(fleet.purchases.thinkTimeS, ctx.random);
      if (wake < ctx.deadlineMs) {
        wakes.push(wake, j, purchases);
        arm();
        return;
      }
    }
    // A long-link terminal stays on its link, echoing, until the deadline (stopped below).
    if (long) return done();
    const index = indexOf(j);
    rt.terminal(index)
      .stop()
      .then(() => {
        rt.release(index);
        done();
      }, fail);
  };

  /** Terminal j, due at `at`: its lateness recorded, its next operation's latency counted from `at`. */
  const due = (j: number, at: number) => {
    recorder.recordScheduleLag(Math.max(0, nowMs() - at));
    const t = rt.terminal(indexOf(j));
    t.intend(at);
    return t;
  };
  const signIn = (j: number, at: number) => {
    running++;
    recorder.noteBusy(running);
    due(j, at)
      .signInWithRetry()
      .then(() => after(j, 0), fail);
  };
  const purchase = (j: number, purchases: number, at: number) =>
    due(j, at)
      .transaction()
      .then(() => after(j, purchases + 1), fail);

  /** Starts everything due, in time order, then sets the timer for what comes next. */
  const dispatch = () => {
    cancelTimer = undefined;
    armedAt = Number.POSITIVE_INFINITY;
    if (ctx.aborted) {
      // Thinking terminals are done; the abort has destroyed every link.
      while (wakes.size > 0) {
        wakes.pop(popped);
        done();
      }
      return settleWhenDone();
    }
    for (;;) {
      const signInAt = nextSignInAt();
      const wakeAt = wakes.peekTime();
      if (Math.min(signInAt, wakeAt) > nowMs()) break;
      if (signInAt <= wakeAt) signIn(order[next++]!, signInAt);
      else {
        wakes.pop(popped);
        purchase(popped.terminal, popped.count, wakeAt);
      }
    }
    arm();
    settleWhenDone();
  };
  /**
   * Sets the one timer for the earliest of the next sign-in and the next wake, unless it is set for that time
   * or earlier already. Node's timers may fire up to 1 ms early; dispatch then finds nothing due and sets it
   * again.
   */
  const arm = () => {
    const at = Math.min(nextSignInAt(), wakes.peekTime());
    if (at >= armedAt) return;
    cancelTimer?.();
    armedAt = at;
    cancelTimer = ctx.timer(Math.max(0, at - nowMs()), dispatch);
  };

  arm();
  settleWhenDone();
  await allDone;
  cancelTimer?.();
  if (failure !== undefined) throw failure.error;
  if (long) {
    await sleepUntil(ctx, ctx.deadlineMs, nowMs());
    await Promise.all(rt.alive().map((t) => t.stop()));
  }
}
