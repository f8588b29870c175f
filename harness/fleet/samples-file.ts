import { createWriteStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import { createGzip, constants as zlib } from "node:zlib";

// The raw samples file: NDJSON text from the segments, gzipped as it arrives (never the whole run in memory).
// close() ends the gzip member and waits until the file is on disk, so after a normal end, an abort or an
// error the file is a complete gzip that `gunzip` reads to the last line written.

export interface SamplesFileStats {
  path: string;
  /** Lines (sample records) written. */
  records: number;
  /** NDJSON bytes before compression. */
  bytes: number;
  /** Bytes of the gzip file. */
  gzipBytes: number;
}

export interface SamplesFile {
  /** Appends NDJSON text holding `records` lines (each ending in a newline). */
  write(lines: string, records: number): void;
  /** Ends the gzip and closes the file; safe to call more than once. */
  close(): Promise<SamplesFileStats>;
}

/** Opens (creates or truncates) `path`; rejects when the file cannot be opened. */
export async function openSamplesFile(path: string): Promise<SamplesFile> {
  const file = createWriteStream(path);
  await new Promise<void>((resolve, reject) => {
    file.once("open", () => resolve());
    file.once("error", (error) =>
      reject(new Error(`cannot open the samples file ${path}: ${error.message}`, { cause: error })),
    );
  });
  // Level 3: ~3× smaller NDJSON at a fraction of the default level's CPU (zlib runs on libuv's thread pool).
  const gzip = createGzip({ level: 3, flush: zlib.Z_NO_FLUSH });
  const done = pipeline(gzip, file);
  let failure: Error | undefined;
  done.catch((error: Error) => {
    failure = error;
  });
  let records = 0;
  let bytes = 0;
  let closing: Promise<SamplesFileStats> | undefined;
  return {
    write(lines, count) {
      if (closing !== undefined || failure !== undefined || lines.length === 0) return;
      records += count;
      bytes += Buffer.byteLength(lines);
      gzip.write(lines);
    },
    close() {
      closing ??= (async () => {
        gzip.end();
        try {
          await done;
        } catch (error) {
          throw new Error(`writing the samples file ${path} failed: ${(error as Error).message}`, {
            cause: error,
          });
        }
        return { path, records, bytes, gzipBytes: file.bytesWritten };
      })();
      return closing;
    },
  };
}
