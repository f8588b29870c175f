import { createWriteStream, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { COLLECTED_DIR, finalMetricsFileOf, ledgerFileOf } from "../run-folder/index.ts";
import { parsePrometheus } from "../shared/prometheus.ts";
import type { StartedLab } from "./lab.ts";

// What a started lab hands over at the end of a run, into the run folder's collected/.

/** A ledger download that receives nothing for this long fails (the whole download may take longer). */
const LEDGER_STALL_MS = 10_000;

/**
 * What the lab knows after the run: issuer ledgers and every program's final metrics. A ledger (one entry per
 * purchase the issuer saw: ~300 MB of JSON for 10 minutes at 2,000/s) is streamed from GET /ledger?format=ndjson
 * through gzip into collected/issuer-<name>.ledger.ndjson.gz, never held whole; the file appears complete or not
 * at all.
 */
export async function collect(lab: StartedLab, runDir: string, log: (line: string) => void): Promise<void> {
  const out = join(runDir, COLLECTED_DIR);
  mkdirSync(out, { recursive: true });
  // Final metrics from every page the lab scrapes (Toxiproxy's aside: its runtime figures are in the series).
  const pages = Object.entries(lab.metrics).filter(([role]) => role !== "toxiproxy");
  await Promise.all([
    ...pages.map(async ([role, url]) => {
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
        if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
        writeFileSync(join(runDir, finalMetricsFileOf(role)), await response.text());
      } catch (error) {
        log(`collect ${role} metrics: ${(error as Error).message}`);
      }
    }),
    ...Object.entries(lab.admin)
      .filter(([role]) => role.startsWith("issuer-"))
      .map(async ([role, url]) => {
        try {
          await download(`${url}/ledger?format=ndjson`, join(runDir, ledgerFileOf(role)));
        } catch (error) {
          log(`collect ${role} ledger: ${(error as Error).message}`);
        }
      }),
  ]);
}

/** The longest settle() waits for the switch to finish what it still owes. */
export const SETTLE_MAX_MS = 30_000;

/**
 * Waits (at most `maxMs`) until the switch has nothing in flight and no store-and-forward reversal pending, so
 * the ledgers collected next show what the switch did, not a moment in the middle of it: a purchase the switch
 * timed out is reversed at the issuer a little later, and counting it before would call it one-sided. Returns
 * what was still owed when it stopped waiting (0: settled).
 */
export async function settle(
  lab: StartedLab,
  log: (line: string) => void,
  maxMs = SETTLE_MAX_MS,
): Promise<number> {
  const url = lab.admin.switch;
  if (!url) return 0;
  const deadline = Date.now() + maxMs;
  let owed = 0;
  let said = false;
  for (;;) {
    try {
      const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2_000) });
      const metrics = parsePrometheus(await response.text());
      owed = (metrics.get("switch_in_flight") ?? 0) + (metrics.get("switch_pending_reversals") ?? 0);
    } catch {
      return 0; // a switch that does not answer has nothing more to send
    }
    if (owed === 0 || Date.now() >= deadline) break;
    if (!said) {
      log(`waiting for the switch: ${owed} request(s) in flight or reversal(s) pending`);
      said = true;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  if (owed > 0)
    log(
      `the switch still owed ${owed} request(s) or reversal(s) after ${maxMs / 1000} s: the ledgers show them undone`,
    );
  return owed;
}

/** GET `url` gzipped into `file` as it arrives (via `file`.partial, renamed once whole). */
async function download(url: string, file: string): Promise<void> {
  const stalled = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const watch = () => {
    clearTimeout(timer);
    timer = setTimeout(
      () => stalled.abort(new Error(`${url}: no data for ${LEDGER_STALL_MS} ms`)),
      LEDGER_STALL_MS,
    );
  };
  const partial = `${file}.partial`;
  try {
    watch();
    const response = await fetch(url, { signal: stalled.signal });
    if (!response.ok || !response.body) throw new Error(`${url}: HTTP ${response.status}`);
    await pipeline(
      response.body,
      async function* (chunks: AsyncIterable<Uint8Array>) {
        for await (const chunk of chunks) {
          watch();
          yield chunk;
        }
      },
      createGzip(),
      createWriteStream(partial),
    );
    renameSync(partial, file);
  } catch (error) {
    rmSync(partial, { force: true });
    throw stalled.signal.aborted ? stalled.signal.reason : error;
  } finally {
    clearTimeout(timer);
  }
}
