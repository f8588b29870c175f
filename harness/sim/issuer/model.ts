// The issuer's behaviour as pure functions of a seeded random source: service time (log-normal from median
// and p99) and the response code drawn from a weighted mix.

/** A source of uniform numbers in [0, 1). */
export type Random = () => number;

/** mulberry32: a small, fast, seedable PRNG (same seed, same sequence). */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** z of the 99th percentile of the standard normal distribution. */
const Z_P99 = 2.3263;

/**
 * One service time in ms, log-normal with the given median and 99th percentile:
 * mu = ln(median), sigma = ln(p99 / median) / 2.3263. A p99 at or below the median gives the median every time.
 */
export function sampleServiceTimeMs(random: Random, medianMs: number, p99Ms: number): number {
  if (medianMs <= 0) return 0;
  const sigma = p99Ms > medianMs ? Math.log(p99Ms / medianMs) / Z_P99 : 0;
  if (sigma === 0) return medianMs;
  // Box-Muller; 1 - random() is in (0, 1], so the log is finite.
  const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return medianMs * Math.exp(sigma * z);
}

/** Response code (F39, 2 characters) → relative weight. */
export type ResponseMix = Readonly<Record<string, number>>;

/**
 * Reads a response mix: an object `{"00": 95, "51": 5}`, its JSON text, or the compact form `00:95,51:5`.
 * Returns the mix, or a string saying what is wrong (for a config error).
 */
export function parseResponseMix(raw: unknown): ResponseMix | string {
  let value = raw;
  if (typeof raw === "string") {
    const text = raw.trim();
    if (text.startsWith("{")) {
      try {
        value = JSON.parse(text);
      } catch {
        return "is not valid JSON";
      }
    } else {
      const mix: Record<string, number> = {};
      for (const part of text.split(",").filter((p) => p.trim() !== "")) {
        const [code, weight, extra] = part.split(":").map((s) => s.trim());
        if (code === undefined || weight === undefined || extra !== undefined || weight === "") {
          return `has ${JSON.stringify(part)} where code:weight was expected`;
        }
        const parsed = Number(weight);
        if (!Number.isFinite(parsed))
          return `has weight ${JSON.stringify(weight)} for ${code}: a weight is a number >= 0`;
        mix[code] = parsed;
      }
      value = mix;
    }
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return 'must be an object of code → weight ({"00": 95, "51": 5}) or "00:95,51:5"';
  }
  let total = 0;
  for (const [code, weight] of Object.entries(value)) {
    if (!/^[0-9A-Z]{2}$/.test(code))
      return `has code ${JSON.stringify(code)}: a response code is 2 digits or capitals`;
    if (typeof weight !== "number" || !Number.isFinite(weight) || weight < 0) {
      return `has weight ${JSON.stringify(weight)} for ${code}: a weight is a number >= 0`;
    }
    total += weight;
  }
  if (total <= 0) return "has no positive weight";
  return value as ResponseMix;
}

/** The compact form of a mix, codes sorted, `00:95,51:5` (how the setting is stored and shown by GET /config). */
export function formatResponseMix(mix: ResponseMix): string {
  return Object.entries(mix)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([code, weight]) => `${code}:${weight}`)
    .join(",");
}

/** Draws a response code from `mix` (weights need not sum to 1). */
export function pickResponseCode(random: Random, mix: ResponseMix): string {
  const entries = Object.entries(mix);
  let total = 0;
  for (const [, weight] of entries) total += weight;
  let point = random() * total;
  for (const [code, weight] of entries) {
    point -= weight;
    if (point < 0) return code;
  }
  return entries.findLast(([, weight]) => weight > 0)![0];
}

/** `count` random digits. */
export function randomDigits(random: Random, count: number): string {
  let digits = "";
  for (let i = 0; i < count; i++) digits += Math.floor(random() * 10);
  return digits;
}
