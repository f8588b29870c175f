import type { OpenFleet, PopulationFleet, RetryPolicy, TerminalSettings } from "../plan.ts";

// Pure parts of the fleet: when terminals sign in, how long they think, how long they wait before a retry,
// which terminals a VU drives, what a purchase buys. Randomness comes in as `random` (uniform [0, 1)), so
// Node tests pin it. No k6 imports.

export type Random = () => number;

/**
 * Milliseconds to wait before sign-in retry `retry` (1 = the first retry), or undefined when the policy allows
 * no further attempt (`none`, or `maxAttempts` attempts made: `retry` ≥ maxAttempts).
 */
export function retryDelayMs(
  policy: RetryPolicy,
  retry: number,
  random: Random = Math.random,
): number | undefined {
  if (policy.policy === "none" || retry < 1 || retry >= policy.maxAttempts) return undefined;
  switch (policy.policy) {
    case "immediate":
      return 0;
    case "fixed":
      return policy.delayMs;
    case "exponential": {
      // 2^(retry-1) overflows to Infinity for huge counts; min() keeps the cap.
      const capped = Math.min(policy.maxDelayMs, policy.delayMs * 2 ** (retry - 1));
      return capped / 2 + random() * (capped / 2);
    }
  }
}

/** A standard normal draw (Box-Muller). */
function standardNormal(random: Random): number {
  let u = 0;
  while (u === 0) u = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/**
 * When a terminal signs in, ms from the scenario start: uniform over the window, or normal around the peak
 * (rejection-sampled into [0, windowS]; after 100 misses, clamped).
 */
export function signInOffsetMs(signIn: PopulationFleet["signIn"], random: Random = Math.random): number {
  const windowMs = Math.max(0, signIn.windowS) * 1000;
  if (signIn.curve === "uniform") return random() * windowMs;
  const peakMs = (signIn.peakAtS ?? signIn.windowS / 2) * 1000;
  const sigmaMs = (signIn.sigmaS ?? signIn.windowS / 6) * 1000;
  let x = peakMs;
  for (let i = 0; i < 100; i++) {
    x = peakMs + sigmaMs * standardNormal(random);
    if (x >= 0 && x <= windowMs) return x;
  }
  return Math.min(windowMs, Math.max(0, x));
}

/** Think time before a purchase, ms: uniform in mean ± jitter seconds, at least 0. */
export function thinkTimeMs(
  thinkTimeS: { mean: number; jitter: number },
  random: Random = Math.random,
): number {
  return Math.max(0, (thinkTimeS.mean + (2 * random() - 1) * thinkTimeS.jitter) * 1000);
}

/** Terminal indexes (0-based) driven by VU `vu` (1-based) of `vus`: i with i mod vus = vu - 1. */
export function terminalsOfVu(terminals: number, vus: number, vu: number): number[] {
  const mine: number[] = [];
  for (let i = vu - 1; i < terminals; i += vus) mine.push(i);
  return mine;
}

/**
 * Open model: the terminal index of a VU's `iteration`-th iteration (both from 0 / 1 as k6 counts them: VU
 * ids from 1, iterations from 0). VU v owns terminals v-1, v-1+maxVUs, … and cycles through them; with fewer
 * terminals than VUs, VU v uses terminal (v-1) mod terminals.
 */
export function openTerminalIndex(terminals: number, maxVUs: number, vu: number, iteration: number): number {
  const first = (vu - 1) % terminals;
  if (terminals <= maxVUs) return first;
  const owned = Math.ceil((terminals - first) / maxVUs);
  return first + (iteration % owned) * maxVUs;
}

/** The TID of terminal number `n`: prefix + n zero-padded to 8 characters in all. */
export function tidOf(prefix: string, n: number): string {
  const digits = 8 - prefix.length;
  const number = String(n);
  if (digits < 1 || number.length > digits) {
    throw new Error(`TID ${prefix}${number} does not fit 8 characters`);
  }
  return prefix + number.padStart(digits, "0");
}

/** A card by weight. */
export function pickCard(cards: TerminalSettings["cards"], random: Random = Math.random): string {
  let total = 0;
  for (const card of cards) total += Math.max(0, card.weight);
  let r = random() * total;
  for (const card of cards) {
    r -= Math.max(0, card.weight);
    if (r < 0) return card.pan;
  }
  return cards[cards.length - 1]!.pan;
}

/** F4: 12 digits, uniform integer in [min, max] minor units. */
export function drawAmount(amount: TerminalSettings["amountMinor"], random: Random = Math.random): string {
  const value = amount.min + Math.floor(random() * (amount.max - amount.min + 1));
  return String(Math.min(value, amount.max)).padStart(12, "0");
}

/**
 * The open model's stages cut to `durationS`, as k6 `ramping-arrival-rate` settings. A stage crossing the cut
 * is shortened and its target scaled linearly (the rate k6 would have reached there). Rates are per second;
 * k6 wants whole numbers per time unit, so fractional rates move to a per-minute (or per-hour) unit.
 */
export function openStages(
  stages: OpenFleet["stages"],
  durationS: number,
): { timeUnit: string; startRate: number; stages: { duration: string; target: number }[] } {
  const cut: { durationS: number; ratePerS: number }[] = [];
  let elapsed = 0;
  let previous = stages[0]?.ratePerS ?? 0;
  for (const stage of stages) {
    if (elapsed >= durationS) break;
    const take = Math.min(stage.durationS, durationS - elapsed);
    const rate =
      take < stage.durationS
        ? previous + ((stage.ratePerS - previous) * take) / stage.durationS
        : stage.ratePerS;
    if (take > 0) cut.push({ durationS: take, ratePerS: rate });
    elapsed += take;
    previous = stage.ratePerS;
  }
  const startRatePerS = stages[0]?.ratePerS ?? 0;
  const rates = [startRatePerS, ...cut.map((s) => s.ratePerS)];
  const [timeUnit, perUnit] = rates.every(Number.isInteger)
    ? (["1s", 1] as const)
    : rates.every((r) => Number.isInteger(Math.round(r * 60 * 1e6) / 1e6))
      ? (["1m", 60] as const)
      : (["1h", 3600] as const);
  return {
    timeUnit,
    startRate: Math.round(startRatePerS * perUnit),
    stages: cut.map((s) => ({
      duration: `${Math.round(s.durationS * 1000)}ms`,
      target: Math.round(s.ratePerS * perUnit),
    })),
  };
}
