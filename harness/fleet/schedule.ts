import type { PopulationFleet, RetryPolicy, TerminalSettings } from "./plan.ts";

// Pure parts of the fleet: when terminals sign in, how long they think, how long they wait before a retry,
// what a purchase buys. Randomness comes in as `random` (uniform [0, 1)), so
// tests pin it.

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

/** A fleet's software mix (TerminalSettings.software): versions and their shares of the terminals. */
export type SoftwareMix = readonly { version: string; share: number }[];

/** What is wrong with a software mix, each problem naming `path`; empty when none. */
export function softwareMixProblems(mix: unknown, path: string): string[] {
  if (!Array.isArray(mix) || mix.length === 0) return [`${path}: must be a list of { version, share }`];
  const problems: string[] = [];
  let total = 0;
  mix.forEach((entry: { version?: unknown; share?: unknown }, i) => {
    if (typeof entry?.version !== "string" || !/^\d{6}$/.test(entry.version))
      problems.push(`${path}[${i}].version: ${JSON.stringify(entry?.version)} must be 6 digits`);
    if (typeof entry?.share !== "number" || !(entry.share > 0 && entry.share <= 1))
      problems.push(`${path}[${i}].share: ${JSON.stringify(entry?.share)} must be in (0, 1]`);
    else total += entry.share;
  });
  if (problems.length === 0 && Math.abs(total - 1) > 1e-6)
    problems.push(`${path}: the shares add up to ${+total.toFixed(6)}, not 1`);
  return problems;
}

/**
 * The software version terminal `i` runs: its number spread evenly over [0, 1) (the golden-ratio sequence), so
 * every share holds in any run of consecutive terminals; undefined without a mix.
 */
export function softwareOf(mix: SoftwareMix | undefined, i: number): string | undefined {
  if (mix === undefined) return undefined;
  const u = (i * 0.6180339887498949) % 1;
  let upTo = 0;
  for (const { version, share } of mix) {
    upTo += share;
    if (u < upTo) return version;
  }
  return mix[mix.length - 1]!.version;
}
