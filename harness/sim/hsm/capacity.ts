// The HSM's capacity model: calls wait in one FIFO queue, start when a worker is free *and* the token bucket
// has a token, and keep their worker for the service time, kept on the clock rather than by each call's own
// timer (so `workers` workers at `serviceTimeMs` serve workers / serviceTimeMs calls per ms even though
// timers fire late). Starts keep to a grid (no bursts): at
// capacityPerSecond = 50, starts are 20 ms apart, so a burst of 100 calls ends about 2 s later. A call that
// finds `maxQueue` calls already waiting is refused at once. Limits are read on every decision, so a change
// through PUT /config takes effect for the next call (calls already queued stay queued).

export interface CapacityLimits {
  /** Calls started per second; 0 = unlimited. */
  capacityPerSecond: number;
  /** Time a call keeps its worker, in ms. */
  serviceTimeMs: number;
  /** Calls served at the same time. */
  workers: number;
  /** Calls allowed to wait; one more is refused. */
  maxQueue: number;
}

/** When a served call finishes: its wait in the queue and its service time, in ms. */
export type CallDone = (timing: { waitedMs: number; servedMs: number }) => void;

/** How late a start may be against the rate grid and still keep it (ms): timer lateness, not a burst. */
const LATE_SLACK_MS = 5;

/** Window of the utilisation figure, in ms. */
const WINDOW_MS = 1000;

/** A FIFO with O(1) shift. */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(item: T): void {
    this.items.push(item);
  }
  peek(): T | undefined {
    return this.items[this.head];
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
  clear(): void {
    this.items = [];
    this.head = 0;
  }
  *[Symbol.iterator](): Iterator<T> {
    for (let i = this.head; i < this.items.length; i++) yield this.items[i]!;
  }
}

interface Waiting {
  enqueuedAt: number;
  done: CallDone;
}

export class CapacityModel {
  private readonly limits: () => CapacityLimits;
  private readonly now: () => number;
  private readonly queue = new Fifo<Waiting>();
  private readonly serving = new Map<ReturnType<typeof setTimeout>, number>();
  /** Busy intervals of finished calls, by end time, for the utilisation window. */
  private readonly finished = new Fifo<{ start: number; end: number }>();
  private readonly starts = new Fifo<number>();
  /** When the next call may start (the rate grid), ms on the model's clock. */
  private nextStartAt: number;
  /** When each idle worker became free, on the model's clock (at most `workers` entries). */
  private readonly freeSince: number[] = [];
  private wakeUp: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  constructor(limits: () => CapacityLimits, now: () => number = () => performance.now()) {
    this.limits = limits;
    this.now = now;
    this.nextStartAt = now();
  }

  get queueDepth(): number {
    return this.queue.length;
  }

  get inFlight(): number {
    return this.serving.size;
  }

  /** Queues a call; false (and nothing queued) when `maxQueue` calls are already waiting. */
  submit(done: CallDone): boolean {
    if (this.closed) return false;
    if (this.queue.length >= this.limits().maxQueue) return false;
    this.queue.push({ enqueuedAt: this.now(), done });
    this.pump();
    return true;
  }

  /** Re-reads the limits (after a config change) and starts whatever may start now. */
  poke(): void {
    if (this.wakeUp) {
      clearTimeout(this.wakeUp);
      this.wakeUp = undefined;
    }
    this.pump();
  }

  /**
   * Busy fraction of capacity over the last second, 0..1: the larger of worker time used / (workers × 1 s) and
   * calls started / capacityPerSecond.
   */
  utilisation(): number {
    const now = this.now();
    const from = now - WINDOW_MS;
    this.prune(from);
    let busy = 0;
    for (const { start, end } of this.finished) busy += end - Math.max(start, from);
    for (const start of this.serving.values()) busy += now - Math.max(start, from);
    const { workers, capacityPerSecond } = this.limits();
    const workerShare = busy / (workers * WINDOW_MS);
    const rateShare = capacityPerSecond > 0 ? this.starts.length / capacityPerSecond : 0;
    return Math.min(1, Math.max(workerShare, rateShare));
  }

