import { CodecError } from "../errors.ts";
import { type BlockCipher, blockCipher } from "./cipher.ts";
import { loadBlock, storeBlock, xorBlock } from "./des.ts";

/**
 * How F64 is computed over MTI … last byte before F64:
 * - `cup-ecb`: the UnionPay POS "ECB" MAC (PROTOCOL.md): XOR of the 8-byte blocks, expanded to 16 uppercase hex
 *   characters; encrypt the first 8, XOR the last 8, encrypt again; F64 = the first 8 uppercase hex characters
 *   of the result as ASCII. DES with an 8-byte MAK, 3DES with a 16- or 24-byte one.
 * - `x9.19`: ANSI X9.19 retail MAC (ISO 9797-1 algorithm 3): DES-CBC with K1 over the zero-padded data, then
 *   decrypt with K2 and encrypt with K1 (K3 for 24 bytes); F64 = the 8 binary bytes. An 8-byte key gives plain
 *   DES CBC-MAC (X9.9).
 * - `x9.19-ascii`: the same MAC, F64 = its first 8 uppercase hex characters as ASCII.
 */
export type MacAlgorithm = "cup-ecb" | "x9.19" | "x9.19-ascii";

export const macAlgorithms: readonly MacAlgorithm[] = ["cup-ecb", "x9.19", "x9.19-ascii"];

/** A MAC key bound to its algorithm, with its key schedule computed once. */
export interface MacKey {
  readonly algorithm: MacAlgorithm;
  /** The 8-byte F64 value for `data[start, end)`. */
  compute(data: Uint8Array, start?: number, end?: number): Uint8Array;
  /** True when `mac` (8 bytes at `macOffset`) is the MAC of `data[start, end)`. */
  verify(data: Uint8Array, start: number, end: number, mac: Uint8Array, macOffset?: number): boolean;
}

const HEX_UPPER_CODES = [48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 65, 66, 67, 68, 69, 70];

// Scratch space shared by every key: compute() runs to the end without yielding, so one set per thread is
// enough, and a key (one per signed-in terminal in a fleet) holds only its cipher.
const ACC = new Uint8Array(8);
const HEX = new Uint8Array(16);
const BLOCK = new Int32Array(2);
const TAIL = new Uint8Array(8);
const RESULT = new Uint8Array(8);

class CupEcbMac implements MacKey {
  readonly algorithm = "cup-ecb";
  private readonly cipher: BlockCipher;

  constructor(key: Uint8Array) {
    this.cipher = blockCipher(key);
  }

  compute(data: Uint8Array, start = 0, end = data.length): Uint8Array {
    const acc = ACC;
    acc.fill(0);
    let i = start;
    for (; i + 8 <= end; i += 8) {
      acc[0]! ^= data[i]!;
      acc[1]! ^= data[i + 1]!;
      acc[2]! ^= data[i + 2]!;
      acc[3]! ^= data[i + 3]!;
      acc[4]! ^= data[i + 4]!;
      acc[5]! ^= data[i + 5]!;
      acc[6]! ^= data[i + 6]!;
      acc[7]! ^= data[i + 7]!;
    }
    for (let k = 0; i < end; i++, k++) acc[k]! ^= data[i]!;
    expandHex(acc, 8, HEX, 0);
    loadBlock(BLOCK, HEX, 0);
    this.cipher.encryptWords(BLOCK);
    xorBlock(BLOCK, HEX, 8);
    this.cipher.encryptWords(BLOCK);
    storeBlock(BLOCK, RESULT, 0);
    const mac = new Uint8Array(8);
    expandHex(RESULT, 4, mac, 0);
    return mac;
  }

  verify(data: Uint8Array, start: number, end: number, mac: Uint8Array, macOffset = 0): boolean {
    return sameMac(this.compute(data, start, end), mac, macOffset);
  }
}

class X919Mac implements MacKey {
  readonly algorithm: "x9.19" | "x9.19-ascii";
  private readonly k1: BlockCipher;
  private readonly k2: BlockCipher | undefined;
  private readonly k3: BlockCipher | undefined;

  constructor(key: Uint8Array, algorithm: "x9.19" | "x9.19-ascii") {
    if (key.length !== 8 && key.length !== 16 && key.length !== 24) {
      throw new CodecError(`an X9.19 MAC key is 8, 16 or 24 bytes, got ${key.length}`);
    }
    this.algorithm = algorithm;
    this.k1 = blockCipher(key.subarray(0, 8));
    this.k2 = key.length > 8 ? blockCipher(key.subarray(8, 16)) : undefined;
    this.k3 = key.length === 24 ? blockCipher(key.subarray(16, 24)) : this.k2 && this.k1;
  }

  compute(data: Uint8Array, start = 0, end = data.length): Uint8Array {
    const block = BLOCK;
    block[0] = 0;
    block[1] = 0;
    let i = start;
    for (; i + 8 <= end; i += 8) {
      xorBlock(block, data, i);
      this.k1.encryptWords(block);
    }
    if (i < end || end === start) {
      TAIL.fill(0);
      TAIL.set(data.subarray(i, end));
      xorBlock(block, TAIL, 0);
      this.k1.encryptWords(block);
    }
    if (this.k2) {
      this.k2.decryptWords(block);
      this.k3!.encryptWords(block);
    }
    const mac = new Uint8Array(8);
    if (this.algorithm === "x9.19") {
      storeBlock(block, mac, 0);
    } else {
      storeBlock(block, RESULT, 0);
      expandHex(RESULT, 4, mac, 0);
    }
    return mac;
  }

  verify(data: Uint8Array, start: number, end: number, mac: Uint8Array, macOffset = 0): boolean {
    return sameMac(this.compute(data, start, end), mac, macOffset);
  }
}

/** Binds a MAC key (8, 16 or 24 bytes) to an algorithm (default `cup-ecb`). */
export function macKey(key: Uint8Array, algorithm: MacAlgorithm = "cup-ecb"): MacKey {
  switch (algorithm) {
    case "cup-ecb":
      return new CupEcbMac(key);
    case "x9.19":
    case "x9.19-ascii":
      return new X919Mac(key, algorithm);
    default:
      throw new CodecError(`unknown MAC algorithm ${JSON.stringify(algorithm)}`);
  }
}

/** The UnionPay POS "ECB" MAC of `data` (8 ASCII bytes). */
export function cupEcbMac(key: Uint8Array, data: Uint8Array): Uint8Array {
  return macKey(key, "cup-ecb").compute(data);
}

/** The ANSI X9.19 retail MAC of `data` (8 binary bytes). */
export function x919Mac(key: Uint8Array, data: Uint8Array): Uint8Array {
  return macKey(key, "x9.19").compute(data);
}

/** Writes the uppercase hex of `source[0, count)` as ASCII at `offset`. */
function expandHex(source: Uint8Array, count: number, out: Uint8Array, offset: number): void {
  for (let i = 0; i < count; i++) {
    out[offset + 2 * i] = HEX_UPPER_CODES[source[i]! >> 4]!;
    out[offset + 2 * i + 1] = HEX_UPPER_CODES[source[i]! & 15]!;
  }
}

function sameMac(computed: Uint8Array, mac: Uint8Array, offset: number): boolean {
  if (mac.length < offset + 8) return false;
  let diff = 0;
  for (let i = 0; i < 8; i++) diff |= computed[i]! ^ mac[offset + i]!;
  return diff === 0;
}
