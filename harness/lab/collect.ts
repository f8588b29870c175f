import { createWriteStream, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { COLLECTED_DIR, finalMetricsFileOf, ledgerFileOf } from "../run-folder/index.ts";
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
  await Promise.all(
    Object.entries(lab.admin).map(async ([role, url]) => {
      const get = async (path: string) => {
        const response = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(5_000) });
        if (!response.ok) throw new Error(`${role} ${path}: HTTP ${response.status}`);
        return await response.text();
      };
      try {
        writeFileSync(join(runDir, finalMetricsFileOf(role)), await get("/metrics"));
        if (role.startsWith("issuer-"))
          await download(`${url}/ledger?format=ndjson`, join(runDir, ledgerFileOf(role)));
      } catch (error) {
        log(`collect ${role}: ${(error as Error).message}`);
      }
    }),
  );
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
