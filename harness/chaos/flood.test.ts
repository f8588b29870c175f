import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { applyFault } from "./apply.ts";
import { startFlood } from "./flood.ts";
import { fakeLab } from "./testing/fakes.ts";

// A real listener on loopback counts what the flood does to it: connections accepted, bytes received, and
// connections still open.
interface Listener {
  port: number;
  accepted: number;
  bytes: number;
  open: Set<net.Socket>;
  close(): Promise<void>;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function listener(onConnection?: (socket: net.Socket) => void): Promise<Listener> {
  const open = new Set<net.Socket>();
  const state = { accepted: 0, bytes: 0 };
  const server = net.createServer((socket) => {
    state.accepted++;
    open.add(socket);
    socket.on("data", (chunk) => {
      state.bytes += chunk.length;
    });
    socket.on("error", () => {});
    socket.on("close", () => open.delete(socket));
    onConnection?.(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const close = async () => {
    for (const socket of open) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  cleanups.push(close);
  return {
    port: (server.address() as net.AddressInfo).port,
    get accepted() {
      return state.accepted;
    },
    get bytes() {
      return state.bytes;
    },
    open,
    close,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("connection flood", () => {
  it("opens connections at the rate asked, sends nothing, and holds them until stopped", async () => {
    const target = await listener();
    const flood = startFlood({ host: "127.0.0.1", port: target.port, perSecond: 200, holdMs: 60_000 });
    cleanups.push(() => void flood.stop());
    await sleep(1000);
    const facts = flood.facts();
    // 200/s for 1 s: about 200 (timers and the test's own loop allow some slack, never a burst beyond the rate)
    expect(facts.attempted).toBeGreaterThanOrEqual(180);
    expect(facts.attempted).toBeLessThanOrEqual(202);
    await expect.poll(() => target.open.size).toBeGreaterThanOrEqual(facts.attempted - 5);
    expect(target.bytes).toBe(0);
    const stopped = flood.stop();
    expect(stopped.failed).toBe(0);
    expect(stopped.peakHeld).toBeGreaterThanOrEqual(180);
    expect(flood.held).toBe(0);
    await expect.poll(() => target.open.size).toBe(0);
    const after = target.accepted;
    await sleep(100);
    expect(target.accepted).toBe(after); // stopped: nothing new
  });

  it("closes each connection after its hold, and counts what the far side closed first", async () => {
    let n = 0;
    const target = await listener((socket) => {
      if (n++ % 2 === 0) socket.end(); // every other connection is closed by the listener
    });
    const flood = startFlood({ host: "127.0.0.1", port: target.port, perSecond: 100, holdMs: 300 });
    cleanups.push(() => void flood.stop());
    await sleep(500);
    const facts = flood.stop();
    expect(facts.connected).toBeGreaterThan(30);
    expect(facts.closedByPeer).toBeGreaterThanOrEqual(Math.floor(facts.connected / 2) - 2);
    expect(facts.closedByPeer).toBeLessThanOrEqual(Math.ceil(facts.connected / 2) + 1);
    // held no longer than 300 ms each at 100/s: never much more than 30 at once, half of them closed early
    expect(facts.peakHeld).toBeLessThanOrEqual(40);
  });

  it("counts refused connections with the first error, and keeps trying", async () => {
    const gone = await listener();
    await gone.close();
    const flood = startFlood({ host: "127.0.0.1", port: gone.port, perSecond: 100, holdMs: 1000 });
    await sleep(300);
    const facts = flood.stop();
    expect(facts.attempted).toBeGreaterThan(20);
    expect(facts.connected).toBe(0);
    expect(facts.failed).toBeGreaterThan(20); // refused at once on loopback
    expect(facts.firstError).toMatch(/ECONNREFUSED/);
  });

  it("is a fault on a link: applied to the link's listen address, its facts when cleared", async () => {
    const target = await listener();
    const lab = fakeLab();
    const ctx = { ...lab.ctx, links: { edge: { listen: { host: "127.0.0.1", port: target.port } } } };
    const applied = await applyFault(
      { kind: "connection-flood", link: "edge", connectionsPerSecond: 100, holdOpenS: 60 },
      ctx,
    );
    await sleep(300);
    await expect.poll(() => target.open.size).toBeGreaterThan(20);
    const facts = await applied.clear();
    expect(facts.connected).toBeGreaterThan(20);
    expect(facts.failed).toBe(0);
    await expect.poll(() => target.open.size).toBe(0);
  });

  it("refuses a link outside loopback and posstorm's own test hosts, and a link the lab does not have", async () => {
    const lab = fakeLab();
    const away = { ...lab.ctx, links: { edge: { listen: { host: "192.0.2.10", port: 5000 } } } };
    await expect(
      applyFault({ kind: "connection-flood", link: "edge", connectionsPerSecond: 10 }, away),
    ).rejects.toThrow(
      "10 idle connections/s to edge, each held 60s: edge listens on 192.0.2.10, outside loopback and posstorm's own test hosts",
    );
    await expect(
      applyFault({ kind: "connection-flood", link: "issuer-z", connectionsPerSecond: 10 }, lab.ctx),
    ).rejects.toThrow(/no link issuer-z in this lab/);
  });
});
