import { appendFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LiveCounts, lineFollower, parsePoint } from "./results.ts";

const point = (time: string, tags: Record<string, string>, value = 1) =>
  JSON.stringify({ type: "Point", metric: "pos_ops", data: { time, value, tags } });

describe("k6 JSON results", () => {
  it("follows a file as it grows, holding back a partial last line", () => {
    const file = join(mkdtempSync(join(tmpdir(), "posstorm-results-")), "k6.json");
    writeFileSync(file, '{"type":"Metric","metric":"pos_ops"}\n');
    const next = lineFollower(file);
    expect(next()).toEqual(['{"type":"Metric","metric":"pos_ops"}']);
    appendFileSync(
      file,
      `${point("2026-11-22T04:00:00.100Z", { op: "signin", outcome: "approved" })}\n{"type":"Po`,
    );
    expect(
      next()
        .map(parsePoint)
        .map((p) => p?.tags.op),
    ).toEqual(["signin"]);
    appendFileSync(
      file,
      `int","metric":"pos_ops","data":{"time":"2026-11-22T04:00:01Z","value":1,"tags":{}}}\n`,
    );
    expect(next().map(parsePoint)[0]?.metric).toBe("pos_ops");
    expect(next()).toEqual([]);
  });

  it("counts operations per second by outcome", () => {
    const live = new LiveCounts();
    for (const line of [
      point("2026-11-22T04:00:00.100Z", { op: "purchase", outcome: "approved" }),
      point("2026-11-22T04:00:00.900Z", { op: "purchase", outcome: "timeout.response" }),
      point("2026-11-22T04:00:01.200Z", { op: "signin", outcome: "approved" }),
      '{"type":"Metric","metric":"pos_ops"}',
    ]) {
      const p = parsePoint(line);
      if (p) live.add(p);
    }
    const s0 = Math.floor(Date.parse("2026-11-22T04:00:00Z") / 1000);
    expect(live.window(s0, s0 + 1)).toEqual({
      ops: 2,
      byOutcome: new Map([
        ["approved", 1],
        ["timeout.response", 1],
      ]),
    });
    expect(live.window(s0, s0 + 2).ops).toBe(3);
    expect(live.total).toBe(3);
  });
});
