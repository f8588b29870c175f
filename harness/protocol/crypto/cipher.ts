import { toHex } from "../encoding/hex.ts";
import { CodecError } from "../errors.ts";
import { type DesSchedule, desRounds, desSchedule, loadBlock, storeBlock } from "./des.ts";

/**
 * DES or 3DES (EDE) by key length: 8 bytes single DES, 16 bytes two-key 3DES (K1 K2 K1), 24 bytes three-key
 * 3DES (K1 K2 K3). Word methods work on a block in the IP domain (see des.ts); byte methods on 8 bytes.
 */
export interface BlockCipher {
  readonly keyLength: 8 | 16 | 24;
  encryptWords(block: Int32Array): void;
  decryptWords(block: Int32Array): void;
  encryptBlock(input: Uint8Array, inputOffset: number, output: Uint8Array, outputOffset: number): void;
  decryptBlock(input: Uint8Array, inputOffset: number, output: Uint8Array, outputOffset: number): void;
}

// One block of scratch for every cipher: encryptBlock/decryptBlock run to the end without yielding.
const SCRATCH = new Int32Array(2);

class DesCipher implements BlockCipher {
  readonly keyLength: 8 | 16 | 24;
  private readonly k1: DesSchedule;
  private readonly k2: DesSchedule | undefined;
  private readonly k3: DesSchedule | undefined;

  constructor(key: Uint8Array) {
    if (key.length !== 8 && key.length !== 16 && key.length !== 24) {
      throw new CodecError(`a DES key is 8, 16 or 24 bytes, got ${key.length}`);
    }
    this.keyLength = key.length;
    this.k1 = desSchedule(key, 0);
    this.k2 = key.length > 8 ? desSchedule(key, 8) : undefined;
    this.k3 = key.length === 24 ? desSchedule(key, 16) : this.k2 && this.k1;
  }

  encryptWords(block: Int32Array): void {
    desRounds(block, this.k1, false);
    if (this.k2) {
      desRounds(block, this.k2, true);
      desRounds(block, this.k3!, false);
    }
  }

  decryptWords(block: Int32Array): void {
    if (this.k2) {
      desRounds(block, this.k3!, true);
      desRounds(block, this.k2, false);
    }
    desRounds(block, this.k1, true);
  }

  encryptBlock(input: Uint8Array, inputOffset: number, output: Uint8Array, outputOffset: number): void {
    loadBlock(SCRATCH, input, inputOffset);
    this.encryptWords(SCRATCH);
    storeBlock(SCRATCH, output, outputOffset);
  }

  decryptBlock(input: Uint8Array, inputOffset: number, output: Uint8Array, outputOffset: number): void {
    loadBlock(SCRATCH, input, inputOffset);
    this.decryptWords(SCRATCH);
    storeBlock(SCRATCH, output, outputOffset);
  }
}

const CACHE_LIMIT = 256;
const cache = new Map<string, BlockCipher>();

/**
 * The cipher for `key`, from a cache of recently used keys (key schedules are computed once per key).
 * Holding the returned cipher is cheaper still.
 */
export function blockCipher(key: Uint8Array): BlockCipher {
  const id = toHex(key);
  let cipher = cache.get(id);
  if (cipher) return cipher;
  cipher = new DesCipher(key);
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(id, cipher);
  return cipher;
}

/** ECB encryption of whole 8-byte blocks. */
export function ecbEncrypt(key: Uint8Array, data: Uint8Array): Uint8Array {
  return ecb(key, data, false);
}

/** ECB decryption of whole 8-byte blocks. */
export function ecbDecrypt(key: Uint8Array, data: Uint8Array): Uint8Array {
  return ecb(key, data, true);
}

function ecb(key: Uint8Array, data: Uint8Array, decrypt: boolean): Uint8Array {
  if (data.length % 8 !== 0)
    throw new CodecError(`ECB data must be whole 8-byte blocks, got ${data.length} bytes`);
  const cipher = blockCipher(key);
  const out = new Uint8Array(data.length);
  for (let offset = 0; offset < data.length; offset += 8) {
    if (decrypt) cipher.decryptBlock(data, offset, out, offset);
    else cipher.encryptBlock(data, offset, out, offset);
  }
  return out;
}

/** CBC encryption of whole 8-byte blocks with an 8-byte IV. */
export function cbcEncrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  if (data.length % 8 !== 0)
    throw new CodecError(`CBC data must be whole 8-byte blocks, got ${data.length} bytes`);
  if (iv.length !== 8) throw new CodecError(`CBC IV must be 8 bytes, got ${iv.length}`);
  const cipher = blockCipher(key);
  const out = new Uint8Array(data.length);
  const block = new Int32Array(2);
  loadBlock(block, iv, 0);
  const plain = new Int32Array(2);
  for (let offset = 0; offset < data.length; offset += 8) {
    loadBlock(plain, data, offset);
    block[0]! ^= plain[0]!;
    block[1]! ^= plain[1]!;
    cipher.encryptWords(block);
    storeBlock(block, out, offset);
  }
  return out;
}
