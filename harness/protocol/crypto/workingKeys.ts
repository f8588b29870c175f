import { concatBytes, equalBytes, isZero } from "../encoding/bytes.ts";
import { toHex } from "../encoding/hex.ts";
import { CodecError } from "../errors.ts";
import { ecbDecrypt, ecbEncrypt } from "./cipher.ts";
import { keyCheckValue } from "./kcv.ts";

/**
 * 60.3 of a sign-in, which fixes the F62 layout of the 0810 (PROTOCOL.md, "Working keys in the 0810"):
 * - `001` (24 bytes): PIK (8) + KCV (4), MAK (8) + KCV (4);
 * - `003` (40 bytes): PIK (16) + KCV (4), MAK (8) + 8 zero bytes + KCV (4) (a double-length MAK fills all 16);
 * - `004` (60 bytes): the 40 bytes of `003` + TDK (16) + KCV (4).
 * Keys travel encrypted (ECB) under the terminal master key; a KCV is the first 4 bytes of the clear key
 * encrypting 8 zero bytes.
 */
export type KeyLayout = "001" | "003" | "004";

export const keyLayoutBytes: Readonly<Record<KeyLayout, number>> = { "001": 24, "003": 40, "004": 60 };

/** Clear working keys: PIN key, MAC key (8 or 16 bytes), track-data key (layout `004` only). */
export interface WorkingKeys {
  pik: Uint8Array;
  mak: Uint8Array;
  tdk?: Uint8Array;
}

const F62 = { field: 62, fieldName: "reservedPrivate62" } as const;
const KCV_BYTES = 4;

/** The layout of an F62 by its length, or undefined. */
export function keyLayoutOf(byteLength: number): KeyLayout | undefined {
  return byteLength === 24 ? "001" : byteLength === 40 ? "003" : byteLength === 60 ? "004" : undefined;
}

/**
 * Decrypts the working keys of an 0810's F62 under `tmk` and checks each KCV. Throws CodecError (field 62) on a
 * length that does not match the layout or a check value that does not match the decrypted key.
 */
export function unwrapWorkingKeys(f62: Uint8Array, tmk: Uint8Array, layout?: KeyLayout): WorkingKeys {
  const chosen = layout ?? keyLayoutOf(f62.length);
  if (chosen === undefined || f62.length !== keyLayoutBytes[chosen]) {
    const expected = chosen ? `${keyLayoutBytes[chosen]} for layout ${chosen}` : "24, 40 or 60";
    throw new CodecError(`working-key block is ${f62.length} bytes, expected ${expected}`, F62);
  }
  if (chosen === "001") {
    return { pik: unwrapKey(f62, 0, 8, tmk, "PIK"), mak: unwrapKey(f62, 12, 8, tmk, "MAK") };
  }
  const pik = unwrapKey(f62, 0, 16, tmk, "PIK");
  const makLength = isZero(f62.subarray(28, 36)) ? 8 : 16;
  const mak = unwrapKey(f62, 20, makLength, tmk, "MAK", 36);
  if (chosen === "003") return { pik, mak };
  return { pik, mak, tdk: unwrapKey(f62, 40, 16, tmk, "TDK") };
}

function unwrapKey(
  block: Uint8Array,
  offset: number,
  length: number,
  tmk: Uint8Array,
  name: string,
  kcvOffset = offset + length,
): Uint8Array {
  const key = ecbDecrypt(tmk, block.subarray(offset, offset + length));
  const expected = block.subarray(kcvOffset, kcvOffset + KCV_BYTES);
  const actual = keyCheckValue(key, KCV_BYTES);
  if (!equalBytes(actual, expected)) {
    throw new CodecError(
      `${name} check value ${toHex(expected)} does not match the decrypted key (${toHex(actual)})`,
      {
        ...F62,
        offset,
      },
    );
  }
  return key;
}

/** Builds the F62 of an 0810: each key encrypted under `tmk`, followed by its KCV. */
export function wrapWorkingKeys(keys: WorkingKeys, tmk: Uint8Array, layout: KeyLayout): Uint8Array {
  const wrap = (key: Uint8Array, name: string, length: number) => {
    if (key.length !== length)
      throw new CodecError(`${name} must be ${length} bytes for layout ${layout}`, F62);
    return concatBytes(ecbEncrypt(tmk, key), keyCheckValue(key, KCV_BYTES));
  };
  if (layout === "001") return concatBytes(wrap(keys.pik, "PIK", 8), wrap(keys.mak, "MAK", 8));
  const pik = wrap(keys.pik, "PIK", 16);
  let mak: Uint8Array;
  if (keys.mak.length === 8) {
    mak = concatBytes(ecbEncrypt(tmk, keys.mak), new Uint8Array(8), keyCheckValue(keys.mak, KCV_BYTES));
  } else {
    mak = wrap(keys.mak, "MAK", 16);
  }
  if (layout === "003") return concatBytes(pik, mak);
  if (!keys.tdk) throw new CodecError("layout 004 needs a TDK", F62);
  return concatBytes(pik, mak, wrap(keys.tdk, "TDK", 16));
}
