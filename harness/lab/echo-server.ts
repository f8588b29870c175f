import net from "node:net";
import { LOOPBACK } from "./ports.ts";

export interface EchoServer extends AsyncDisposable {
  readonly port: number;
  close(): Promise<void>;
}

/** A TCP server on 127.0.0.1 that writes back whatever it receives. */
export async function startEchoServer(): Promise<EchoServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    socket.pipe(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, LOOPBACK, resolve);
  });
  const close = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { port: (server.address() as net.AddressInfo).port, close, [Symbol.asyncDispose]: close };
}

/** Round-trip time in ms of one `size`-byte echo over a fresh connection to host:port. */
export async function echoRoundTrip(port: number, size = 64, host = LOOPBACK): Promise<number> {
  const payload = Buffer.alloc(size, 0x5a);
  return await new Promise<number>((resolve, reject) => {
    const socket = net.connect({ port, host });
    let started = 0;
    let received = 0;
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no echo from ${host}:${port} after 10000ms`)));
    socket.once("connect", () => {
      started = performance.now();
      socket.write(payload);
    });
    socket.on("data", (chunk) => {
      received += chunk.length;
      if (received >= size) {
        const rtt = performance.now() - started;
        socket.destroy();
        resolve(rtt);
      }
    });
    socket.once("error", reject);
  });
}
