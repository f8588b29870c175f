import { type Counter, type Gauge, type Histogram, Registry } from "../common/metrics.ts";

/** Request MTIs the switch serves; anything else is labelled `other`. */
const KNOWN_MTIS = new Set(["0200", "0400", "0800", "0820"]);

export type MalformedAction = "answered" | "closed";
export type ConnectionMode = "short" | "long";

/**
 * The switch's Prometheus metrics. Replies are counted per (MTI, code) in a local table and folded into the
 * registry once per event-loop turn (setImmediate), so the hot path builds no label keys; a scrape sees every
 * reply written before the turn it runs in.
 */
export class SwitchMetrics {
  readonly registry = new Registry();
  readonly requests: Counter;
  readonly latency: Histogram;
  readonly lateReplies: Counter;
  readonly malformed: Counter;
  readonly connections: Gauge;
  readonly reversals: Counter;
  readonly hsmRequests: Counter;
  readonly unmatchedReplies: Counter;
  readonly undeliverable: Counter;
  readonly issuerLinks: Gauge;
  readonly hsmLinks: Gauge;
  #pending = new Map<string, { mti: string; code: string; count: number; seconds: number[] }>();
  #flushScheduled = false;

  constructor(read: {
    inFlight(): number;
    queueDepth(): number;
    pendingReversals(): number;
    sessions(): number;
  }) {
    const r = this.registry;
    this.requests = r.counter(
      "switch_requests_total",
      "replies sent to terminals, by request MTI and F39 code",
    );
    r.gauge("switch_in_flight", "sign-ins, purchases and reversals waiting for the HSM or an issuer").track(
      read.inFlight,
    );
    r.gauge("switch_queue_depth", "requests waiting for an in-flight slot (shedding on)").track(
      read.queueDepth,
    );
    this.latency = r.histogram(
      "switch_latency_seconds",
      "time from request received to reply written, by MTI",
    );
    this.lateReplies = r.counter(
      "switch_late_replies_total",
      "issuer replies that arrived after the switch had answered the terminal 98",
    );
    r.gauge(
      "switch_pending_reversals",
      "store-and-forward reversals the issuer has not acknowledged yet",
    ).track(read.pendingReversals);
    r.gauge("switch_sessions", "terminals signed in (with a MAC key)").track(read.sessions);
    this.malformed = r.counter(
      "switch_malformed_frames_total",
      "terminal frames that did not decode: answered 30, or the connection closed",
    );
    this.connections = r.gauge(
      "switch_connections",
      "open terminal connections, by mode (short until a 2nd request or an echo)",
    );
    this.connections.set(0, { mode: "short" });
    this.connections.set(0, { mode: "long" });
    this.reversals = r.counter(
      "switch_saf_reversals_total",
      "store-and-forward reversals: queued, sent (each attempt) and acknowledged (by issuer code)",
    );
    this.hsmRequests = r.counter("switch_hsm_requests_total", "working-key requests to the HSM, by result");
    this.unmatchedReplies = r.counter(
      "switch_unmatched_replies_total",
      "issuer replies that match no request the switch knows",
    );
    this.undeliverable = r.counter(
      "switch_undeliverable_replies_total",
      "replies not written because the terminal had closed its connection, by F39 (approvals among them are reversed)",
    );
    this.issuerLinks = r.gauge("switch_issuer_connections", "established connections per issuer link");
    this.hsmLinks = r.gauge("switch_hsm_connections", "established connections to the HSM");
  }

  /** One reply sent: `mti` of the request, F39 `code`, `seconds` since the request arrived. */
  reply(mti: string, code: string, seconds: number): void {
    const label = KNOWN_MTIS.has(mti) ? mti : "other";
    const k = label + code;
    let entry = this.#pending.get(k);
    if (!entry) {
      entry = { mti: label, code, count: 0, seconds: [] };
      this.#pending.set(k, entry);
    }
    entry.count++;
    entry.seconds.push(seconds);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(this.flush);
    }
  }

  malformedFrame(action: MalformedAction): void {
    this.malformed.inc({ action });
  }

  /** Folds the replies counted since the last flush into the registry (runs once per event-loop turn). */
  readonly flush = (): void => {
    this.#flushScheduled = false;
    for (const entry of this.#pending.values()) {
      if (entry.count === 0) continue;
      this.requests.inc({ mti: entry.mti, code: entry.code }, entry.count);
      const labels = { mti: entry.mti };
      for (const s of entry.seconds) this.latency.observe(s, labels);
      entry.count = 0;
      entry.seconds.length = 0;
    }
  };
}
