// A metric point: the aggregator's unit of input. The fleet engine's raw samples become points
// (Aggregator.addSample); run folders written before the fleet engine kept k6's JSON output, whose `Point` lines
// parsePoint reads, so their reports can still be rendered.

export interface Point {
  /** pos_ops, pos_op_duration, pos_timeouts, pos_retries, pos_skipped, pos_reversal_events, … */
  metric: string;
  /** Sample time, ms since the epoch. */
  timeMs: number;
  value: number;
  tags: Record<string, string>;
}

/** Raw results of a run made before the fleet engine (k6's JSON output, posstorm's lines, gzipped). */
export const K6_RESULTS_FILE = "k6-results.json.gz";

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
