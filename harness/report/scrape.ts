import { appendFileSync } from "node:fs";
import { parsePrometheus } from "../shared/prometheus.ts";
import { keepServerMetric, type ServerSampleLine } from "./aggregate.ts";

// Server-side series while a run goes: every program's /metrics scraped once a second into the same timeline
// as the fleet's samples. Each scrape goes to `onSample` (an Aggregator's addServerSample) and, when `file` is set,
// is appended to it as one JSON line (`<run dir>/server-metrics.jsonl`, which aggregateFile reads back).

export interface ScraperOptions {
  /** Role → metrics page URL (lab.metrics: `{ switch: "http://127.0.0.1:…/metrics", hsm: …, toxiproxy: … }`). */
  pages: Readonly<Record<string, string>>;
  /** Metric names kept beyond keepServerMetric's (your switch's, from the profile's switchMetrics.chart). */
  keep?: readonly string[];
  /** Scrape period, ms (default 1000). */
  intervalMs?: number;
  /** Called with each program's kept metrics. */
  onSample?: (tMs: number, role: string, metrics: Map<string, number>) => void;
  /** Append every scrape here as a ServerSampleLine. */
  file?: string;
  /** Time source (default Date.now). */
  now?: () => number;
}

export interface Scraper {
  /** Scrapes every program once now (also what the timer does). */
  scrapeOnce(): Promise<void>;
  /** Stops the timer and waits for a scrape in progress. */
  stop(): Promise<void>;
  /** Failed scrapes so far, by role (a program restarting is expected to miss a few). */
  readonly failures: Readonly<Record<string, number>>;
}

export function startServerScraper(options: ScraperOptions): Scraper {
  const now = options.now ?? Date.now;
  const failures: Record<string, number> = {};
  const extra = new Set(options.keep ?? []);
  let inFlight: Promise<void> = Promise.resolve();
  const scrapeOnce = async () => {
    await Promise.all(
      Object.entries(options.pages).map(async ([role, url]) => {
        const tMs = now();
        try {
          const response = await fetch(url, { signal: AbortSignal.timeout(900) });
          if (!response.ok) throw new Error(`HTTP ${response.status}`);
          const kept = new Map<string, number>();
          for (const [key, value] of parsePrometheus(await response.text())) {
            if (keepServerMetric(key, extra) && Number.isFinite(value)) kept.set(key, value);
          }
          options.onSample?.(tMs, role, kept);
          if (options.file) {
            const line: ServerSampleLine = { t: tMs, role, metrics: Object.fromEntries(kept) };
            appendFileSync(options.file, `${JSON.stringify(line)}\n`);
          }
        } catch {
          failures[role] = (failures[role] ?? 0) + 1;
        }
      }),
    );
  };
  const timer = setInterval(() => {
    inFlight = inFlight.then(scrapeOnce);
  }, options.intervalMs ?? 1000);
  return {
    scrapeOnce: () => (inFlight = inFlight.then(scrapeOnce)),
    async stop() {
      clearInterval(timer);
      await inFlight;
    },
    failures,
  };
}
