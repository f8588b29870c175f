import type { KeyLayout } from "../../protocol/index.ts";
import { HsmClient, HsmError, type HsmFailure, type WorkingKeysResult } from "../hsm/index.ts";

// The switch's HSM connections: `size` clients of the HSM host-command protocol (harness/sim/hsm/client.ts:
// one TCP connection each, calls pipelined on it, reconnecting on the next call after a close). Calls go to
// a connected client round-robin; when none is connected, a client tries to connect within the call's time.

export { HsmError, type HsmFailure };

export interface HsmPoolEvents {
  /** The HSM answers again after a failure. */
  up(): void;
  /** A call failed for want of a connection (logged once per outage). */
  down(reason: string): void;
}

export class HsmPool {
  readonly #clients: HsmClient[] = [];
  readonly #host: string;
  readonly #port: number;
  readonly #events: HsmPoolEvents;
  #next = 0;
  #down = false;

  constructor(host: string, port: number, size: number, events: HsmPoolEvents) {
    this.#host = host;
    this.#port = port;
    this.#events = events;
    this.resize(size, 0);
  }

  /** Clients with an established connection. */
  get upCount(): number {
    let n = 0;
    for (const client of this.#clients) if (client.connected) n++;
    return n;
  }

  /** Asks the HSM for a terminal's working keys (command A0), wrapped under its TMK. */
  async workingKeys(
    tid: string,
    layout: KeyLayout,
    options: { timeoutMs: number },
  ): Promise<WorkingKeysResult> {
    const clients = this.#clients;
    if (clients.length === 0) throw new HsmError("closed", "HSM pool is closed");
    let client = clients[this.#next++ % clients.length]!;
    for (let tries = 1; !client.connected && tries < clients.length; tries++) {
      client = clients[this.#next++ % clients.length]!;
    }
    try {
      const result = await client.workingKeys(tid, layout, options);
      if (this.#down) {
        this.#down = false;
        this.#events.up();
      }
      return result;
    } catch (error) {
      if (
        error instanceof HsmError &&
        (error.reason === "connect" || error.reason === "closed") &&
        !this.#down
      ) {
        this.#down = true;
        this.#events.down(error.message);
      }
      throw error;
    }
  }

  /** Grows the pool, or closes its newest clients once their calls are answered (at most `drainMs` later). */
  resize(size: number, drainMs: number): void {
    while (this.#clients.length < size) {
      const client = new HsmClient();
      this.#clients.push(client);
      client.connect(this.#host, this.#port).catch((error: Error) => {
        if (this.#down) return;
        this.#down = true;
        this.#events.down(error.message);
      });
    }
    while (this.#clients.length > size) {
      const client = this.#clients.pop()!;
      const started = Date.now();
      const retire = () => {
        if (client.outstanding === 0 || Date.now() - started >= drainMs) void client.close();
        else setTimeout(retire, 100).unref();
      };
      retire();
    }
  }

  close(): void {
    for (const client of this.#clients.splice(0)) void client.close();
  }
}
