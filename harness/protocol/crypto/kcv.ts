import { blockCipher } from "./cipher.ts";

const ZERO_BLOCK = new Uint8Array(8);

/** Key check value: the first `length` bytes (default 4) of the key encrypting 8 zero bytes (DES or 3DES by key length). */
export function keyCheckValue(key: Uint8Array, length = 4): Uint8Array {
  const out = new Uint8Array(8);
  blockCipher(key).encryptBlock(ZERO_BLOCK, 0, out, 0);
  return out.slice(0, length);
}
