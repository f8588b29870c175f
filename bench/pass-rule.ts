// The pass rule of an open-model rate step, one for the fleet (fleet.bench.ts) and the minimal client
// (node-open.ts): 0 dropped arrivals, at least 99.9 % approved, the achieved rate within 1 % of the target, and
// the generator not the bottleneck. Closed-loop steps pass on the approved share alone.

/** A step passes with at least this share of its sign-ins approved. */
export const PASS_APPROVED_RATIO = 0.999;

/** A rate step passes when the achieved rate is this close to the target. */
export const RATE_TOLERANCE = 0.01;

/** Why an open-model step fails the rule, one phrase each (none: it passes). */
export function rateRuleFailures(s: {
  ratePerS: number;
  achievedPerS: number;
  dropped: number;
  approvedRatio: number;
  generatorLimited: boolean;
}): string[] {
  return [
    ...(s.dropped > 0 ? [`${s.dropped} arrivals dropped`] : []),
    ...(s.approvedRatio < PASS_APPROVED_RATIO ? [`${(s.approvedRatio * 100).toFixed(2)}% approved`] : []),
    ...(Math.abs(s.achievedPerS - s.ratePerS) > s.ratePerS * RATE_TOLERANCE
      ? [`achieved ${s.achievedPerS.toFixed(1)}/s`]
      : []),
    ...(s.generatorLimited ? ["generator-limited"] : []),
  ];
}
