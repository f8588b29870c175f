import net from "node:net";
import { isLoopback } from "../fleet/plan-check.ts";

export const LOOPBACK = "127.0.0.1";

/**
 * Lab ports come from below the kernel's ephemeral range (32768–60999 by default): a port the kernel
 * handed out would be free now but could be taken a moment later as the source port of one of the
 * many short terminal connections, before the program that owns it binds it.
 */
export const LAB_PORT_RANGE = { from: 20_000, to: 32_000 } as const;

/** True when a listener could bind 127.0.0.1:port right now. */
export function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, LOOPBACK, () => server.close(() => resolve(true)));
  });
}

const handedOut = new Set<number>();

/** A TCP port free on 127.0.0.1 right now, from LAB_PORT_RANGE, not handed out before by this process. */
export async function freePort(): Promise<number> {
  const span = LAB_PORT_RANGE.to - LAB_PORT_RANGE.from;
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = LAB_PORT_RANGE.from + Math.floor(Math.random() * span);
    if (handedOut.has(port)) continue;
    if (await canBind(port)) {
      handedOut.add(port);
      if (handedOut.size > span / 2) handedOut.clear();
      return port;
    }
  }
  throw new Error(
    `no free port on ${LOOPBACK} in ${LAB_PORT_RANGE.from}-${LAB_PORT_RANGE.to} after 200 tries`,
  );
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
  if (!isLoopback(host)) {
    throw new Error(
      `target ${host} is outside 127.0.0.0/8; posstorm loads loopback only unless --allow-remote`,
    );
  }
}
