import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_LAB_KEY_HEX,
  deriveTmk,
  ecbDecrypt,
  fromHex,
  keyCheckValue,
  parseTerminalKeys,
  TerminalKeysError,
  toHexUpper,
} from "../protocol/index.ts";
import { exportTerminalKeys, labTerminalKeys, readTerminalKeys } from "./terminal-keys.ts";

// Terminal lists both ways: what `posstorm terminals export` writes reads back with every KCV right, a ZMK-wrapped
// export decrypts to the same keys, and a bad list is refused by line and TID without a key in the message.

const labKey = fromHex(DEFAULT_LAB_KEY_HEX);
const tids = ["POS00001", "POS00002", "SHOP0042"];
const kcv = (tmk: Uint8Array) => toHexUpper(keyCheckValue(tmk, 3));

describe("terminal lists", () => {
  it("an export reads back: TIDs, keys and check values", () => {
    const keys = labTerminalKeys(labKey, tids).map((k) => ({ ...k, mid: "123456789012345" }));
    for (const format of ["csv", "json"] as const) {
      const text = exportTerminalKeys(keys, { format });
      const back = parseTerminalKeys(text, `export.${format}`);
      expect(back.map((k) => k.tid)).toEqual(tids);
      expect(back.map((k) => toHexUpper(k.tmk))).toEqual(tids.map((t) => toHexUpper(deriveTmk(labKey, t))));
      expect(back[0]!.mid).toBe("123456789012345");
    }
    expect(exportTerminalKeys(keys, { format: "csv" }).split("\n")[0]).toBe("tid,mid,tmk,kcv");
  });

  it("under a zone master key, each TMK decrypts back to the clear one; the KCV is the clear key's", () => {
    const zmkHex = "0123456789ABCDEF0123456789ABCDEF".split("").reverse().join("");
    const keys = labTerminalKeys(labKey, tids).map((k) => ({ ...k, mid: "123456789012345" }));
    const lines = exportTerminalKeys(keys, { format: "csv", zmkHex }).trim().split("\n");
    expect(lines[0]).toBe("tid,mid,tmk_under_zmk,kcv");
    lines.slice(1).forEach((line, i) => {
      const [, , wrapped, check] = line.split(",");
      const clear = ecbDecrypt(fromHex(zmkHex), fromHex(wrapped!));
      expect(toHexUpper(clear)).toBe(toHexUpper(keys[i]!.tmk));
      expect(wrapped).not.toBe(toHexUpper(keys[i]!.tmk));
      expect(check).toBe(kcv(keys[i]!.tmk));
    });
  });

  it("refuses a bad list by line and TID, never showing a key", () => {
    const good = deriveTmk(labKey, "POS00001");
    const other = deriveTmk(labKey, "POS00002");
    const text = [
      "kcv,tid,tmk", // any column order
      `${kcv(good)},POS00001,${toHexUpper(good)}`,
      `${kcv(good)},POS00002,${toHexUpper(other)}`, // the wrong check value
      `${kcv(good)},POS00001,${toHexUpper(good)}`, // repeated TID
      `${kcv(good)},POS3,${toHexUpper(good)}`, // TID too short
      `${kcv(good)},POS00004,${toHexUpper(good).slice(0, 30)}`, // key too short
    ].join("\n");
    const error = (() => {
      try {
        parseTerminalKeys(text, "mine.csv");
      } catch (e) {
        return e;
      }
    })() as TerminalKeysError;
    expect(error).toBeInstanceOf(TerminalKeysError);
    expect(error.problems).toEqual([
      "line 3 (POS00002): the key's check value does not match kcv (the key or the kcv is mistyped)",
      "line 4 (POS00001): TID repeated (first on line 2)",
      "line 5: tid must be 8 printable characters (F41)",
      "line 6 (POS00004): tmk must be 16, 32 or 48 hex digits (a clear DES/3DES key)",
    ]);
    for (const key of [good, other]) expect(error.message).not.toContain(toHexUpper(key));
    expect(() => parseTerminalKeys("tid,tmk\nPOS00001,00", "x.csv")).toThrow(/missing: kcv/);
  });

  it("reads a file, and names it when it cannot", () => {
    const dir = mkdtempSync(join(tmpdir(), "posstorm-keys-"));
    const file = join(dir, "terminals.json");
    const tmk = deriveTmk(labKey, "SHOP0042");
    writeFileSync(file, JSON.stringify([{ tid: "SHOP0042", tmk: toHexUpper(tmk), kcv: kcv(tmk) }]));
    expect(readTerminalKeys(file).map((k) => k.tid)).toEqual(["SHOP0042"]);
    expect(() => readTerminalKeys(join(dir, "missing.csv"))).toThrow(
      /missing\.csv: 1 problem.*cannot read it: ENOENT/s,
    );
  });
});
