import net from "node:net";

// The connection flood: new TCP connections to a link's listen address at a steady rate, each sending nothing
// and held open `holdMs` (or until the far side closes it), as a reconnect storm or a scanner would. It runs in
// the process that applies the fault and stops opening, and closes every connection it holds, when stopped.

export interface FloodOptions {
  host: string;
  port: number;
  /** New connections a second. */
  perSecond: number;
  /** How long each connection is held, ms. */
  holdMs: number;
  /** How often due connections are opened, ms (default 10). */
  tickMs?: number;
}

/** What the flood did, as the fault's facts. */
export interface FloodFacts {
  /** Connect attempts made. */
  attempted: number;
  /** Attempts that connected. */
  connected: number;
  /** Attempts that failed to connect (refused, reset, out of descriptors …). */
  failed: number;
  /** Connections the far side closed before their hold ended. */
  closedByPeer: number;
  /** The most connections held at once. */
  peakHeld: number;
  /** The first connect error, when any. */
  firstError?: string;
}

export interface Flood {
  /** Connections held now. */
  readonly held: number;
  facts(): FloodFacts;
  /** Stops opening, closes every connection still held, and gives the facts. */
  stop(): FloodFacts;
}

export function startFlood(opts: FloodOptions): Flood {
  if (!(opts.perSecond > 0)) throw new Error(`connection flood: ${opts.perSecond} connections/s must be > 0`);
  const held = new Set<net.Socket>();
  const facts: FloodFacts = { attempted: 0, connected: 0, failed: 0, closedByPeer: 0, peakHeld: 0 };
  const startedAt = performance.now();
  let stopped = false;

  const open = () => {
    facts.attempted++;
    const socket = net.connect({ host: opts.host, port: opts.port });
    let connected = false;
    let expired = false;
    let holdTimer: NodeJS.Timeout | undefined;
    held.add(socket);
    facts.peakHeld = Math.max(facts.peakHeld, held.size);
    socket.once("connect", () => {
      connected = true;
      facts.connected++;
      holdTimer = setTimeout(() => {
        expired = true;
        socket.destroy();
      }, opts.holdMs);
    });
    socket.on("data", () => {}); // whatever the far side says is read and dropped
    socket.on("end", () => socket.destroy());
    socket.on("error", (error) => {
      if (connected) return; // a reset of a held connection: counted on close
      facts.failed++;
      facts.firstError ??= error.message;
    });
    socket.once("close", () => {
      clearTimeout(holdTimer);
      held.delete(socket);
      if (connected && !expired && !stopped) facts.closedByPeer++;
    });
  };

  // Opens whatever is due since the start, so a late tick catches up instead of lowering the rate.
  const tick = setInterval(() => {
    const due = Math.floor(((performance.now() - startedAt) / 1000) * opts.perSecond) - facts.attempted;
    for (let i = 0; i < due; i++) open();
  }, opts.tickMs ?? 10);

  return {
    get held() {
      return held.size;
    },
    facts: () => ({ ...facts }),
    stop() {
      if (!stopped) {
        stopped = true;
        clearInterval(tick);
        for (const socket of held) socket.destroy();
        held.clear();
      }
      return { ...facts };
    },
  };
}
