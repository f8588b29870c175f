import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_LAB_KEY_HEX } from "../protocol/index.ts";
import { arrivalTimesMs } from "./arrivals.ts";
import { addCounts, newCounts, opsCounted } from "./counts.ts";
import type { RunPlan } from "./plan.ts";
import { resolvePlan } from "./plan-check.ts";
import { parseSampleLines, type Sample } from "./samples.ts";
import { runSegment } from "./segment.ts";
import type { SegmentMessage, WatchSecond } from "./wire.ts";

// The open model in one in-process segment against a loopback server that accepts and never answers: every
// operation holds its terminal until its response timeout, so drops are exact.

const sockets = new Set<net.Socket>();
let server: net.Server | undefined;
afterEach(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
});

async function silentServer(): Promise<number> {
  server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return (server.address() as net.AddressInfo).port;
}

function openPlan(port: number, maxVUs: number, terminals: number): RunPlan {
  return resolvePlan({
    version: 1,
    runId: "open-unit",
    target: { host: "127.0.0.1", port },
    labKeyHex: DEFAULT_LAB_KEY_HEX,
    terminal: { responseTimeoutMs: 1500, connectTimeoutMs: 1000, retry: { policy: "none" } },
    fleet: {
      model: "open",
      operation: "signin",
      stages: [{ durationS: 1, ratePerS: 20 }],
      preAllocatedVUs: 1,
      maxVUs,
      terminals,
    },
    durationS: 1,
  });
}

async function run(plan: RunPlan, index: number, count: number) {
  const messages: SegmentMessage[] = [];
  const report = await runSegment({ plan, segment: { index, count }, startAtMs: Date.now() + 50 }, (m) =>
    messages.push(m),
  );
  const samples: Sample[] = messages.flatMap((m) => (m.type === "samples" ? parseSampleLines(m.lines) : []));
  const counts = newCounts();
  const watch: WatchSecond[] = [];
  for (const m of messages) {
    if (m.type !== "tick") continue;
    for (const s of m.seconds) addCounts(counts, s.counts);
    if (m.watch) watch.push(m.watch);
  }
  return { report, samples, counts, watch };
}

describe("open model: drops are counted, never queued", () => {
  it("with 3 busy terminals the other 17 of 20 arrivals are dropped, each with a record", async () => {
    const port = await silentServer();
    const { samples, counts, watch, report } = await run(openPlan(port, 3, 10), 0, 1);
    expect(counts.dropped).toBe(17);
    expect(samples.filter((s) => "ev" in s && s.ev === "dropped")).toHaveLength(17);
    expect(watch.reduce((n, w) => n + w.dropped, 0)).toBe(17);
    expect(Math.max(...watch.map((w) => w.busyMax))).toBe(3);
    expect(opsCounted(counts, "signin", "timeout.response")).toBe(3);
    expect(report.terminals).toBe(3);
    // the three that ran are the first three arrivals, measured from their intended times
    const ops = samples.filter((s) => !("ev" in s));
    expect(ops.map((s) => s.t)).toEqual(arrivalTimesMs([{ durationS: 1, ratePerS: 20 }], 1).slice(0, 3));
    for (const s of ops) expect((s as { ms: number }).ms).toBeGreaterThanOrEqual(1500);
  });

  it("a segment runs its stripe only: arrivals k ≡ 1 (mod 2) and terminals ≡ 1 (mod 2)", async () => {
    const port = await silentServer();
    const { samples, counts } = await run(openPlan(port, 4, 6), 1, 2);
    const all = arrivalTimesMs([{ durationS: 1, ratePerS: 20 }], 1);
    const mine = all.filter((_, k) => k % 2 === 1);
    const times = samples.map((s) => s.t).sort((a, b) => a - b);
    expect(times).toEqual(mine.map((t) => Math.round(t * 10) / 10));
    // cap: 2 of maxVUs 4 → two run, eight dropped
    expect(counts.dropped).toBe(8);
    const tids = samples.flatMap((s) => ("tid" in s ? [s.tid] : []));
    expect(new Set(tids)).toEqual(new Set(["POS00002", "POS00004"])); // fleet indexes 1 and 3
  });
});
