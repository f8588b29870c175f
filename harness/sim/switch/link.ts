import net from "node:net";
import { FrameReassembler } from "../../protocol/index.ts";

// A persistent, self-healing TCP connection to a backend (HSM or issuer) carrying length-prefixed frames
// (`[LEN 2B big-endian][body]`, the framing of both the ISO 8583 host link and the HSM protocol). It reconnects
// with a doubling back-off (100 ms … 2 s) and batches the writes of one tick into one system call.

export interface LinkHandler {
  /** One frame body (length removed). */
  frame(link: PersistentLink, body: Uint8Array): void;
  /** The connection is established (again). */
  up(link: PersistentLink): void;
  /** The connection is gone; `wasUp` is false for a failed connection attempt. */
  down(link: PersistentLink, reason: string, wasUp: boolean): void;
}

const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 2_000;
const CONNECT_TIMEOUT_MS = 5_000;

export class PersistentLink {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** Requests sent on this connection and not yet answered (kept by the owner). */
  inFlight = 0;
  #handler: LinkHandler;
  #socket: net.Socket | undefined;
  #up = false;
  #closed = false;
  #backoffMs = MIN_BACKOFF_MS;
  #retry: NodeJS.Timeout | undefined;
  #corked: net.Socket | undefined;

  constructor(name: string, host: string, port: number, handler: LinkHandler) {
    this.name = name;
    this.host = host;
    this.port = port;
    this.#handler = handler;
    this.#connect();
  }

  get up(): boolean {
    return this.#up;
  }

  /** Queues `bytes` (a whole frame, length included); false when the link is down. */
  write(bytes: Uint8Array): boolean {
    const socket = this.#socket;
    if (!this.#up || !socket) return false;
    if (this.#corked !== socket) {
      this.#corked = socket;
      socket.cork();
      process.nextTick(this.#uncork);
    }
    socket.write(bytes);
    return true;
  }

  /** Closes for good (no reconnect). */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#socket?.destroy();
  }

  #uncork = (): void => {
    const socket = this.#corked;
    this.#corked = undefined;
    socket?.uncork();
  };

  #connect(): void {
    if (this.#closed) return;
    const socket = net.connect({ host: this.host, port: this.port, noDelay: true });
    this.#socket = socket;
    const reassembler = new FrameReassembler({ maxFrameBytes: 0xffff });
    let reason = "closed by peer";
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => {
      reason = `no connection after ${CONNECT_TIMEOUT_MS}ms`;
      socket.destroy();
    });
    socket.once("connect", () => {
      socket.setTimeout(0);
      socket.setKeepAlive(true, 10_000);
      this.#up = true;
      this.#backoffMs = MIN_BACKOFF_MS;
      this.#handler.up(this);
    });
    socket.on("data", (chunk: Buffer) => {
      let bodies: Uint8Array[];
      try {
        bodies = reassembler.push(chunk);
      } catch (error) {
        reason = `unreadable stream: ${(error as Error).message}`;
        socket.destroy();
        return;
      }
      for (const body of bodies) this.#handler.frame(this, body);
    });
    socket.on("error", (error: NodeJS.ErrnoException) => {
      reason = error.code ?? error.message;
    });
    socket.once("close", () => {
      const wasUp = this.#up;
      this.#up = false;
      if (this.#socket === socket) this.#socket = undefined;
      if (this.#corked === socket) this.#corked = undefined;
      this.#handler.down(this, reason, wasUp);
      if (this.#closed) return;
      const delay = wasUp ? MIN_BACKOFF_MS : this.#backoffMs;
      this.#backoffMs = Math.min(this.#backoffMs * 2, MAX_BACKOFF_MS);
      this.#retry = setTimeout(() => this.#connect(), delay);
      this.#retry.unref();
    });
  }
}

/**
 * `size` persistent links to one address. `pick()` returns an established link round-robin; `resize()` grows
 * the pool or retires its newest links (a retired link is closed once its requests are answered or after
 * `drainMs`).
 */
export class LinkPool {
  readonly name: string;
  readonly links: PersistentLink[] = [];
  #host: string;
  #port: number;
  #handler: LinkHandler;
  #next = 0;

  constructor(name: string, host: string, port: number, size: number, handler: LinkHandler) {
    this.name = name;
    this.#host = host;
    this.#port = port;
    this.#handler = handler;
    this.resize(size, 0);
  }

  /** Links currently established. */
  get upCount(): number {
    let n = 0;
    for (const link of this.links) if (link.up) n++;
    return n;
  }

  pick(): PersistentLink | undefined {
    const links = this.links;
    for (let tries = 0; tries < links.length; tries++) {
      const link = links[this.#next++ % links.length]!;
      if (link.up) return link;
    }
    return undefined;
  }

  resize(size: number, drainMs: number): void {
    while (this.links.length < size) {
      this.links.push(
        new PersistentLink(`${this.name}#${this.links.length + 1}`, this.#host, this.#port, this.#handler),
      );
    }
    while (this.links.length > size) {
      const link = this.links.pop()!;
      const started = Date.now();
      const retire = () => {
        if (link.inFlight === 0 || Date.now() - started >= drainMs) link.close();
        else setTimeout(retire, 100).unref();
      };
      retire();
    }
  }

  close(): void {
    for (const link of this.links) link.close();
    this.links.length = 0;
  }
}
