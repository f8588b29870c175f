import net from "node:net";

export const LOOPBACK = "127.0.0.1";

/** A TCP port that is free on 127.0.0.1 right now (the kernel picks it). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, LOOPBACK, resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Resolves when something accepts TCP connections on host:port, or throws after timeoutMs. */
export async function waitForPort(port: number, timeoutMs: number, host = LOOPBACK): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ port, host });
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`Port ${host}:${port} not bound after ${timeoutMs}ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Refuses any address outside 127.0.0.0/8 (and ::1) unless remote targets were allowed on purpose. */
export function assertLoopback(host: string, allowRemote = false): void {
  if (allowRemote) return;
  const loopback = host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
  if (!loopback) {
    throw new Error(
      `target ${host} is outside 127.0.0.0/8; posstorm loads loopback only unless --allow-remote`,
    );
  }
}
