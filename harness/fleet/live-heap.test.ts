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

  it("leaves out the baseline, and with it a cost that does not grow with terminals", () => {
    // the same, plus 2 MB compiled once the load starts (or dropped after it: -3 MB): the slope stays 1,500
    for (const fixedBytes of [2e6, -3e6]) {
      const step = [
        reading(0, 10e6),
        ...[100, 1000, 3000].map((n) => reading(n, 10e6 + fixedBytes + 1000 * n, 500 * n)),
      ];
      expect(bytesPerTerminalSlope(step)).toBeCloseTo(1500, 6);
    }
  });

  it("is undefined with one reading or one terminal count", () => {
    expect(bytesPerTerminalSlope([reading(0, 1), reading(100, 5)])).toBeUndefined();
    expect(bytesPerTerminalSlope([reading(5, 1), reading(5, 9)])).toBeUndefined();
  });
});
