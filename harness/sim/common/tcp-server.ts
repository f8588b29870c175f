import net from "node:net";
import { CodecError, FrameReassembler } from "../../protocol/index.ts";
import type { Counter } from "./metrics.ts";

// The TCP side every simulator shares: accept connections, cut each byte stream into frames by their 2-byte
// big-endian length (FrameReassembler), hand every frame body to the program, and close everything on
// shutdown. A length above `maxFrameBytes` leaves the stream out of step: that connection is counted as
// malformed and closed. What a frame *means* (and whether it is malformed) is the program's business.

/** Largest body a 2-byte binary length can announce. */
const MAX_WIRE_BODY = 0xffff;
/** A connection whose peer stops reading is dropped once this much output is waiting, in bytes. */
const MAX_PENDING_OUTPUT = 16 << 20;

export type Log = (line: string) => void;

/** One accepted connection, as the program sees it. */
export interface FrameConnection {
  /** 1, 2, … in accept order (for logs). */
  readonly id: number;
  /** `host:port` of the peer. */
  readonly remote: string;
  readonly open: boolean;
  /** Writes one frame (its 2-byte length, then `body`); returns false, writing nothing, once closed. */
  send(body: Uint8Array): boolean;
  /** Drops the connection at once. */
  close(): void;
}

export interface FrameServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Largest frame body accepted, in bytes; a larger length closes the connection. */
  maxFrameBytes: number;
  /** Counts streams cut off by a bad length (`<program>_malformed_frames_total`). */
  malformedFrames: Counter;
  /** Every complete frame body (TPDU/header first, length removed). Exceptions are logged, not fatal. */
  onFrame(body: Uint8Array, connection: FrameConnection): void;
  /** Where the server's lines go: one per connection opened and closed, bad lengths, listener errors. */
  log?: Log;
  /** How long close() lets a connection flush and finish before it is destroyed, in ms (default 250). */
  closeGraceMs?: number;
}

export interface FrameServer {
  readonly port: number;
  /** Open connections right now. */
  readonly connections: number;
  /** Stops accepting, ends every connection (destroyed after the grace period), resolves when all are gone. */
  close(): Promise<void>;
}

export async function startFrameServer(options: FrameServerOptions): Promise<FrameServer> {
  const log = options.log ?? (() => {});
  const sockets = new Set<net.Socket>();
  let nextId = 1;

  const server = net.createServer((socket) => {
    const id = nextId++;
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    const reassembler = new FrameReassembler({ maxFrameBytes: options.maxFrameBytes });
    let open = true;
    sockets.add(socket);
    socket.setNoDelay(true);

    const connection: FrameConnection = {
      id,
      remote,
      get open() {
        return open;
      },
      send(body) {
        if (!open) return false;
        if (body.length > MAX_WIRE_BODY)
          throw new RangeError(`frame body of ${body.length} bytes exceeds 65535`);
        const out = Buffer.allocUnsafe(2 + body.length);
        out.writeUInt16BE(body.length, 0);
        out.set(body, 2);
        socket.write(out);
        if (socket.writableLength > MAX_PENDING_OUTPUT) {
          log(
            `connection ${id} from ${remote}: peer is not reading (${socket.writableLength} bytes waiting), closing`,
          );
          connection.close();
        }
        return true;
      },
      close() {
        open = false;
        socket.destroy();
      },
    };

    socket.on("data", (chunk: Buffer) => {
      if (!open) return;
      let frames: Uint8Array[];
      try {
        frames = reassembler.push(chunk);
      } catch (error) {
        options.malformedFrames.inc();
        const reason = error instanceof CodecError ? error.message : String(error);
        log(`connection ${id} from ${remote}: ${reason}; closing (the stream is out of step)`);
        connection.close();
        return;
      }
      for (const frame of frames) {
        if (!open) return;
        try {
          options.onFrame(frame, connection);
        } catch (error) {
          log(`connection ${id} from ${remote}: frame handler failed: ${(error as Error).message}`);
        }
      }
    });
    socket.on("error", () => socket.destroy());
    log(`connection ${id} from ${remote}`);
    socket.on("close", () => {
      open = false;
      sockets.delete(socket);
      log(`connection ${id} from ${remote} closed`);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (error) => log(`listener error: ${error.message}`));

  return {
    port: (server.address() as net.AddressInfo).port,
    get connections() {
      return sockets.size;
    },
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const grace = options.closeGraceMs ?? 250;
      const all = [...sockets].map(
        (socket) =>
          new Promise<void>((resolve) => {
            if (socket.destroyed) return resolve();
            socket.once("close", () => resolve());
            socket.end();
            setTimeout(() => socket.destroy(), grace).unref();
          }),
      );
      await Promise.all([closed, ...all]);
    },
  };
}

/**
 * A log for events that can come in floods (malformed frames under fuzzing or chaos): at most one line per
 * `intervalMs`, the next one saying how many were left out.
 */
export function throttledLog(log: Log, intervalMs = 1000): Log {
  let last = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  return (line) => {
    const now = Date.now();
    if (now - last < intervalMs) {
      suppressed++;
      return;
    }
    last = now;
    log(suppressed > 0 ? `${line} (and ${suppressed} more like it left out)` : line);
    suppressed = 0;
  };
}
