import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Registry } from "./metrics.ts";
import { type FrameServer, startFrameServer, throttledLog } from "./tcp-server.ts";

const servers: FrameServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function echoServer(maxFrameBytes = 64, log?: (line: string) => void) {
  const malformed = new Registry().counter("t_malformed_frames_total", "");
  const server = await startFrameServer({
    host: "127.0.0.1",
    port: 0,
    maxFrameBytes,
    malformedFrames: malformed,
    onFrame: (body, connection) => {
      if (body[0] === 0xee) throw new Error("handler bug");
      connection.send(body);
    },
    ...(log ? { log } : {}),
  });
  servers.push(server);
  return { server, malformed };
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port }, () => resolve(socket));
    socket.once("error", reject);
  });
}

const framed = (...bodies: number[][]) =>
  Buffer.concat(bodies.map((body) => Buffer.from([body.length >> 8, body.length & 255, ...body])));

/** Reads from `socket` until `bytes` have arrived or it closes. */
function collect(socket: net.Socket, bytes: number): Promise<{ data: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (closed: boolean) => resolve({ data: Buffer.concat(chunks), closed });
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= bytes) done(false);
    });
    socket.on("close", () => done(true));
  });
}

describe("frame server", () => {
  it("cuts the stream into frames however it is chunked, and sends length-prefixed replies", async () => {
    const { server } = await echoServer();
    const socket = await connect(server.port);
    const wire = framed([1, 2, 3], [4], [5, 6]);
    const reply = collect(socket, wire.length);
    for (const byte of wire.subarray(0, 4)) socket.write(Buffer.from([byte]));
    socket.write(wire.subarray(4));
    expect((await reply).data).toEqual(wire);
    expect(server.connections).toBe(1);
    socket.destroy();
  });

  it("survives a throwing handler, counts a bad length and closes only that connection", async () => {
    const { server, malformed } = await echoServer(64);
    const bad = await connect(server.port);
    const echoed = collect(bad, 3);
    bad.write(framed([0xee], [7]));
    expect([...(await echoed).data]).toEqual([0, 1, 7]);
    bad.removeAllListeners("data");
    const closed = collect(bad, Number.POSITIVE_INFINITY);
    bad.write(Buffer.from([0x00, 65]));
    expect((await closed).closed).toBe(true);
    expect(malformed.total()).toBe(1);

    const good = await connect(server.port);
    const reply = collect(good, 3);
    good.write(framed([9]));
    expect([...(await reply).data]).toEqual([0, 1, 9]);
    good.destroy();
  });

  it("close() ends every connection and stops accepting, logging each connection opened and closed", async () => {
    const lines: string[] = [];
    const { server } = await echoServer(64, (line) => lines.push(line));
    const sockets = await Promise.all([connect(server.port), connect(server.port)]);
    const remotes = sockets.map((socket) => `127.0.0.1:${socket.localPort}`);
    const ended = sockets.map((socket) => collect(socket, Number.POSITIVE_INFINITY));
    await expect.poll(() => lines.length).toBe(2);
    servers.length = 0;
    await server.close();
    expect((await Promise.all(ended)).every((result) => result.closed)).toBe(true);
    await expect(connect(server.port)).rejects.toThrow(/ECONNREFUSED/);
    const opened = lines.slice(0, 2);
    expect(opened.map((line) => line.replace(/^connection [12] /, "connection N ")).sort()).toEqual(
      remotes.map((remote) => `connection N from ${remote}`).sort(),
    );
    expect(lines.slice(2).sort()).toEqual(opened.map((line) => `${line} closed`).sort());
  });
});

describe("throttledLog", () => {
  it("keeps one line per interval and says how many it left out", async () => {
    const lines: string[] = [];
    const log = throttledLog((line) => lines.push(line), 50);
    for (let i = 0; i < 5; i++) log(`bad ${i}`);
    await new Promise((resolve) => setTimeout(resolve, 60));
    log("bad 5");
    expect(lines).toEqual(["bad 0", "bad 5 (and 4 more like it left out)"]);
  });
});
