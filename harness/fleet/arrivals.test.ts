import { describe, expect, it } from "vitest";
import {
  ArrivalSchedule,
  arrivalTimesMs,
  defaultSegments,
  maxSegments,
  plannedPeakPerS,
  stripeShare,
} from "./arrivals.ts";

/** The integral of the rate curve (first stage at its own rate, then linear ramps) from 0 to `tS`. */
function integral(stages: { durationS: number; ratePerS: number }[], tS: number): number {
  let total = 0;
  let start = 0;
  let previous = stages[0]!.ratePerS;
  for (const stage of stages) {
    const x = Math.min(Math.max(0, tS - start), stage.durationS);
    const rateAtX = previous + ((stage.ratePerS - previous) * x) / stage.durationS;
    total += (x * (previous + rateAtX)) / 2;
    start += stage.durationS;
    previous = stage.ratePerS;
  }
  return total;
}

describe("ArrivalSchedule: intended times from the stage integral", () => {
  it("a constant rate: arrival n at n / rate, the first one interval after the start (as k6)", () => {
    const times = arrivalTimesMs([{ durationS: 2, ratePerS: 10 }], 2);
    expect(times).toHaveLength(20);
    for (const [i, t] of times.entries()) expect(t).toBeCloseTo((i + 1) * 100, 6);
    expect(times.at(-1)).toBeCloseTo(2000, 6); // due exactly at durationS: still starts
  });

  it("does not drift: arrival 1,000,000 of 10,000/s is due at exactly 100 s", () => {
    const schedule = new ArrivalSchedule([{ durationS: 100, ratePerS: 10_000 }], 100);
    let last = 0;
    let n = 0;
    for (let t = schedule.next(); t !== undefined; t = schedule.next()) {
      last = t;
      n++;
    }
    expect(n).toBe(1_000_000);
    expect(last).toBeCloseTo(100_000, 6);
    expect(schedule.total).toBe(1_000_000);
  });

  it("a linear ramp from 0: arrival n where the area 2.5 t² reaches n", () => {
    // stage 1 holds 0/s for 1 s, stage 2 ramps 0 → 10/s over 2 s: 10 arrivals in all.
    const stages = [
      { durationS: 1, ratePerS: 0 },
      { durationS: 2, ratePerS: 10 },
    ];
    const times = arrivalTimesMs(stages, 3);
    expect(times).toHaveLength(10);
    for (const [i, t] of times.entries()) expect(t).toBeCloseTo(1000 + Math.sqrt((i + 1) / 2.5) * 1000, 6);
  });

  it("ramps up and down across stages: the integral at each intended time is its arrival number", () => {
    const stages = [
      { durationS: 2, ratePerS: 10 },
      { durationS: 3, ratePerS: 40 },
      { durationS: 1, ratePerS: 40 },
      { durationS: 4, ratePerS: 5 },
    ];
    const times = arrivalTimesMs(stages, 10);
    const expected = Math.floor(integral(stages, 10) + 1e-9); // 20 + 75 + 40 + 90 = 225
    expect(expected).toBe(225);
    expect(times).toHaveLength(expected);
    for (const [i, t] of times.entries()) expect(integral(stages, t / 1000)).toBeCloseTo(i + 1, 6);
    for (let i = 1; i < times.length; i++) expect(times[i]!).toBeGreaterThan(times[i - 1]!);
  });

  it("is cut at durationS: a ramp crossing the cut stops at the rate reached there", () => {
    const stages = [
      { durationS: 2, ratePerS: 10 },
      { durationS: 2, ratePerS: 30 },
    ];
    // 20 in the first 2 s, then 10 → 20/s over the next second: 15 more.
    const times = arrivalTimesMs(stages, 3);
    expect(times).toHaveLength(35);
    expect(Math.max(...times)).toBeLessThanOrEqual(3000);
    expect(arrivalTimesMs(stages, 4)).toHaveLength(60);
    expect(arrivalTimesMs(stages, 100)).toHaveLength(60); // the curve ends with its stages
  });

  it("striped: stripe s of N holds arrivals s, s + N, … and the stripes together are the whole schedule", () => {
    const stages = [
      { durationS: 1, ratePerS: 7 },
      { durationS: 2, ratePerS: 23 },
    ];
    const all = arrivalTimesMs(stages, 3);
    const stripes = [0, 1, 2].map((s) => arrivalTimesMs(stages, 3, s, 3));
    stripes.forEach((stripe, s) => {
      expect(stripe).toEqual(all.filter((_, k) => k % 3 === s));
    });
    expect(stripes.flat().sort((a, b) => a - b)).toEqual(all);
    expect(() => new ArrivalSchedule(stages, 3, 3, 3)).toThrow(/stripe 3 of 3/);
  });
});

