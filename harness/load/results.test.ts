import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { gunzipSync, constants as zlibConstants } from "node:zlib";
import { describe, expect, it } from "vitest";
import { aggregateFile } from "../report/aggregate.ts";
import { LiveCounts, type Point, parsePoint, ResultsRecorder } from "./results.ts";

const point = (time: string, tags: Record<string, string>, value = 1, metric = "pos_ops") =>
  JSON.stringify({ metric, type: "Point", data: { time, value, tags } });
const metric = (name: string) =>
  JSON.stringify({ type: "Metric", data: { name, type: "counter" }, metric: name });

const tempFile = () => join(mkdtempSync(join(tmpdir(), "posstorm-results-")), "k6-results.json.gz");
/** The file's lines, reading a gzip stream that was not ended as far as it goes. */
const storedLines = (file: string) =>
  gunzipSync(readFileSync(file), { finishFlush: zlibConstants.Z_SYNC_FLUSH })
    .toString("utf8")
    .split("\n")
    .filter(Boolean);

/** k6's output as it reaches the recorder: arbitrary chunks, cut inside lines and inside characters. */
function chunked(text: string, size: number): Buffer[] {
  const bytes = Buffer.from(text);
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

const k6Output = [
  metric("vus"),
  '{"metric":"vus","type":"Point","data":{"time":"2026-11-22T04:00:00Z","value":1,"tags":null}}',
  metric("pos_ops"),
  point("2026-11-22T04:00:00.100Z", { op: "signin", outcome: "approved", code: "00" }),
  point("2026-11-22T04:00:00.100Z", { op: "signin" }, 1, "tcp_reads"),
  point("2026-11-22T04:00:00.150Z", { op: "signin", outcome: "approved" }, 23, "pos_op_duration"),
  point("2026-11-22T04:00:00.900Z", { op: "purchase", outcome: "timeout.response", note: "ünïcödé" }),
];

describe("k6 JSON results", () => {
  it("keeps posstorm's lines, gzipped, and hands on each sample as it arrives", async () => {
    const file = tempFile();
    const points: Point[] = [];
    const recorder = new ResultsRecorder({ file, onPoint: (p) => points.push(p) });
    const text = `${k6Output.join("\n")}\n`;
    await pipeline(Readable.from(chunked(text, 7)), recorder);

    const kept = k6Output.filter((l) => l.includes('"metric":"pos_'));
    expect(storedLines(file)).toEqual(kept);
    expect(points.map((p) => `${p.metric} ${p.tags.outcome}`)).toEqual([
      "pos_ops approved",
      "pos_op_duration approved",
      "pos_ops timeout.response",
    ]);
    expect(points[2]?.tags.note).toBe("ünïcödé");
    expect(recorder.stats).toMatchObject({
      file,
      linesRead: k6Output.length,
      bytesRead: Buffer.byteLength(text),
      linesKept: kept.length,
      bytesKept: Buffer.byteLength(`${kept.join("\n")}\n`),
      bytesStored: readFileSync(file).length,
    });
    // a complete gzip stream: the strict reader accepts it
    expect(gunzipSync(readFileSync(file)).toString()).toBe(`${kept.join("\n")}\n`);
  });

  it("drops a last line k6 did not finish writing, keeps a finished one without its newline", async () => {
    const cut = tempFile();
    const whole = point("2026-11-22T04:00:01Z", { op: "purchase", outcome: "approved" });
    await pipeline(Readable.from([`${whole}\n${whole.slice(0, 40)}`]), new ResultsRecorder({ file: cut }));
    expect(storedLines(cut)).toEqual([whole]);

    const unterminated = tempFile();
    await pipeline(Readable.from([`${whole}\n${whole}`]), new ResultsRecorder({ file: unterminated }));
    expect(storedLines(unterminated)).toEqual([whole, whole]);
  });

  it("writes no file when k6 wrote no posstorm sample", async () => {
    const file = tempFile();
    await pipeline(Readable.from([`${k6Output[0]}\n${k6Output[1]}\n`]), new ResultsRecorder({ file }));
    expect(existsSync(file)).toBe(false);
  });

  it("flushes while k6 runs: the file is readable up to the last flush before it is ended", async () => {
    const file = tempFile();
    const recorder = new ResultsRecorder({ file, flushIntervalMs: 20 });
    const first = point("2026-11-22T04:00:00.100Z", { op: "signin", outcome: "approved" });
    recorder.write(`${first}\n`);
    await expect.poll(() => (existsSync(file) ? storedLines(file) : []), { timeout: 2_000 }).toEqual([first]);
    recorder.end();
    await new Promise((resolve) => recorder.once("finish", resolve));
    expect(gunzipSync(readFileSync(file)).toString()).toBe(`${first}\n`);
  });

  it("a file cut short (the harness killed) is still aggregated up to where it ends", async () => {
    const dir = mkdtempSync(join(tmpdir(), "posstorm-results-"));
    const file = join(dir, "k6-results.json.gz");
    const recorder = new ResultsRecorder({ file, flushIntervalMs: 10 });
    const lines = Array.from({ length: 200 }, (_, i) =>
      point(new Date(Date.UTC(2026, 10, 22, 4, 0, 0, i * 10)).toISOString(), {
        op: "purchase",
        outcome: "approved",
      }),
    );
    recorder.write(`${lines.join("\n")}\n`);
    await sleep(100);
    const flushed = readFileSync(file);
    recorder.end();
    await new Promise((resolve) => recorder.once("finish", resolve));
    writeFileSync(file, flushed); // what a kill after the flush leaves: no gzip trailer
    expect(() => gunzipSync(flushed)).toThrow(/unexpected end of file/);
    const series = await aggregateFile(dir, { loadStartMs: Date.UTC(2026, 10, 22, 4) });
    expect(series.ops.purchase?.approved?.reduce((a, b) => a + b, 0)).toBe(200);
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
