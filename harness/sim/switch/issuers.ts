import { decodeFrame, type Frame } from "../../protocol/index.ts";
import type { Address } from "./config.ts";
import { LinkPool, type PersistentLink } from "./link.ts";

// Issuer links: per issuer a pool of persistent connections; requests from every terminal are multiplexed on
// them and replies (possibly out of order, on any connection of the pool) are matched by kind + TID + STAN.
// No MAC on this host link.

/** Someone waiting for an issuer reply. */
export interface Waiter {
  /** The connection the request went out on. */
  link: PersistentLink | undefined;
  /** The matching reply arrived. */
  replied(reply: Frame): void;
  /** The connection carrying the request closed before the reply. */
  lost(): void;
}

export interface IssuerEvents {
  /** Every reply, with its waiter if one was registered (already removed). */
  reply(reply: Frame, waiter: Waiter | undefined): void;
  /** A reply that does not decode. */
  unreadable(link: PersistentLink, error: Error): void;
  up(link: PersistentLink): void;
  down(link: PersistentLink, reason: string, wasUp: boolean): void;
}

/** Correlation key of a request or reply: `2` (0200/0210) or `4` (0400/0410), then TID (F41) and STAN (F11). */
export function correlationKey(kind: "2" | "4", tid: string, stan: string): string {
  return kind + tid + stan;
}

const NO_PREFIX = { lengthPrefix: false } as const;

export class Issuers {
  readonly pools = new Map<string, LinkPool>();
  readonly #waiters = new Map<string, Waiter>();
  readonly #events: IssuerEvents;

  constructor(addresses: Map<string, Address>, poolSize: number, events: IssuerEvents) {
    this.#events = events;
    const handler = {
      frame: (link: PersistentLink, body: Uint8Array) => this.#frame(link, body),
      up: (link: PersistentLink) => events.up(link),
      down: (link: PersistentLink, reason: string, wasUp: boolean) => {
        this.#lost(link);
        events.down(link, reason, wasUp);
      },
    };
    for (const [name, { host, port }] of addresses) {
      this.pools.set(name, new LinkPool(name, host, port, poolSize, handler));
    }
  }

  /** Whether a request with this key is waiting for its reply. */
  waiting(key: string): boolean {
    return this.#waiters.has(key);
  }

  /** Whether `issuer` has an established connection. */
  isUp(issuer: string): boolean {
    const pool = this.pools.get(issuer);
    return pool !== undefined && pool.upCount > 0;
  }

  /** Sends `frame` (length included) and registers `waiter` under `key`; false when the issuer link is down. */
  request(issuer: string, key: string, frame: Uint8Array, waiter: Waiter): boolean {
    const link = this.pools.get(issuer)?.pick();
    if (!link) return false;
    waiter.link = link;
    this.#waiters.set(key, waiter);
    link.inFlight++;
    link.write(frame);
    return true;
  }

  /** Sends a frame nobody waits for (its reply goes to `events.reply` without a waiter). */
  send(issuer: string, frame: Uint8Array): boolean {
    const link = this.pools.get(issuer)?.pick();
    return link ? link.write(frame) : false;
  }

  /** Stops waiting (the switch has answered the terminal already). */
  forget(key: string, waiter: Waiter): void {
    if (this.#waiters.get(key) !== waiter) return;
    this.#waiters.delete(key);
    if (waiter.link) waiter.link.inFlight--;
  }

  resize(size: number, drainMs: number): void {
    for (const pool of this.pools.values()) pool.resize(size, drainMs);
  }

  /** Drops every waiter without calling it, and every connection. */
  close(): Waiter[] {
    const waiters = [...this.#waiters.values()];
    this.#waiters.clear();
    for (const pool of this.pools.values()) pool.close();
    return waiters;
  }

  #frame(link: PersistentLink, body: Uint8Array): void {
    if (body.length === 0) return;
    let reply: Frame;
    try {
      reply = decodeFrame(body, NO_PREFIX);
    } catch (error) {
      this.#events.unreadable(link, error as Error);
      return;
    }
    const fields = reply.message.fields;
    const tid = fields[41];
    const stan = fields[11];
    const mti = reply.message.mti;
    let waiter: Waiter | undefined;
    if (typeof tid === "string" && typeof stan === "string" && (mti === "0210" || mti === "0410")) {
      const key = correlationKey(mti === "0210" ? "2" : "4", tid, stan);
      waiter = this.#waiters.get(key);
      if (waiter) {
        this.#waiters.delete(key);
        if (waiter.link) waiter.link.inFlight--;
      }
    }
    this.#events.reply(reply, waiter);
    waiter?.replied(reply);
  }

  #lost(link: PersistentLink): void {
    const lost: Waiter[] = [];
    for (const [key, waiter] of this.#waiters) {
      if (waiter.link !== link) continue;
      this.#waiters.delete(key);
      link.inFlight--;
      lost.push(waiter);
    }
    for (const waiter of lost) waiter.lost();
  }
}
