import { describe, expect, it } from "vitest";
import { bytesPerTerminalSlope, type LiveHeapReading } from "./live-heap.ts";

const reading = (terminals: number, heapBytes: number, externalBytes = 0): LiveHeapReading => ({
  terminals,
  heapBytes,
  externalBytes,
});

describe("bytesPerTerminalSlope", () => {
  it("is the cost of one more terminal, heap and external memory together", () => {
    // 10 MB before the load, then 1,000 bytes of heap + 500 external per terminal
    const plain = [0, 100, 1000, 3000].map((n) => reading(n, 10e6 + 1000 * n, 500 * n));
    expect(bytesPerTerminalSlope(plain)).toBeCloseTo(1500, 6);
  });

  it("leaves most of a fixed cost out, where the average per terminal carries all of it", () => {
    // the same, plus 2 MB compiled once the load starts: the average at 3,000 terminals is 1,500 + 667
    const step = [reading(0, 10e6), ...[100, 1000, 3000].map((n) => reading(n, 12e6 + 1000 * n, 500 * n))];
    const slope = bytesPerTerminalSlope(step)!;
    expect(slope).toBeGreaterThan(1500);
    expect(slope).toBeLessThan(1500 + 2e6 / 3000);
  });

  it("is undefined with one reading or one terminal count", () => {
    expect(bytesPerTerminalSlope([reading(0, 1)])).toBeUndefined();
    expect(bytesPerTerminalSlope([reading(5, 1), reading(5, 9)])).toBeUndefined();
  });
});
