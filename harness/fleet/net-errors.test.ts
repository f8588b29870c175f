import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Link } from "./link.ts";
import { classifyNetError } from "./net-errors.ts";

const sysError = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:9`), { code });

describe("node:net errors → outcomes", () => {
  it("classifies by code", () => {
    for (const code of ["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH"]) {
      expect(classifyNetError(sysError(code), "connect")).toBe("refused");
    }
    for (const code of ["ECONNRESET", "EPIPE", "ECONNABORTED"]) {
      expect(classifyNetError(sysError(code), "read")).toBe("reset");
      expect(classifyNetError(sysError(code), "write")).toBe("reset");
    }
    expect(classifyNetError(sysError("ETIMEDOUT"), "connect")).toBe("timeout.connect");
    expect(classifyNetError(sysError("ETIMEDOUT"), "read")).toBe("closed");
    for (const code of ["EOF", "ERR_STREAM_DESTROYED", "ERR_SOCKET_CLOSED", "ERR_STREAM_WRITE_AFTER_END"]) {
      expect(classifyNetError(sysError(code), "write")).toBe("closed");
    }
  });

  it("falls back to the message rules of k6's terminal for errors without a known code", () => {
    expect(classifyNetError(new Error("read: connection reset by peer"), "read")).toBe("reset");
    expect(classifyNetError(new Error("something odd"), "connect")).toBe("refused");
    expect(classifyNetError(new Error("something odd"), "read")).toBe("closed");
    expect(classifyNetError("not an error", "read")).toBe("closed");
  });
});

const servers: net.Server[] = [];
const sockets = new Set<net.Socket>();
afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  sockets.clear();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function server(onConnection: (socket: net.Socket) => void): Promise<number> {
  const s = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    onConnection(socket);
  });
  servers.push(s);
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  return (s.address() as net.AddressInfo).port;
}

const FRAME = new Uint8Array([0, 3, 1, 2, 3]);

describe("Link on real sockets", () => {
  it("a closed port is refused", async () => {
    const port = await server(() => {});
    await new Promise((r) => servers.pop()!.close(r));
    const link = new Link({ host: "127.0.0.1", port });
    expect(await link.connect(2000)).toMatchObject({ ok: false, outcome: "refused", written: false });
  });

  it("a peer that resets after the request: reset, written", async () => {
    const port = await server((socket) => socket.once("data", () => socket.resetAndDestroy()));
    const link = new Link({ host: "127.0.0.1", port });
    expect(await link.connect(2000)).toBeUndefined();
    expect(await link.exchange(FRAME, 2000, "timeout.response")).toMatchObject({
      ok: false,
      outcome: "reset",
      written: true,
    });
    link.destroy();
  });

  it("a peer that closes after the request: closed; one that stays silent: the timeout outcome", async () => {
    const closing = await server((socket) => socket.once("data", () => socket.end()));
    const link = new Link({ host: "127.0.0.1", port: closing });
    await link.connect(2000);
    expect(await link.exchange(FRAME, 2000, "timeout.response")).toMatchObject({ outcome: "closed" });
    const silent = await server(() => {});
    const idle = new Link({ host: "127.0.0.1", port: silent });
    await idle.connect(2000);
    const started = performance.now();
    expect(await idle.exchange(FRAME, 150, "timeout.idle")).toMatchObject({
      outcome: "timeout.idle",
      written: true,
    });
    expect(performance.now() - started).toBeGreaterThanOrEqual(145);
    idle.destroy();
  });

  it("a reply frame is returned whole even when it arrives byte by byte", async () => {
    const port = await server((socket) =>
      socket.once("data", () => {
        const reply = [0, 4, 9, 8, 7, 6];
        for (const [i, byte] of reply.entries()) {
          setTimeout(() => socket.write(Uint8Array.of(byte)), i * 5);
        }
      }),
    );
    const link = new Link({ host: "127.0.0.1", port });
    await link.connect(2000);
    const reply = await link.exchange(FRAME, 2000, "timeout.response");
    expect(reply).toEqual({ ok: true, body: Uint8Array.of(9, 8, 7, 6) });
    expect(link.open).toBe(true);
    link.destroy();
    expect(link.open).toBe(false);
  });

  it("destroy() while connecting ends the connect at once as closed", async () => {
    const port = await server(() => {});
    const link = new Link({ host: "127.0.0.1", port });
    const pending = link.connect(10_000);
    link.destroy();
    const started = performance.now();
    const result = await pending;
    expect(performance.now() - started).toBeLessThan(1000);
    // Either the connect won the race (then destroy came after it) or it ended as closed.
    if (result !== undefined) expect(result.outcome).toBe("closed");
  });
});
