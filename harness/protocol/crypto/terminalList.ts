import { fromHex, toHexUpper } from "../encoding/index.ts";
import { keyCheckValue } from "./kcv.ts";
import { deriveTmk } from "./terminalKeys.ts";

// A terminal list with the terminals' own master keys, as a switch or HSM of the user's knows them (the lab
// derives its TMKs from the lab key instead: terminalKeys.ts). The text: CSV with a header line naming the columns
// `tid`, `tmk`, `kcv` and optionally `mid` (any order), or JSON (a list of { tid, tmk, kcv, mid? }, or
// { terminals: [...] }). TMK: 16, 32 or 48 hex digits (single, double, triple length), clear. KCV: the key
// encrypting 8 zero bytes, its first 3 bytes or more (6+ hex digits), checked for every row, so a mistyped key
// fails when the list is read, by line and TID, never at sign-in. Keys are never in a message: problems name the
// file, the line and the TID only. Reading the file is the caller's (this room has no Node APIs).

export interface TerminalKey {
  tid: string;
  /** F42, 15 characters, when the file gives one. */
  mid?: string;
  tmk: Uint8Array;
}

export class TerminalKeysError extends Error {
  override readonly name = "TerminalKeysError";
  readonly file: string;
  readonly problems: string[];
  constructor(file: string, problems: string[]) {
    super(`${file}: ${problems.length} problem(s):\n  ${problems.join("\n  ")}`);
    this.file = file;
    this.problems = problems;
  }
}

const TID = /^[\x20-\x7e]{8}$/;
const HEX = /^[0-9a-fA-F]+$/;
/** At most this many problems are listed (a wrong file would list every line). */
const MAX_PROBLEMS = 20;

interface Row {
  line: number;
  tid?: unknown;
  tmk?: unknown;
  kcv?: unknown;
  mid?: unknown;
}

function rowsOf(file: string, text: string): Row[] {
  const trimmed = text.trimStart();
  if (trimmed.startsWith("[") || trimmed.startsWith("{")) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new TerminalKeysError(file, [`not JSON: ${(error as Error).message}`]);
    }
    const list = Array.isArray(json) ? json : (json as { terminals?: unknown }).terminals;
    if (!Array.isArray(list))
      throw new TerminalKeysError(file, [
        "JSON must be a list of { tid, tmk, kcv }, or { terminals: [...] }",
      ]);
    return list.map((entry, i) => ({ line: i + 1, ...(entry as object) }));
  }
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? "").split(",").map((h) => h.trim().toLowerCase());
  const missing = ["tid", "tmk", "kcv"].filter((c) => !header.includes(c));
  if (missing.length > 0)
    throw new TerminalKeysError(file, [
      `line 1: the header must name the columns tid, tmk, kcv (and optionally mid); missing: ${missing.join(", ")}`,
    ]);
  const rows: Row[] = [];
  lines.slice(1).forEach((line, i) => {
    if (line.trim() === "" || line.trimStart().startsWith("#")) return;
    const cells = line.split(",").map((c) => c.trim());
    const row: Row = { line: i + 2 };
    header.forEach((name, j) => {
      if (name === "tid" || name === "tmk" || name === "kcv" || name === "mid") row[name] = cells[j];
    });
    rows.push(row);
  });
  return rows;
}

/** Checks a terminal list's text: every TID 8 characters and unique, every TMK's KCV right. `file` names it. */
export function parseTerminalKeys(text: string, file: string): TerminalKey[] {
  const problems: string[] = [];
  const keys: TerminalKey[] = [];
  const seen = new Map<string, number>();
  const where = (row: Row) =>
    typeof row.tid === "string" ? `line ${row.line} (${row.tid})` : `line ${row.line}`;
  for (const row of rowsOf(file, text)) {
    if (problems.length >= MAX_PROBLEMS) break;
    if (typeof row.tid !== "string" || !TID.test(row.tid)) {
      problems.push(`line ${row.line}: tid must be 8 printable characters (F41)`);
      continue;
    }
    const before = seen.get(row.tid);
    if (before !== undefined) {
      problems.push(`${where(row)}: TID repeated (first on line ${before})`);
      continue;
    }
    seen.set(row.tid, row.line);
    if (typeof row.tmk !== "string" || !HEX.test(row.tmk) || ![16, 32, 48].includes(row.tmk.length)) {
      problems.push(`${where(row)}: tmk must be 16, 32 or 48 hex digits (a clear DES/3DES key)`);
      continue;
    }
    if (typeof row.kcv !== "string" || !HEX.test(row.kcv) || row.kcv.length < 6 || row.kcv.length > 16) {
      problems.push(`${where(row)}: kcv must be 6 to 16 hex digits`);
      continue;
    }
    const tmk = fromHex(row.tmk);
    const kcv = toHexUpper(keyCheckValue(tmk, 8)).slice(0, row.kcv.length);
    if (kcv !== row.kcv.toUpperCase()) {
      problems.push(
        `${where(row)}: the key's check value does not match kcv (the key or the kcv is mistyped)`,
      );
      continue;
    }
    if (row.mid !== undefined && row.mid !== "" && (typeof row.mid !== "string" || row.mid.length !== 15)) {
      problems.push(`${where(row)}: mid must be 15 characters (F42)`);
      continue;
    }
    keys.push({
      tid: row.tid,
      tmk,
      ...(typeof row.mid === "string" && row.mid !== "" ? { mid: row.mid } : {}),
    });
  }
  if (problems.length === 0 && keys.length === 0) problems.push("no terminals in it");
  if (problems.length > 0) throw new TerminalKeysError(file, problems);
  return keys;
}

/**
 * A terminal's master key by TID: from the list when one is given (a TID not in it is an error), else derived
 * from the lab key. The fleet, the HSM simulator and the reference switch all look keys up this way.
 */
export function tmkLookup(labKey: Uint8Array, list?: readonly TerminalKey[]): (tid: string) => Uint8Array {
  if (!list) return (tid) => deriveTmk(labKey, tid);
  const tmks = new Map(list.map((k) => [k.tid, k.tmk]));
  return (tid) => {
    const tmk = tmks.get(tid);
    if (!tmk) throw new Error(`terminal ${tid} is not in the terminal list`);
    return tmk;
  };
}
