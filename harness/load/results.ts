import { createWriteStream, type WriteStream } from "node:fs";
import { Writable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { createGzip, type Gzip, constants as zlibConstants } from "node:zlib";

// k6's `--out json` writes one JSON object per line: `Metric` declarations and `Point` samples
// ({ metric, data: { time, value, tags } }). runK6 streams them here while k6 runs: the recorder keeps
// posstorm's lines, gzipped, in the run folder, and hands each sample to the live line and the aggregator.

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
 * The run folder's raw samples: the lines of k6's JSON output that are posstorm's own metrics, gzipped. Every
 * sample is kept; k6's own and k6/x/tcp's per-sample metrics (iterations, data_*, vus, tcp_*) are left out:
 * their totals are in k6-summary.json.
 */
export const K6_RESULTS_FILE = "k6-results.json.gz";

/** Whether a line of k6's JSON output goes into the run folder: `Metric` and `Point` lines of pos_* metrics. */
export const isPosstormLine = (line: string): boolean => line.includes('"metric":"pos_');

export interface ResultsRecorderOptions {
  /** The gzipped JSON-lines file; created at the first kept line (no file: k6 wrote no posstorm sample). */
  file: string;
  /** Each kept sample, as it arrives (the live line, the streaming aggregator). */
  onPoint?: (point: Point) => void;
  /** Which lines to store (default isPosstormLine). */
  keep?: (line: string) => boolean;
  /** The file is flushed to a readable point this often while k6 runs (default 5,000 ms). */
  flushIntervalMs?: number;
}

/** Sizes of one recording. */
export interface RecordedResults {
  file: string;
  /** Lines k6 wrote, and the bytes of them. */
  linesRead: number;
  bytesRead: number;
  /** Lines stored, their bytes uncompressed, and the file's size. */
  linesKept: number;
  bytesKept: number;
  bytesStored: number;
}

/**
 * A Writable for k6's `--out json` bytes: splits them into lines, hands each kept sample to `onPoint` and writes
 * the kept lines gzipped to `file`. The file is a complete gzip stream once the recorder has finished (after
 * `end()`, also when k6 was stopped early); an unfinished last line (k6 killed mid-write) is dropped.
 */
export class ResultsRecorder extends Writable {
  readonly stats: RecordedResults;
  private readonly options: ResultsRecorderOptions;
  private readonly keep: (line: string) => boolean;
  private readonly decoder = new StringDecoder("utf8");
  private rest = "";
  private gzip: Gzip | undefined;
  private out: WriteStream | undefined;
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(options: ResultsRecorderOptions) {
    super({ highWaterMark: 1 << 20 });
    this.options = options;
    this.keep = options.keep ?? isPosstormLine;
    this.stats = {
      file: options.file,
      linesRead: 0,
      bytesRead: 0,
      linesKept: 0,
      bytesKept: 0,
      bytesStored: 0,
    };
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.stats.bytesRead += chunk.length;
    const lines = (this.rest + this.decoder.write(chunk)).split("\n");
    this.rest = lines.pop() ?? "";
    this.take(lines, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    const last = this.rest + this.decoder.end();
    this.rest = "";
    this.take(last && isJson(last) ? [last] : [], (error) => {
      if (error) return callback(error);
      clearInterval(this.flushTimer);
      const { gzip, out } = this;
      if (!gzip || !out) return callback();
      out.once("close", () => {
        this.stats.bytesStored = out.bytesWritten;
        callback();
      });
      gzip.end();
    });
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearInterval(this.flushTimer);
    this.gzip?.destroy();
    this.out?.destroy();
    callback(error);
  }

  private take(lines: string[], callback: (error?: Error | null) => void): void {
    const kept: string[] = [];
    try {
      for (const line of lines) {
        if (line === "") continue;
        this.stats.linesRead++;
        if (!this.keep(line)) continue;
        kept.push(line);
        if (this.options.onPoint) {
          const point = parsePoint(line);
          if (point) this.options.onPoint(point);
        }
      }
    } catch (error) {
      callback(error as Error);
      return;
    }
    if (kept.length === 0) {
      callback();
      return;
    }
    const text = `${kept.join("\n")}\n`;
    this.stats.linesKept += kept.length;
    this.stats.bytesKept += Buffer.byteLength(text);
    if (this.open().write(text)) callback();
    else this.gzip!.once("drain", () => callback());
  }

  private open(): Gzip {
    if (this.gzip) return this.gzip;
    const out = createWriteStream(this.options.file);
    const gzip = createGzip();
    const fail = (error: Error) => this.destroy(error);
    out.on("error", fail);
    gzip.on("error", fail);
    gzip.pipe(out);
    this.flushTimer = setInterval(
      () => gzip.flush(zlibConstants.Z_SYNC_FLUSH),
      this.options.flushIntervalMs ?? 5_000,
    );
    this.flushTimer.unref();
    this.gzip = gzip;
    this.out = out;
    return gzip;
  }
}

function isJson(line: string): boolean {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
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
