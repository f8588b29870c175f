import { execFileSync, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import net from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EchoServer, echoRoundTrip, startEchoServer } from "../lab/echo-server.ts";
import { freePort, LOOPBACK } from "../lab/ports.ts";
import { type StartedToxiproxy, startToxiproxy } from "../lab/toxiproxy.ts";
import { REPO_ROOT } from "../shared/repo.ts";
import { applyFault, type ChaosContext } from "./apply.ts";
import type { Fault } from "./faults.ts";
import { clearKernelFaults, NFT_TABLE } from "./kernel.ts";
import { startTimeline } from "./timeline.ts";
import { connectToxiproxy, type ToxiproxyControl } from "./toxiproxy.ts";

// Every fault kind observed through a real Toxiproxy and the real kernel, in front of a TCP echo server.

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const nftTables = () => execFileSync("nft", ["list", "tables"], { encoding: "utf8" });

interface Exchange {
  received: Buffer;
  ms: number;
  /** `end` (FIN), `error` (with code) or `timeout`. */
  ending: "end" | "error" | "timeout";
  code?: string;
  chunks: number;
}

/** Sends `payload` on a fresh connection and collects what comes back until it closes or `expect` bytes. */
function exchange(port: number, payload: Buffer, opts: { expect?: number; timeoutMs?: number } = {}) {
  return new Promise<Exchange>((resolve) => {
    const socket = net.connect({ port, host: LOOPBACK });
    const chunks: Buffer[] = [];
    let started = 0;
    const finish = (ending: Exchange["ending"], code?: string) => {
      clearTimeout(timer);
      socket.destroy();
      const received = Buffer.concat(chunks);
      resolve({
        received,
        ms: performance.now() - started,
        ending,
        chunks: chunks.length,
        ...(code ? { code } : {}),
      });
    };
    const timer = setTimeout(() => finish("timeout"), opts.timeoutMs ?? 5_000);
    socket.once("connect", () => {
      started = performance.now();
      socket.write(payload);
    });
    socket.on("data", (chunk) => {
      chunks.push(chunk);
      if (opts.expect !== undefined && Buffer.concat(chunks).length >= opts.expect) finish("end");
    });
    socket.once("end", () => finish("end"));
    socket.once("error", (error: NodeJS.ErrnoException) => finish("error", error.code));
  });
}

/** Connect time in ms, or "timeout" after `timeoutMs`. */
function connectTime(port: number, timeoutMs: number) {
  return new Promise<number | "timeout" | string>((resolve) => {
    const started = performance.now();
    const socket = net.connect({ port, host: LOOPBACK });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve("timeout");
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(performance.now() - started);
    });
    socket.once("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(error.code ?? error.message);
    });
  });
}

/** An open connection and a promise of how it ended. */
async function openConnection(port: number) {
  const socket = net.connect({ port, host: LOOPBACK });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  socket.write("ping");
  await new Promise((resolve) => socket.once("data", resolve));
  const ended = new Promise<string>((resolve) => {
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
    socket.once("close", () => resolve("closed"));
  });
  return { socket, ended };
}

let clearLoss: (() => Promise<Record<string, number | string>>) | undefined;

/**
 * 8 connections opened first, then `hook("open")`, then 10 sequential 64-byte echoes on each, then
 * `hook("done")` before they close: round-trip times in ms, sorted.
 */
async function burst(port: number, hook: (phase: "open" | "done") => Promise<void>): Promise<number[]> {
  const sockets = await Promise.all(
    Array.from({ length: 8 }, async () => (await openConnection(port)).socket),
  );
  const rtts: number[] = [];
  try {
    await hook("open");
    await Promise.all(
      sockets.map(async (socket) => {
        for (let i = 0; i < 10; i++) {
          const started = performance.now();
          socket.write(Buffer.alloc(64, 0x43));
          let got = 0;
          await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error("no echo after 30000ms")), 30_000);
            const onData = (chunk: Buffer) => {
              got += chunk.length;
              if (got >= 64) {
                clearTimeout(timer);
                socket.off("data", onData);
                resolve();
              }
            };
            socket.on("data", onData);
          });
          rtts.push(performance.now() - started);
        }
      }),
    );
  } finally {
    await hook("done");
    for (const socket of sockets) socket.destroy();
  }
  return rtts.sort((a, b) => a - b);
}