describe("striping of terminals and caps", () => {
  it("stripeShare counts the indexes ≡ segment (mod N) below the total", () => {
    expect([0, 1, 2].map((s) => stripeShare(10, s, 3))).toEqual([4, 3, 3]);
    expect([0, 1, 2, 3].map((s) => stripeShare(2, s, 4))).toEqual([1, 1, 0, 0]);
    for (const total of [1, 7, 100, 1001]) {
      for (const n of [1, 2, 3, 8]) {
        let sum = 0;
        for (let s = 0; s < n; s++) sum += stripeShare(total, s, n);
        expect(sum).toBe(total);
      }
    }
  });

  it("maxSegments: never more segments than terminals, nor (open) than maxVUs, nor (closed) than vus", () => {
    const population = {
      signIn: { curve: "uniform" as const, windowS: 1 },
      purchases: { perTerminal: 0, thinkTimeS: { mean: 0, jitter: 0 } },
    };
    const open = { operation: "signin" as const, stages: [{ durationS: 1, ratePerS: 1 }] };
    expect(maxSegments({ model: "population", terminals: 3, ...population }, 99)).toBe(3);
    expect(maxSegments({ model: "open", ...open, terminals: 100, maxVUs: 2 }, 99)).toBe(2);
    expect(maxSegments({ model: "open", ...open, terminals: 1, maxVUs: 50 }, 99)).toBe(1);
    // open and closed without terminals of their own: the plan's terminal count
    expect(maxSegments({ model: "open", ...open, maxVUs: 50 }, 4)).toBe(4);
    expect(maxSegments({ model: "closed", operation: "signin", vus: 3 }, 10)).toBe(3);
    expect(maxSegments({ model: "closed", operation: "signin", vus: 30, terminals: 5 }, 10)).toBe(5);
  });

  it("defaultSegments: one per 3,000 operations/s of the planned peak (closed: per 512 loops), at least 1, at most the cores", () => {
    const open = (...rates: number[]) => ({
      model: "open" as const,
      operation: "signin" as const,
      stages: rates.map((ratePerS) => ({ durationS: 10, ratePerS })),
      maxVUs: 1000,
    });
    expect(plannedPeakPerS(open(100, 2250, 50))).toBe(2250);
    expect(defaultSegments(open(2250), 2)).toBe(1);
    expect(defaultSegments(open(3000), 8)).toBe(1);
    expect(defaultSegments(open(3001), 8)).toBe(2);
    expect(defaultSegments(open(20_000), 4)).toBe(4);
    expect(defaultSegments(open(0), 4)).toBe(1);
    // population: 10,000 terminals on a normal curve (σ 60 s) peak at 10,000 / (60 √(2π)) ≈ 66.5 sign-ins/s,
    // doubled by one purchase each
    const storm = {
      model: "population" as const,
      terminals: 10_000,
      signIn: { curve: "normal" as const, windowS: 300, sigmaS: 60 },
      purchases: { perTerminal: 1, thinkTimeS: { mean: 30, jitter: 25 } },
    };
    expect(plannedPeakPerS(storm)).toBeCloseTo(133.0, 0);
    expect(defaultSegments(storm, 2)).toBe(1);
    const burst = { ...storm, terminals: 100_000, signIn: { curve: "uniform" as const, windowS: 10 } };
    expect(plannedPeakPerS(burst)).toBe(20_000);
    expect(defaultSegments(burst, 4)).toBe(4);
    // closed: its rate is the switch's, not planned: one segment per 512 loops
    const closed = (vus: number) => ({ model: "closed" as const, operation: "signin" as const, vus });
    expect(plannedPeakPerS(closed(4))).toBeUndefined();
    expect(defaultSegments(closed(4), 2)).toBe(1);
    expect(defaultSegments(closed(512), 8)).toBe(1);
    expect(defaultSegments(closed(513), 8)).toBe(2);
    expect(defaultSegments(closed(10_000), 4)).toBe(4);
  });
});
