import { asciiBytes } from "../encoding/index.ts";
import { CodecError } from "../errors.ts";
import { ecbEncrypt } from "./cipher.ts";

// Terminal master keys (TMK) in the lab are derived, not stored: the fleet, the switch, the HSM
// simulator and any outside client compute the same key from the lab key and the terminal ID.
//
//   block1 = 3DES-ECB(labKey, ASCII(TID))          TID: exactly 8 characters (F41)
//   block2 = 3DES-ECB(labKey, ASCII(TID) XOR FF…)
//   TMK    = oddParity(block1 ‖ block2)             a double-length (16-byte) 3DES key
//
// labKey is the lab seed: 16 bytes (32 hex digits), `POSSTORM_LAB_KEY` in the lab's config.

/** The default lab key (32 hex digits); a lab may set its own. */
export const DEFAULT_LAB_KEY_HEX = "0123456789ABCDEFFEDCBA9876543210";

/** Sets each byte's lowest bit so the byte has odd parity, as DES keys conventionally do. */
export function withOddParity(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length);
  for (let i = 0; i < key.length; i++) {
    const b = key[i]! & 0xfe;
    let ones = 0;
    for (let v = b; v !== 0; v >>= 1) ones += v & 1;
    out[i] = ones % 2 === 0 ? b | 1 : b;
  }
  return out;
}

/** The TMK of terminal `tid` in a lab keyed by `labKey` (16 bytes). */
export function deriveTmk(labKey: Uint8Array, tid: string): Uint8Array {
  if (labKey.length !== 16) {
    throw new CodecError(`lab key must be 16 bytes, got ${labKey.length}`);
  }
  if (tid.length !== 8) {
    throw new CodecError(`terminal ID must be 8 characters, got ${tid.length}`, { field: 41 });
  }
  const plain = asciiBytes(tid);
  const inverted = plain.map((b) => b ^ 0xff);
  const tmk = new Uint8Array(16);
  tmk.set(ecbEncrypt(labKey, plain), 0);
  tmk.set(ecbEncrypt(labKey, inverted), 8);
  return withOddParity(tmk);
}
