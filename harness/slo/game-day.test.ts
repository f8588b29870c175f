import { describe, expect, it } from "vitest";
import { describeAbort, rateBreach, validateGameDay } from "./game-day.ts";

describe("game-day rules", () => {
  it("name every bad setting by its path", () => {
    expect(
      validateGameDay({
        steadyState: [
          { id: "x", indicator: "success-rate", scope: { phase: "baseline" }, objective: { min: 0.9 } },
        ],
        abortWhen: [
          { kind: "timeout-rate", above: 20, forS: 0 },
          { kind: "latency", above: 0.1, forS: 5 },
          { kind: "error-rate", above: 0.1, forS: 500, operation: "refund" },
        ],
        extra: 1,
      }),
    ).toEqual([
      "gameDay.extra: not a game-day setting (steadyState, abortWhen)",
      "gameDay.steadyState[0].scope.phase: a probe has no phase (it is checked in the baseline and the last recovery)",
      "gameDay.abortWhen[0].above: 20 must be a fraction in [0, 1) (0.2 = 20 %)",
      "gameDay.abortWhen[0].forS: 0 must be a whole number of seconds, 1 to 120",
      'gameDay.abortWhen[1].kind: "latency" must be one of timeout-rate, error-rate, reversal-abandoned, program-down',
      "gameDay.abortWhen[2].forS: 500 must be a whole number of seconds, 1 to 120",
      'gameDay.abortWhen[2].operation: "refund" must be signin or purchase',
    ]);
    expect(validateGameDay({ abortWhen: [{ kind: "reversal-abandoned" }] })).toEqual([]);
  });

  it("breach a rate only above the bound, and only with operations in the window", () => {
    const timeouts = { kind: "timeout-rate", above: 0.2, forS: 5 } as const;
    const window = (entries: [string, number][]) => new Map(entries);
    expect(rateBreach(timeouts, window([]))).toBeUndefined();
    expect(
      rateBreach(
        timeouts,
        window([
          ["approved", 80],
          ["timeout.response", 20],
        ]),
      ),
    ).toMatchObject({
      share: 0.2,
      breached: false,
    });
    expect(
      rateBreach(
        timeouts,
        window([
          ["approved", 79],
          ["timeout.connect", 21],
        ]),
      )?.breached,
    ).toBe(true);
    const errors = { kind: "error-rate", above: 0.1, forS: 5 } as const;
    expect(
      rateBreach(
        errors,
        window([
          ["approved", 8],
          ["reset", 1],
          ["timeout.response", 5],
        ]),
      ),
    ).toMatchObject({
      events: 1,
      ops: 14,
      breached: false,
    });
    expect(describeAbort(errors)).toBe("error rate above 10 % over 5 s");
  });
});
