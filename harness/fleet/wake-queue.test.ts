import { describe, expect, it } from "vitest";
import { WakeQueue } from "./wake-queue.ts";

describe("WakeQueue", () => {
  it("gives entries back in time order with their terminal and count", () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const q = new WakeQueue(500);
    const pushed: [number, number, number][] = [];
    for (let i = 0; i < 500; i++) {
      const entry: [number, number, number] = [Math.floor(random() * 10_000) / 10, i, i % 7];
      pushed.push(entry);
      q.push(...entry);
      // interleave pops so the heap is exercised half full too
      if (i % 5 === 4) {
        const out = { terminal: -1, count: -1 };
        const min = Math.min(...pushed.map((p) => p[0]));
        expect(q.pop(out)).toBe(min);
        const k = pushed.findIndex((p) => p[1] === out.terminal);
        expect(pushed[k]).toEqual([min, out.terminal, out.count]);
        pushed.splice(k, 1);
      }
    }
    expect(q.size).toBe(pushed.length);
    const out = { terminal: -1, count: -1 };
    const popped: [number, number, number][] = [];
    while (q.size > 0) popped.push([q.pop(out), out.terminal, out.count]);
    expect(popped.map((p) => p[0])).toEqual([...pushed.map((p) => p[0])].sort((a, b) => a - b));
    expect([...popped].sort((a, b) => a[1] - b[1])).toEqual([...pushed].sort((a, b) => a[1] - b[1]));
    expect(q.peekTime()).toBe(Number.POSITIVE_INFINITY);
  });

  it("refuses to grow past its capacity and to pop when empty", () => {
    const q = new WakeQueue(2);
    q.push(2, 0, 0);
    q.push(1, 1, 0);
    expect(() => q.push(3, 2, 0)).toThrow("wake queue full (2 terminals waiting)");
    const out = { terminal: -1, count: -1 };
    expect(q.pop(out)).toBe(1);
    expect(q.pop(out)).toBe(2);
    expect(() => q.pop(out)).toThrow("wake queue is empty");
  });
});
