import { nowMs } from "./clock.ts";
import type { PopulationFleet } from "./plan.ts";
import { type ModelRuntime, sleepUntil } from "./runtime.ts";
import { signInOffsetMs, thinkTimeMs } from "./schedule.ts";

// The population model for one segment: its terminals (i mod N = segment) each sign in at a time drawn from
// the sign-in curve, then make `purchases.perTerminal` purchases separated by think time. Starts are taken
// from one sorted list by one dispatcher, so a waiting terminal costs no timer and no closure. No operation
// starts after the deadline; long-link terminals keep their link (echoing) until then and are stopped there.
// The plan's `vus` is ignored.

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

  let running = 0;
  let allStarted = false;
  let failure: { error: unknown } | undefined;
  let finished: () => void = () => {};
  const allDone = new Promise<void>((resolve) => {
    finished = resolve;
  });
  const ended = () => {
    running--;
    recorder.noteBusy(running);
    if (running === 0 && allStarted) finished();
  };

  for (let k = 0; k < count && !ctx.aborted; k++) {
    const j = order[k]!;
    const startAt = rt.startAtMs + offsets[j]!;
    if (startAt >= ctx.deadlineMs) break;
    await sleepUntil(ctx, startAt, nowMs());
    if (ctx.aborted) break;
    recorder.recordScheduleLag(Math.max(0, nowMs() - startAt));
    running++;
    recorder.noteBusy(running);
    runTerminal(rt, fleet, slice.index + j * slice.count, startAt).then(ended, (error: unknown) => {
      failure ??= { error };
      ended();
    });
  }
  allStarted = true;
  if (running > 0) await allDone;
  if (failure !== undefined) throw failure.error;
  if (ctx.plan.terminal.mode === "long") {
    await sleepUntil(ctx, ctx.deadlineMs, nowMs());
    await Promise.all(rt.alive().map((t) => t.stop()));
  }
}

async function runTerminal(rt: ModelRuntime, fleet: PopulationFleet, index: number, startAt: number) {
  const { ctx, recorder } = rt;
  const t = rt.terminal(index);
  t.intend(startAt);
  await t.signInWithRetry();
  for (let i = 0; i < fleet.purchases.perTerminal; i++) {
    const wake = nowMs() + thinkTimeMs(fleet.purchases.thinkTimeS, ctx.random);
    if (wake >= ctx.deadlineMs || ctx.aborted) break;
    await sleepUntil(ctx, wake, nowMs());
    if (ctx.aborted) return;
    recorder.recordScheduleLag(Math.max(0, nowMs() - wake));
    t.intend(wake);
    await t.transaction();
  }
  // A long-link terminal stays on its link, echoing, until the deadline (runPopulation stops it there).
  if (ctx.plan.terminal.mode === "long") return;
  await t.stop();
  rt.release(index);
}
