import { phasesOf } from "../chaos/index.ts";
import type { CompiledRun } from "../profile/compile.ts";

// A rehearsal (game day): the profile's load kept up until someone stops it or `maxS` passes, with the
// planned timeline if any, and faults by hand through the live view or `posstorm chaos apply --run`.

/** Purchases a population-model terminal makes in a rehearsal: as many as its pace allows until the end. */
export const REHEARSAL_PURCHASES = 1_000_000_000;

/**
 * The compiled run of a rehearsal: the load of `compiled` stretched to `maxS` — population terminals keep
 * buying at their own pace, an open model's last stage goes on at its rate, a closed model's loops go on — and
 * whole-run conditions (a network preset) stretched with it. Throws when the planned timeline outlasts maxS.
 */
export function rehearsalRun(compiled: CompiledRun, maxS: number): CompiledRun {
  if (!(Number.isFinite(maxS) && maxS > 0)) throw new Error(`rehearse: --max-s ${maxS} must be above 0`);
  if (maxS < compiled.durationS) {
    throw new Error(
      `rehearse: --max-s ${maxS} is shorter than the profile's load (${compiled.durationS} s, its timeline within it); give at least ${compiled.durationS}`,
    );
  }
  const fleet = compiled.fleet;
  const extra = maxS - compiled.durationS;
  const stretched =
    fleet.model === "population"
      ? { ...fleet, purchases: { ...fleet.purchases, perTerminal: REHEARSAL_PURCHASES } }
      : fleet.model === "open"
        ? {
            ...fleet,
            stages: fleet.stages.map((s, i) =>
              i === fleet.stages.length - 1 ? { ...s, durationS: s.durationS + extra } : s,
            ),
          }
        : fleet;
  const timeline = compiled.timeline.map((e) => (e.condition ? { ...e, for: maxS } : e));
  return { ...compiled, durationS: maxS, fleet: stretched, timeline, phases: phasesOf(timeline, maxS) };
}
