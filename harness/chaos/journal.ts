import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// The fault journal: each process that applies a fault writes what it changed to a file of its own,
// `<state dir>/faults-<pid>.json`, and takes each entry out again when it clears the fault. A process killed
// outright (SIGKILL, a crash) leaves its file behind with its PID dead: `posstorm lab down --stale` undoes
// those faults on any Toxiproxy that still answers, and `posstorm doctor` reports them. The state dir is
// machine-wide like the faults themselves: $POSSTORM_STATE_DIR, else <tmpdir>/posstorm-state.

export type JournalEntry =
  /** A toxic added on `proxy` of the Toxiproxy at `apiUrl`. */
  | { kind: "toxic"; apiUrl: string; proxy: string; toxic: string }
  /** The proxy disabled (a `down` fault). */
  | { kind: "down"; apiUrl: string; proxy: string }
  /** A chain in posstorm's nftables table. */
  | { kind: "nft"; chain: string };

export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.POSSTORM_STATE_DIR || join(tmpdir(), "posstorm-state");
}

const FILE = /^faults-(\d+)\.json$/;
const fileOf = (pid: number) => join(stateDir(), `faults-${pid}.json`);
const sameEntry = (a: JournalEntry, b: JournalEntry) => JSON.stringify(a) === JSON.stringify(b);

/** This process's entries, as in its file. */
const mine: JournalEntry[] = [];

function save(): void {
  const file = fileOf(process.pid);
  if (mine.length === 0) {
    rmSync(file, { force: true });
    return;
  }
  mkdirSync(stateDir(), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ pid: process.pid, entries: mine })}\n`);
}

/** Records a change this process made (before it can be interrupted, after it took). Never throws. */
export function journalAdd(entry: JournalEntry): void {
  mine.push(entry);
  try {
    save();
  } catch {
    // The journal is for cleanup after a crash; a read-only tmpdir must not fail the fault itself.
  }
}

/** Takes every entry of `kind` out (posstorm's nftables table was deleted whole). Never throws. */
export function journalForget(kind: JournalEntry["kind"]): void {
  const kept = mine.filter((e) => e.kind !== kind);
  if (kept.length === mine.length) return;
  mine.splice(0, mine.length, ...kept);
  try {
    save();
  } catch {
    // as above
  }
}

/** Takes a change out once it is undone. Never throws. */
export function journalRemove(entry: JournalEntry): void {
  const at = mine.findIndex((e) => sameEntry(e, entry));
  if (at < 0) return;
  mine.splice(at, 1);
  try {
    save();
  } catch {
    // as above
  }
}

export interface JournalFile {
  pid: number;
  file: string;
  entries: JournalEntry[];
}

/** Every process's journal on this machine (unreadable files are skipped). */
export function readJournals(env: NodeJS.ProcessEnv = process.env): JournalFile[] {
  let names: string[];
  try {
    names = readdirSync(stateDir(env));
  } catch {
    return [];
  }
  const out: JournalFile[] = [];
  for (const name of names) {
    const match = FILE.exec(name);
    if (!match) continue;
    const file = join(stateDir(env), name);
    try {
      const json = JSON.parse(readFileSync(file, "utf8")) as { entries?: JournalEntry[] };
      out.push({ pid: Number(match[1]), file, entries: json.entries ?? [] });
    } catch {
      // half-written by a process killed mid-write: nothing to undo can be read from it
      out.push({ pid: Number(match[1]), file, entries: [] });
    }
  }
  return out;
}
