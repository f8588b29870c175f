import { closeSync, openSync, readSync, statSync } from "node:fs";

// k6's `--out json=<file>` writes one JSON object per line: `Metric` declarations and `Point` samples
// ({ metric, data: { time, value, tags } }). These helpers follow that file while k6 writes it.

export interface Point {
  metric: string;
  /** Sample time, ms since the epoch. */
  timeMs: number;
  value: number;
  tags: Record<string, string>;
}

/** Parses one line of k6's JSON output; undefined for anything that is not a sample. */
export function parsePoint(line: string): Point | undefined {
  if (!line.includes('"Point"')) return undefined;
  try {
    const json = JSON.parse(line) as {
      type: string;
      metric: string;
      data: { time: string; value: number; tags?: Record<string, string> | null };
    };
    if (json.type !== "Point") return undefined;
    return {
      metric: json.metric,
      timeMs: Date.parse(json.data.time),
      value: json.data.value,
      tags: json.data.tags ?? {},
    };
  } catch {
    return undefined;
  }
}

/**
 * Reads the lines appended to `file` since the last call (a partial last line waits for the next call).
 * Returns a reader; call it on a timer while k6 runs and once more after it exits.
 */
export function lineFollower(file: string): () => string[] {
  let offset = 0;
  let rest = "";
  const chunk = Buffer.alloc(1 << 20);
  return () => {
    let size: number;
    try {
      size = statSync(file).size;
    } catch {
      return [];
    }
    if (size <= offset) return [];
    const fd = openSync(file, "r");
    try {
      let text = rest;
      while (offset < size) {
        const read = readSync(fd, chunk, 0, Math.min(chunk.length, size - offset), offset);
        if (read <= 0) break;
        offset += read;
        text += chunk.toString("utf8", 0, read);
      }
      const lines = text.split("\n");
      rest = lines.pop() ?? "";
      return lines;
    } finally {
      closeSync(fd);
    }
  };
}

/** Operation counts of one second, for the live line: `op` → `outcome` → count. */
export type SecondCounts = Map<string, Map<string, number>>;

/** Counts pos_ops samples per second (by the sample's own time), for the live progress line. */
export class LiveCounts {
  readonly seconds = new Map<number, SecondCounts>();
  /** Terminals signed in now: pos_session_changes `signed-in` minus `signed-out`. */
  signedIn = 0;
  total = 0;

  add(point: Point): void {
    if (point.metric === "pos_session_changes") {
      this.signedIn += point.tags.change === "signed-out" ? -point.value : point.value;
      return;
    }
    if (point.metric !== "pos_ops") return;
    const second = Math.floor(point.timeMs / 1000);
    let counts = this.seconds.get(second);
    if (!counts) {
      counts = new Map();
      this.seconds.set(second, counts);
    }
    const op = point.tags.op ?? "?";
    const outcome = point.tags.outcome ?? "?";
    let byOutcome = counts.get(op);
    if (!byOutcome) {
      byOutcome = new Map();
      counts.set(op, byOutcome);
    }
    byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + point.value);
    this.total += point.value;
  }

  /** Totals over the seconds in [fromSecond, toSecond). */
  window(fromSecond: number, toSecond: number): { ops: number; byOutcome: Map<string, number> } {
    const byOutcome = new Map<string, number>();
    let ops = 0;
    for (let s = fromSecond; s < toSecond; s++) {
      for (const outcomes of this.seconds.get(s)?.values() ?? []) {
        for (const [outcome, n] of outcomes) {
          byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + n);
          ops += n;
        }
      }
    }
    return { ops, byOutcome };
  }
}