  /** Drops every waiting call (their `done` never runs) and stops all timers. */
  close(): void {
    this.closed = true;
    if (this.wakeUp) clearTimeout(this.wakeUp);
    for (const timer of this.serving.keys()) clearTimeout(timer);
    this.serving.clear();
    this.queue.clear();
    this.freeSince.length = 0;
  }

  private pump(): void {
    if (this.closed || this.wakeUp) return;
    while (this.queue.length > 0) {
      const limits = this.limits();
      if (this.serving.size >= limits.workers) return;
      const waitMs = this.takeToken(limits.capacityPerSecond);
      if (waitMs > 0) {
        this.wakeUp = setTimeout(
          () => {
            this.wakeUp = undefined;
            this.pump();
          },
          Math.max(1, Math.ceil(waitMs)),
        );
        return;
      }
      this.start(this.queue.shift()!, limits.serviceTimeMs);
    }
    const idle = Math.max(0, this.limits().workers - this.serving.size);
    if (this.freeSince.length > idle) this.freeSince.splice(0, this.freeSince.length - idle);
  }

  /**
   * Takes the next start slot if it is due (0), else says how long until it is (ms). Starts keep to a grid of
   * 1000 / rate ms (the theoretical start time, as in GCRA): a timer that fires late (timers fire on whole
   * milliseconds, later under load) does not push the grid back, so the rate is what was set, not less; an
   * idle HSM earns no burst beyond LATE_SLACK_MS.
   */
  private takeToken(rate: number): number {
    const now = this.now();
    if (rate <= 0) {
      this.nextStartAt = now;
      return 0;
    }
    if (now + 0.001 < this.nextStartAt) return this.nextStartAt - now;
    this.nextStartAt = Math.max(this.nextStartAt, now - LATE_SLACK_MS) + 1000 / rate;
    return 0;
  }

  /**
   * Serves a call on the worker that became free first. Service keeps to the clock, not to timers: a call
   * starts when its worker became free (the end of its last call), or when it came if later, so a worker
   * whose timer fires late (timers fire on whole milliseconds, later under load) does not lose the time it
   * was late by; a call that should already have ended by then ends at once. The workers then serve
   * `workers / serviceTimeMs` calls per ms, as set, as long as the HSM's own event loop is less than
   * LATE_SLACK_MS late; beyond that the HSM is overloaded, and it serves fewer.
   */
  private start(call: Waiting, serviceTimeMs: number): void {
    const now = this.now();
    const startedAt = Math.max(this.takeFreeWorker(), call.enqueuedAt, now - LATE_SLACK_MS);
    const endsAt = startedAt + serviceTimeMs;
    this.prune(now - WINDOW_MS);
    this.starts.push(startedAt);
    if (endsAt <= now) {
      this.finish(call, startedAt, endsAt);
      return;
    }
    const timer = setTimeout(() => {
      this.serving.delete(timer);
      try {
        this.finish(call, startedAt, endsAt);
      } finally {
        this.pump();
      }
    }, endsAt - now);
    this.serving.set(timer, startedAt);
  }

  private finish(call: Waiting, startedAt: number, endsAt: number): void {
    this.finished.push({ start: startedAt, end: endsAt });
    this.freeSince.push(endsAt);
    call.done({ waitedMs: startedAt - call.enqueuedAt, servedMs: this.now() - startedAt });
  }

  /** When the first free worker became free (and forgets it); -Infinity when none is on record. */
  private takeFreeWorker(): number {
    const free = this.freeSince;
    if (free.length === 0) return -Infinity;
    let first = 0;
    for (let i = 1; i < free.length; i++) if (free[i]! < free[first]!) first = i;
    const at = free[first]!;
    free[first] = free[free.length - 1]!;
    free.pop();
    return at;
  }

  private prune(from: number): void {
    while (this.finished.length > 0 && this.finished.peek()!.end < from) this.finished.shift();
    while (this.starts.length > 0 && this.starts.peek()! < from) this.starts.shift();
  }
}
