import { describe, expect, it } from "vitest";
import { describeEnded, watchLab } from "./watchdog.ts";

describe("watchLab", () => {
  it("reports the first time a program has ended, once, then stops asking", async () => {
    const answers = [[], [], [{ role: "switch", how: "container exited with code 137" }]];
    let asked = 0;
    const seen: string[] = [];
    const stop = watchLab(
      { ended: async () => answers[Math.min(asked++, answers.length - 1)]! },
      (ended) => seen.push(describeEnded(ended)),
      5,
    );
    await new Promise((resolve) => setTimeout(resolve, 80));
    stop();
    expect(seen).toEqual(["lab program ended during the run: switch (container exited with code 137)"]);
    expect(asked).toBe(3);
  });

  it("reports nothing while every program runs, and nothing after it is stopped", async () => {
    let asked = 0;
    const seen: unknown[] = [];
    const ended = async () => {
      asked++;
      return [];
    };
    const stop = watchLab({ ended }, (e) => seen.push(e), 5);
    await new Promise((resolve) => setTimeout(resolve, 40));
    stop();
    const after = asked;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(seen).toEqual([]);
    expect(after).toBeGreaterThan(2);
    expect(asked).toBe(after);
  });
});