describe("chaos faults through a real Toxiproxy and the kernel", () => {
  let echo: EchoServer;
  let toxiproxy: StartedToxiproxy;
  let control: ToxiproxyControl;
  let ctx: ChaosContext;
  let edge: number;
  let hsm: number;

  beforeAll(async () => {
    await clearKernelFaults();
    echo = await startEchoServer();
    toxiproxy = await startToxiproxy({ session: `test-${randomUUID().slice(0, 8)}` });
    control = connectToxiproxy(toxiproxy.apiUrl);
    edge = await freePort();
    hsm = await freePort();
    await control.createProxy({
      name: "edge",
      listen: `${LOOPBACK}:${edge}`,
      upstream: `${LOOPBACK}:${echo.port}`,
    });
    await control.createProxy({
      name: "hsm",
      listen: `${LOOPBACK}:${hsm}`,
      upstream: `${LOOPBACK}:${echo.port}`,
    });
    ctx = {
      toxiproxy: control,
      links: {
        edge: { listen: { host: LOOPBACK, port: edge } },
        hsm: { listen: { host: LOOPBACK, port: hsm } },
      },
      admin: {},
    };
  });

  afterAll(async () => {
    await clearKernelFaults();
    await toxiproxy?.stop();
    await echo?.close();
    expect(nftTables()).not.toContain(`table inet ${NFT_TABLE}`);
  });

  const withFault = async <T>(fault: Fault, run: () => Promise<T>) => {
    const applied = await applyFault(fault, ctx);
    try {
      return await run();
    } finally {
      await applied.clear();
    }
  };

  it("reads proxies back from Toxiproxy", async () => {
    const proxy = await control.getProxy("edge");
    expect(proxy).toEqual({
      name: "edge",
      listen: `${LOOPBACK}:${edge}`,
      upstream: `${LOOPBACK}:${echo.port}`,
      enabled: true,
      toxics: [],
    });
    expect((await control.listProxies()).map((p) => p.name).sort()).toEqual(["edge", "hsm"]);
  });

  it("latency: every round trip takes at least the added latency; both directions add twice", async () => {
    const rtts = await withFault({ kind: "latency", link: "edge", latencyMs: 150 }, async () => {
      const xs: number[] = [];
      for (let i = 0; i < 3; i++) xs.push(await echoRoundTrip(edge));
      return xs;
    });
    expect(Math.min(...rtts)).toBeGreaterThanOrEqual(145);
    const both = await withFault({ kind: "latency", link: "edge", latencyMs: 100, direction: "both" }, () =>
      echoRoundTrip(edge),
    );
    expect(both).toBeGreaterThanOrEqual(195);
    expect(await control.listToxics("edge")).toEqual([]);
    expect(await echoRoundTrip(edge)).toBeLessThan(100);
  });

  it("down: connections refused until cleared", async () => {
    await withFault({ kind: "down", link: "edge" }, async () => {
      expect(await connectTime(edge, 2_000)).toBe("ECONNREFUSED");
    });
    expect(await echoRoundTrip(edge)).toBeLessThan(100);
  });

  it("reset_peer: the connection is reset when data arrives", async () => {
    const result = await withFault(
      { kind: "reset_peer", link: "edge", timeoutMs: 0, direction: "upstream" },
      () => exchange(edge, Buffer.from("hello")),
    );
    expect(result.ending).toBe("error");
    expect(result.code).toBe("ECONNRESET");
  });

  it("limit_data: closed after exactly N bytes", async () => {
    const result = await withFault({ kind: "limit_data", link: "edge", bytes: 100 }, () =>
      exchange(edge, Buffer.alloc(1000, 0x41)),
    );
    expect(result.ending).not.toBe("timeout");
    expect(result.received.length).toBe(100);
  });

  it("slicer: the same bytes arrive in many small chunks", async () => {
    const payload = Buffer.from(Array.from({ length: 2000 }, (_, i) => i % 251));
    const result = await withFault(
      { kind: "slicer", link: "edge", averageSizeBytes: 10, sizeVariationBytes: 5, delayUs: 200 },
      () => exchange(edge, payload, { expect: payload.length }),
    );
    expect(result.received.equals(payload)).toBe(true);
    expect(result.chunks).toBeGreaterThan(20);
  });

  it("bandwidth: a large transfer slows to the rate", async () => {
    const payload = Buffer.alloc(100_000, 0x42);
    const baseline = await exchange(edge, payload, { expect: payload.length });
    const limited = await withFault({ kind: "bandwidth", link: "edge", rateKBps: 100 }, () =>
      exchange(edge, payload, { expect: payload.length }),
    );
    expect(baseline.ms).toBeLessThan(300);
    expect(limited.received.length).toBe(payload.length);
    expect(limited.ms).toBeGreaterThanOrEqual(800); // 100 KB at 100 KB/s ≈ 1 s
  });

  it("timeout: data stops and the connection closes after timeoutMs", async () => {
    const result = await withFault({ kind: "timeout", link: "edge", timeoutMs: 300 }, () =>
      exchange(edge, Buffer.from("hello")),
    );
    expect(result.received.length).toBe(0);
    expect(result.ending).toBe("end");
    expect(result.ms).toBeGreaterThanOrEqual(280);
    expect(result.ms).toBeLessThan(1_500);
  });

  it("slow_close: the close reaches the client late", async () => {
    const elapsed = await withFault({ kind: "slow_close", link: "edge", delayMs: 500 }, async () => {
      const { socket, ended } = await openConnection(edge);
      const started = performance.now();
      socket.end();
      await ended;
      return performance.now() - started;
    });
    expect(elapsed).toBeGreaterThanOrEqual(450);
  });

  it("packet-loss: 30% kernel drops make TCP retransmit; every exchange still succeeds, the tail grows", async () => {
    const before = await burst(edge, async () => undefined);
    let facts: Record<string, number | string> = {};
    const during = await burst(edge, async (phase) => {
      if (phase === "open") {
        const applied = await applyFault({ kind: "packet-loss", link: "edge", lossPercent: 30 }, ctx);
        expect(nftTables()).toContain(`table inet ${NFT_TABLE}`);
        clearLoss = applied.clear;
      } else {
        facts = await clearLoss!();
      }
    });
    expect(facts.droppedPackets).toBeGreaterThan(0);
    expect(nftTables()).not.toContain(`table inet ${NFT_TABLE}`);
    const p99 = (xs: number[]) => xs[Math.ceil(xs.length * 0.99) - 1]!;
    console.log(
      `packet loss 30%: p50 ${median(before).toFixed(1)} → ${median(during).toFixed(1)} ms, ` +
        `p99 ${p99(before).toFixed(1)} → ${p99(during).toFixed(1)} ms, ${facts.droppedPackets} packets dropped`,
    );
    expect(before.length).toBe(80);
    expect(during.length).toBe(80);
    expect(p99(before)).toBeLessThan(50);
    expect(p99(during)).toBeGreaterThanOrEqual(190); // a retransmission timeout (200 ms minimum) somewhere
  });

  it("syn-drop: new connections time out, open ones keep working, clearing restores connects", async () => {
    const { socket, ended } = await openConnection(edge);
    const applied = await applyFault({ kind: "syn-drop", link: "edge" }, ctx);
    try {
      expect(await connectTime(edge, 2_000)).toBe("timeout");
      socket.write("still");
      const echoed = await new Promise<string>((resolve) => socket.once("data", (d) => resolve(String(d))));
      expect(echoed).toBe("still");
    } finally {
      await applied.clear();
      socket.destroy();
      await ended;
    }
    expect(nftTables()).not.toContain(`table inet ${NFT_TABLE}`);
    const connect = await connectTime(edge, 2_000);
    expect(typeof connect === "number" && connect < 500).toBe(true);
  });

  it("connection-kill (proxy-cycle): an open connection is closed, new ones connect", async () => {
    const { ended } = await openConnection(edge);
    const started = performance.now();
    await applyFault({ kind: "connection-kill", link: "edge" }, ctx);
    expect(await Promise.race([ended, sleep(2_000).then(() => "still open")])).toBe("closed");
    expect(performance.now() - started).toBeLessThan(2_000);
    expect((await control.getProxy("edge")).enabled).toBe(true);
    expect(await echoRoundTrip(edge)).toBeLessThan(100);
  });

  it("connection-kill (ss-kill): the kernel aborts the open connections", async () => {
    const a = await openConnection(edge);
    const b = await openConnection(edge);
    const applied = await applyFault({ kind: "connection-kill", link: "edge", method: "ss-kill" }, ctx);
    expect(applied.facts.killedConnections).toBeGreaterThanOrEqual(2);
    const endings = await Promise.all(
      [a.ended, b.ended].map((e) => Promise.race([e, sleep(2_000).then(() => "still open")])),
    );
    for (const ending of endings) expect(["ECONNABORTED", "ECONNRESET", "closed"]).toContain(ending);
    expect(await echoRoundTrip(edge)).toBeLessThan(100);
  });

  it("connection-flood: idle connections reach the upstream through the proxy, the link still carries data, and clear closes them all", async () => {
    // Toxiproxy dials the upstream for every connection it accepts: count them on the echo server's side.
    const upstream = () =>
      execFileSync("ss", ["-tnH", "state", "established", `( sport = :${echo.port} )`], { encoding: "utf8" })
        .split("\n")
        .filter((line) => line.trim() !== "").length;
    const applied = await applyFault(
      { kind: "connection-flood", link: "edge", connectionsPerSecond: 200, holdOpenS: 60 },
      ctx,
    );
    let facts: Record<string, number | string>;
    try {
      await sleep(1500);
      await expect.poll(upstream, { timeout: 3000 }).toBeGreaterThanOrEqual(250);
      const echoed = await exchange(edge, Buffer.from("still here"), { expect: 10 });
      expect(echoed.received.toString()).toBe("still here");
    } finally {
      facts = await applied.clear();
    }
    expect(facts.connected).toBeGreaterThanOrEqual(250);
    expect(facts.failed).toBe(0);
    await expect.poll(upstream, { timeout: 5000 }).toBe(0);
  });

  it("a timeline applies and clears two faults at their times (±300 ms) and records them", async () => {
    const start = Date.now();
    const timeline = startTimeline(
      [
        { name: "slow-edge", at: 0.3, for: 1.0, fault: { kind: "latency", link: "edge", latencyMs: 200 } },
        { name: "hsm-down", at: 0.8, for: 1.0, fault: { kind: "down", link: "hsm" } },
      ],
      ctx,
      { startAtMs: start, loadDurationS: 3 },
    );
    const observe = async () => ({
      edge: await control.listToxics("edge"),
      hsm: (await control.getProxy("hsm")).enabled,
    });
    // The test's own clock against the times the timeline records: every few ms, Date.now() before and after
    // a look at the live records. A time not yet recorded at a look is later than the clock read before it;
    // a time recorded is no later than the clock read after it.
    type Bounds = { notBefore: number; notAfter: number };
    const unbounded = (): Bounds => ({ notBefore: start, notAfter: Number.POSITIVE_INFINITY });
    const bounds = [0, 1].map(() => ({ applied: unbounded(), cleared: unbounded() }));
    const look = () => {
      const before = Date.now();
      const records = timeline.records();
      const after = Date.now();
      records.forEach((record, i) => {
        for (const [instant, b] of [
          [record.appliedAt, bounds[i]!.applied],
          [record.clearedAt, bounds[i]!.cleared],
        ] as const) {
          if (instant === undefined) b.notBefore = before;
          else b.notAfter = Math.min(b.notAfter, after);
        }
      });
    };
    look();
    const watch = setInterval(look, 5);
    let result: Awaited<typeof timeline.done>;
    try {
      await sleep(start + 550 - Date.now());
      expect(await observe()).toEqual({ edge: ["latency_downstream"], hsm: true });
      await sleep(start + 1_050 - Date.now());
      expect(await observe()).toEqual({ edge: ["latency_downstream"], hsm: false });
      expect(await connectTime(hsm, 2_000)).toBe("ECONNREFUSED");
      await sleep(start + 1_550 - Date.now());
      expect(await observe()).toEqual({ edge: [], hsm: false });
      result = await timeline.done;
      look();
    } finally {
      clearInterval(watch);
    }
    expect(await observe()).toEqual({ edge: [], hsm: true });
    const [slow, down] = result.entries;
    for (const [i, record, at, until] of [
      [0, slow!, 0.3, 1.3],
      [1, down!, 0.8, 1.8],
    ] as const) {
      expect(record.status).toBe("cleared");
      expect(Math.abs(record.appliedAt!.sinceStartS - at)).toBeLessThan(0.3);
      expect(Math.abs(record.clearedAt!.sinceStartS - until)).toBeLessThan(0.3);
      for (const [instant, b] of [
        [record.appliedAt!, bounds[i]!.applied],
        [record.clearedAt!, bounds[i]!.cleared],
      ] as const) {
        const ms = Date.parse(instant.iso);
        expect(b.notAfter - b.notBefore, `${record.name}: looks too far apart`).toBeLessThan(250);
        expect(ms).toBeGreaterThanOrEqual(b.notBefore);
        expect(ms).toBeLessThanOrEqual(b.notAfter);
        expect(instant.sinceStartS * 1000).toBeGreaterThanOrEqual(b.notBefore - start);
        expect(instant.sinceStartS * 1000).toBeLessThanOrEqual(b.notAfter - start);
      }
    }
    await timeline[Symbol.asyncDispose]();
  });

  it("Ctrl-C of a process running a timeline leaves no toxic, no disabled proxy and no nft table", async () => {
    const child = spawn(
      process.execPath,
      [join(REPO_ROOT, "harness/chaos/testing/hold-timeline.ts"), toxiproxy.apiUrl, String(edge)],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout.on("data", (d) => {
      output += String(d);
    });
    child.stderr.on("data", (d) => {
      output += String(d);
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const deadline = Date.now() + 15_000;
    while (!/READY|FAILED/.test(output) && Date.now() < deadline) await sleep(50);
    expect(output).toContain("READY");
    expect(await control.listToxics("edge")).toEqual(["latency_downstream"]);
    expect((await control.getProxy("hsm")).enabled).toBe(false);
    expect(nftTables()).toContain(`table inet ${NFT_TABLE}`);

    child.kill("SIGINT");
    const code = await Promise.race([exited, sleep(15_000).then(() => "no exit")]);
    expect(code).toBe(2);
    expect(await control.listToxics("edge")).toEqual([]);
    expect((await control.getProxy("hsm")).enabled).toBe(true);
    expect(nftTables()).not.toContain(`table inet ${NFT_TABLE}`);
  });

  it("posstorm chaos apply / clear act on a running Toxiproxy", async () => {
    const cli = (...args: string[]) =>
      execFileSync(process.execPath, [join(REPO_ROOT, "harness/cli/main.ts"), "chaos", ...args], {
        encoding: "utf8",
        timeout: 30_000,
      });
    const url = toxiproxy.apiUrl;
    expect(
      cli("apply", "--toxiproxy", url, "--link", "edge", "--fault", "latency", "--latency-ms", "200"),
    ).toContain("applied latency 200ms on edge (downstream)");
    expect(await control.listToxics("edge")).toEqual(["latency_downstream"]);
    cli("apply", "--toxiproxy", url, "--link", "hsm", "--fault", "down");
    cli("apply", "--toxiproxy", url, "--link", "edge", "--fault", "syn-drop");
    expect(nftTables()).toContain(`table inet ${NFT_TABLE}`);
    const cleared = cli("clear", "--toxiproxy", url);
    expect(cleared).toContain("2 proxies enabled, no toxics");
    expect(cleared).toContain("nftables table inet posstorm removed");
    expect(await control.listToxics("edge")).toEqual([]);
    expect((await control.getProxy("hsm")).enabled).toBe(true);
    expect(nftTables()).not.toContain(`table inet ${NFT_TABLE}`);

    const preset = cli("apply", "--toxiproxy", url, "--link", "hsm", "--preset", "3g", "--for", "1");
    expect(preset).toMatch(/latency@hsm: cleared/);
    expect(preset).toMatch(/packet-loss@hsm: cleared/);
    expect(await control.listToxics("hsm")).toEqual([]);
    expect(nftTables()).not.toContain(`table inet ${NFT_TABLE}`);
  });
});
