import { type Counts, countSample, newCounts } from "./counts.ts";
import type { Sample } from "./samples.ts";

// The live figures (the live line, the live view, abort conditions), from the fleet's raw samples as they
// arrive: the run's counts so far, as runFleet's totals count them, and operations by outcome per second of
// their end. The report does not read these; it aggregates the samples itself.

export class LiveCounts {
  /** Everything counted so far: the same figures run.json ends with. */
  readonly counts: Counts = newCounts();
  /** second since load start (of the operation's end) → `op outcome` → operations. */
  private readonly seconds = new Map<number, Map<string, number>>();
  /** Operations ended so far. */
  total = 0;

  /** Terminals signed in now: sessions gained minus sessions lost. */
  get signedIn(): number {
    return this.counts.sessions["signed-in"] - this.counts.sessions["signed-out"];
  }

  /** Open-model arrivals dropped so far. */
  get dropped(): number {
    return this.counts.dropped;
  }

  add(sample: Sample): void {
    countSample(this.counts, sample);
    if ("ev" in sample) return;
    const second = Math.floor((sample.t + sample.ms) / 1000);
    let byOutcome = this.seconds.get(second);
    if (!byOutcome) {
      byOutcome = new Map();
      this.seconds.set(second, byOutcome);
      this.seconds.delete(second - 120); // the live line looks back one second; keep two minutes
    }
    const key = `${sample.op} ${sample.outcome}`;
    byOutcome.set(key, (byOutcome.get(key) ?? 0) + 1);
    this.total++;
  }

  /** Operations (of `op`, or all) that ended in [fromS, toS) seconds since load start, by outcome. */
  window(fromS: number, toS: number, op?: string): { ops: number; byOutcome: Map<string, number> } {
    const byOutcome = new Map<string, number>();
    let ops = 0;
    for (let s = fromS; s < toS; s++) {
      for (const [key, n] of this.seconds.get(s) ?? []) {
        const space = key.indexOf(" ");
        if (op !== undefined && key.slice(0, space) !== op) continue;
        const outcome = key.slice(space + 1);
        byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + n);
        ops += n;
      }
    }
    return { ops, byOutcome };
  }
}

const TIMEOUTS = ["timeout.connect", "timeout.response", "timeout.idle"] as const;

/** One line a second: elapsed, phase, operations/s, signed in, timeout rates by kind, other failures. */
export function liveLine(opts: {
  elapsedS: number;
  durationS: number;
  phase: string;
  live: LiveCounts;
  terminals: number;
}): string {
  const { elapsedS, live } = opts;
  const now = Math.floor(elapsedS);
  const { ops, byOutcome } = live.window(now - 1, now);
  const n = (outcome: string) => byOutcome.get(outcome) ?? 0;
  const rate = (outcome: string) => (ops === 0 ? 0 : (n(outcome) / ops) * 100);
  const other = ops - n("approved") - n("declined") - TIMEOUTS.reduce((sum, kind) => sum + n(kind), 0);
  const dropped = live.dropped > 0 ? `  dropped arrivals ${live.dropped}` : "";
  return (
    `${String(now).padStart(4)}s/${opts.durationS}s  ${opts.phase.padEnd(18)} ops/s ${String(ops).padStart(5)}  ` +
    `signed in ${live.signedIn}/${opts.terminals}  timeouts: connect ${rate("timeout.connect").toFixed(1)}% ` +
    `response ${rate("timeout.response").toFixed(1)}% idle ${rate("timeout.idle").toFixed(1)}%  other failures ${other}${dropped}`
  );
}
