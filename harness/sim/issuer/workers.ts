/**
 * A pool of `limit()` workers with a FIFO queue in front: requests beyond the limit wait their turn, so queues
 * form for real under load. The limit is read on every decision (a PUT /config change applies at once).
 */
export class WorkerPool {
  private readonly limit: () => number;
  private readonly waiting: (() => void)[] = [];
  private waitingHead = 0;
  private busy = 0;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private closed = false;

  constructor(limit: () => number) {
    this.limit = limit;
  }

  /** Requests being served. */
  get active(): number {
    return this.busy;
  }

  /** Requests waiting for a worker. */
  get queued(): number {
    return this.waiting.length - this.waitingHead;
  }

  /** Waits for a worker, keeps it for `serviceMs`, then resolves. Never resolves after close(). */
  async serve(serviceMs: number): Promise<void> {
    await this.acquire();
    try {
      await new Promise<void>((resolve) => {
        if (this.closed) return;
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          resolve();
        }, serviceMs);
        this.timers.add(timer);
      });
    } finally {
      this.release();
    }
  }

  /** Starts waiting requests if the limit went up. */
  poke(): void {
    while (this.queued > 0 && this.busy < this.limit()) {
      this.busy++;
      this.next()();
    }
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.waiting.length = 0;
    this.waitingHead = 0;
  }

  private acquire(): Promise<void> {
    if (this.closed) return new Promise<void>(() => {});
    if (this.busy < this.limit() && this.queued === 0) {
      this.busy++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    this.busy--;
    this.poke();
  }

  private next(): () => void {
    const resolve = this.waiting[this.waitingHead++]!;
    if (this.waitingHead > 1024 && this.waitingHead * 2 > this.waiting.length) {
      this.waiting.splice(0, this.waitingHead);
      this.waitingHead = 0;
    }
    return resolve;
  }
}
