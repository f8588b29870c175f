import { readFileSync } from "node:fs";
import {
  deriveTmk,
  ecbEncrypt,
  fromHex,
  keyCheckValue,
  parseTerminalKeys,
  type TerminalKey,
  TerminalKeysError,
  toHexUpper,
} from "../protocol/index.ts";

// Terminal keys both ways. A switch of yours knows its terminals by their own master keys (TMKs), not by the lab
// key posstorm derives them from: a profile can read your terminal list (`terminal.keysFile`; the format is in
// harness/protocol/crypto/terminalList.ts), and `posstorm terminals export` writes the fleet's list for your
// switch or HSM to import.

export { type TerminalKey, TerminalKeysError };

/** Reads and checks a terminal list file (parseTerminalKeys). */
export function readTerminalKeys(file: string): TerminalKey[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new TerminalKeysError(file, [
      `cannot read it: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    ]);
  }
  return parseTerminalKeys(text, file);
}

export interface ExportOptions {
  format: "csv" | "json";
  /** Zone master key (hex): each TMK is written encrypted under it (3DES-ECB), not clear. */
  zmkHex?: string;
}

/**
 * The fleet's terminals as a list a switch or HSM can import: TID, MID, TMK (clear, or under the zone master
 * key) and the TMK's KCV (6 hex digits).
 */
export function exportTerminalKeys(
  terminals: readonly { tid: string; mid: string; tmk: Uint8Array }[],
  options: ExportOptions,
): string {
  const zmk = options.zmkHex ? fromHex(options.zmkHex) : undefined;
  const column = zmk ? "tmk_under_zmk" : "tmk";
  const rows = terminals.map((t) => ({
    tid: t.tid,
    mid: t.mid,
    [column]: toHexUpper(zmk ? ecbEncrypt(zmk, t.tmk) : t.tmk),
    kcv: toHexUpper(keyCheckValue(t.tmk, 3)),
  }));
  if (options.format === "json") return `${JSON.stringify({ terminals: rows }, null, 2)}\n`;
  return `${[`tid,mid,${column},kcv`, ...rows.map((r) => `${r.tid},${r.mid},${r[column]},${r.kcv}`)].join("\n")}\n`;
}

/** The lab's terminals: TMKs derived from the lab key, as every lab program derives them. */
export function labTerminalKeys(labKey: Uint8Array, tids: readonly string[]): TerminalKey[] {
  return tids.map((tid) => ({ tid, tmk: deriveTmk(labKey, tid) }));
}
