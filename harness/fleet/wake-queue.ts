// A binary min-heap of (time, terminal, count) in typed arrays, for terminals waiting out their think time:
// 16 bytes each, with no timer, promise or closure per waiting terminal. Capacity is fixed (each terminal
// waits at most once at a time). Equal times come out in no particular order.

export class WakeQueue {
  private readonly times: Float64Array;
  private readonly terminals: Int32Array;
  private readonly counts: Int32Array;
  private n = 0;

  constructor(capacity: number) {
    const c = Math.max(1, capacity);
    this.times = new Float64Array(c);
    this.terminals = new Int32Array(c);
    this.counts = new Int32Array(c);
  }

  get size(): number {
    return this.n;
  }

  /** The earliest time, or +Infinity when empty. */
  peekTime(): number {
    return this.n === 0 ? Number.POSITIVE_INFINITY : this.times[0]!;
  }

  push(time: number, terminal: number, count: number): void {
    if (this.n === this.times.length) throw new Error(`wake queue full (${this.n} terminals waiting)`);
    let i = this.n++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.times[parent]! <= time) break;
      this.move(parent, i);
      i = parent;
    }
    this.set(i, time, terminal, count);
  }

  /** Removes the earliest entry; `out` receives its terminal and count. Returns its time. */
  pop(out: { terminal: number; count: number }): number {
    if (this.n === 0) throw new Error("wake queue is empty");
    const time = this.times[0]!;
    out.terminal = this.terminals[0]!;
    out.count = this.counts[0]!;
    const last = --this.n;
    if (last > 0) {
      const t = this.times[last]!;
      const terminal = this.terminals[last]!;
      const count = this.counts[last]!;
      let i = 0;
      for (;;) {
        let child = 2 * i + 1;
        if (child >= last) break;
        if (child + 1 < last && this.times[child + 1]! < this.times[child]!) child++;
        if (this.times[child]! >= t) break;
        this.move(child, i);
        i = child;
      }
      this.set(i, t, terminal, count);
    }
    return time;
  }

  private move(from: number, to: number): void {
    this.times[to] = this.times[from]!;
    this.terminals[to] = this.terminals[from]!;
    this.counts[to] = this.counts[from]!;
  }

  private set(i: number, time: number, terminal: number, count: number): void {
    this.times[i] = time;
    this.terminals[i] = terminal;
    this.counts[i] = count;
  }
}
