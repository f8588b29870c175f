// DES (FIPS 46-3), table-driven. Blocks travel as two 32-bit words [left, right] so that chained operations
// (3DES, CBC, the MAC algorithms) skip the byte conversions in between. The permutation tables below are the
// standard's; the lookup tables derived from them are built once at load:
//  * IP and FP as byte-indexed tables (8 lookups per 32-bit half),
//  * SP: each S-box's output already passed through P, indexed by the 6 bits after the key XOR,
//  * a key schedule holding, per round, the 8 six-bit subkey groups (computed once per key by the caller).

const IP = [
  58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4, 62, 54, 46, 38, 30, 22, 14, 6, 64, 56, 48, 40,
  32, 24, 16, 8, 57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3, 61, 53, 45, 37, 29, 21, 13, 5,
  63, 55, 47, 39, 31, 23, 15, 7,
];
const FP = [
  40, 8, 48, 16, 56, 24, 64, 32, 39, 7, 47, 15, 55, 23, 63, 31, 38, 6, 46, 14, 54, 22, 62, 30, 37, 5, 45, 13,
  53, 21, 61, 29, 36, 4, 44, 12, 52, 20, 60, 28, 35, 3, 43, 11, 51, 19, 59, 27, 34, 2, 42, 10, 50, 18, 58, 26,
  33, 1, 41, 9, 49, 17, 57, 25,
];
const P = [
  16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10, 2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6, 22,
  11, 4, 25,
];
const PC1 = [
  57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18, 10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60, 52, 44, 36,
  63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22, 14, 6, 61, 53, 45, 37, 29, 21, 13, 5, 28, 20, 12, 4,
];
const PC2 = [
  14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10, 23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2, 41, 52, 31, 37, 47,
  55, 30, 40, 51, 45, 33, 48, 44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
];
const SHIFTS = [1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1];
/** S1-S8, each 4 rows of 16. */
const S = [
  [
    14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7, 0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5, 3,
    8, 4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0, 15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14, 10, 0, 6,
    13,
  ],
  [
    15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10, 3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9, 11,
    5, 0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15, 13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12, 0, 5,
    14, 9,
  ],
  [
    10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8, 13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11, 15,
    1, 13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7, 1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3, 11, 5, 2,
    12,
  ],
  [
    7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15, 13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10, 14,
    9, 10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4, 3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11, 12, 7, 2,
    14,
  ],
  [
    2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9, 14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9, 8,
    6, 4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14, 11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9, 10, 4,
    5, 3,
  ],
  [
    12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11, 10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11, 3,
    8, 9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6, 4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7, 6, 0, 8,
    13,
  ],
  [
    4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1, 13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15, 8,
    6, 1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2, 6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15, 14, 2, 3,
    12,
  ],
  [
    13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7, 1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14, 9,
    2, 7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8, 2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0, 3, 5, 6,
    11,
  ],
];

/**
 * A 64-bit permutation (1-based source bit for each output bit, MSB first) as lookup tables: for input byte
 * `b` with value `v`, `HI[b * 256 + v]` and `LO[...]` are its contribution to the output words.
 */
function byteTables(table: number[]): [Int32Array, Int32Array] {
  const hi = new Int32Array(8 * 256);
  const lo = new Int32Array(8 * 256);
  table.forEach((source, output) => {
    const inBit = source - 1;
    const byte = inBit >> 3;
    const mask = 0x80 >> (inBit & 7);
    for (let v = 0; v < 256; v++) {
      if ((v & mask) === 0) continue;
      if (output < 32) hi[byte * 256 + v]! |= 1 << (31 - output);
      else lo[byte * 256 + v]! |= 1 << (63 - output);
    }
  });
  return [hi, lo];
}

const [IP_HI, IP_LO] = byteTables(IP);
const [FP_HI, FP_LO] = byteTables(FP);

/** SP[box * 64 + six bits] = P(S-box output in its nibble position). */
const SP = new Int32Array(8 * 64);
for (let box = 0; box < 8; box++) {
  for (let x = 0; x < 64; x++) {
    const row = ((x >> 4) & 2) | (x & 1);
    const col = (x >> 1) & 15;
    const sOut = S[box]![row * 16 + col]! << (28 - 4 * box);
    let permuted = 0;
    for (let j = 0; j < 32; j++) if ((sOut >>> (32 - P[j]!)) & 1) permuted |= 1 << (31 - j);
    SP[box * 64 + x] = permuted;
  }
}

// Key schedule tables: PC1 as byte-indexed contributions to the 28-bit halves C and D; PC2 as contributions of
// each 7-bit chunk of C (D) to the first (last) 24 bits of a round key — PC2 takes its first 24 bits from C
// and its last 24 from D. A schedule is then 16 lookups for PC1 and 8 per round, not a loop per bit (a
// sign-in computes several schedules, in every terminal of the fleet).
const PC1_C = new Int32Array(8 * 256);
const PC1_D = new Int32Array(8 * 256);
for (let i = 0; i < 28; i++) {
  for (const [table, source] of [
    [PC1_C, PC1[i]!],
    [PC1_D, PC1[i + 28]!],
  ] as const) {
    const byte = (source - 1) >> 3;
    const mask = 0x80 >> ((source - 1) & 7);
    for (let v = 0; v < 256; v++) if (v & mask) table[byte * 256 + v]! |= 1 << (27 - i);
  }
}
const PC2_C = new Int32Array(4 * 128);
const PC2_D = new Int32Array(4 * 128);
for (let j = 0; j < 48; j++) {
  const table = j < 24 ? PC2_C : PC2_D;
  const source = PC2[j]! - (j < 24 ? 1 : 29); // 0-based bit of C or D, MSB first
  const chunk = Math.floor(source / 7);
  const mask = 0x40 >> (source % 7);
  for (let v = 0; v < 128; v++) if (v & mask) table[chunk * 128 + v]! |= 1 << (23 - (j % 24));
}

/** The 24 subkey bits a 28-bit half contributes through PC2. */
function pc2Half(table: Int32Array, half: number): number {
  return (
    table[(half >>> 21) & 127]! |
    table[128 + ((half >>> 14) & 127)]! |
    table[256 + ((half >>> 7) & 127)]! |
    table[384 + (half & 127)]!
  );
}

/** The 16 round subkeys of one DES key: 16 × 8 six-bit groups, in round order (one byte each: 128 bytes). */
export type DesSchedule = Uint8Array;

/** Computes the key schedule of an 8-byte key at `offset` (parity bits ignored). */
export function desSchedule(key: Uint8Array, offset = 0): DesSchedule {
  let c = 0;
  let d = 0;
  for (let b = 0; b < 8; b++) {
    const v = key[offset + b]!;
    c |= PC1_C[b * 256 + v]!;
    d |= PC1_D[b * 256 + v]!;
  }
  const schedule = new Uint8Array(128);
  for (let round = 0; round < 16; round++) {
    const s = SHIFTS[round]!;
    c = ((c << s) | (c >>> (28 - s))) & 0xfffffff;
    d = ((d << s) | (d >>> (28 - s))) & 0xfffffff;
    const left = pc2Half(PC2_C, c);
    const right = pc2Half(PC2_D, d);
    const k = round * 8;
    schedule[k] = (left >>> 18) & 63;
    schedule[k + 1] = (left >>> 12) & 63;
    schedule[k + 2] = (left >>> 6) & 63;
    schedule[k + 3] = left & 63;
    schedule[k + 4] = (right >>> 18) & 63;
    schedule[k + 5] = (right >>> 12) & 63;
    schedule[k + 6] = (right >>> 6) & 63;
    schedule[k + 7] = right & 63;
  }
  return schedule;
}

/** The round function f(R, K): expansion (as 6-bit windows of R), key XOR, S-boxes and P via SP. */
function f(r: number, ks: DesSchedule, k: number): number {
  return (
    SP[(((r << 5) | (r >>> 27)) & 63) ^ ks[k]!]! ^
    SP[64 + (((r >>> 23) & 63) ^ ks[k + 1]!)]! ^
    SP[128 + (((r >>> 19) & 63) ^ ks[k + 2]!)]! ^
    SP[192 + (((r >>> 15) & 63) ^ ks[k + 3]!)]! ^
    SP[256 + (((r >>> 11) & 63) ^ ks[k + 4]!)]! ^
    SP[320 + (((r >>> 7) & 63) ^ ks[k + 5]!)]! ^
    SP[384 + (((r >>> 3) & 63) ^ ks[k + 6]!)]! ^
    SP[448 + ((((r << 1) | (r >>> 31)) & 63) ^ ks[k + 7]!)]!
  );
}

/**
 * Sixteen rounds on a block already through IP, `block` = [L, R]; leaves the pre-output [R16, L16], which is
 * also the IP image of the result, so DES operations chain without FP/IP in between.
 */
export function desRounds(block: Int32Array, ks: DesSchedule, decrypt: boolean): void {
  let l = block[0]!;
  let r = block[1]!;
  if (decrypt) {
    for (let k = 120; k >= 0; k -= 16) {
      l ^= f(r, ks, k);
      r ^= f(l, ks, k - 8);
    }
  } else {
    for (let k = 0; k < 128; k += 16) {
      l ^= f(r, ks, k);
      r ^= f(l, ks, k + 8);
    }
  }
  block[0] = r;
  block[1] = l;
}

/** Loads 8 bytes at `offset` into `block` through IP. */
export function loadBlock(block: Int32Array, bytes: Uint8Array, offset: number): void {
  let hi = 0;
  let lo = 0;
  for (let i = 0; i < 8; i++) {
    const index = i * 256 + bytes[offset + i]!;
    hi |= IP_HI[index]!;
    lo |= IP_LO[index]!;
  }
  block[0] = hi;
  block[1] = lo;
}

/** Stores `block` through FP as 8 bytes at `offset`. */
export function storeBlock(block: Int32Array, bytes: Uint8Array, offset: number): void {
  const w0 = block[0]!;
  const w1 = block[1]!;
  let hi = 0;
  let lo = 0;
  for (let i = 0; i < 4; i++) {
    const a = i * 256 + ((w0 >>> (24 - 8 * i)) & 255);
    const b = (i + 4) * 256 + ((w1 >>> (24 - 8 * i)) & 255);
    hi |= FP_HI[a]! | FP_HI[b]!;
    lo |= FP_LO[a]! | FP_LO[b]!;
  }
  bytes[offset] = hi >>> 24;
  bytes[offset + 1] = hi >>> 16;
  bytes[offset + 2] = hi >>> 8;
  bytes[offset + 3] = hi;
  bytes[offset + 4] = lo >>> 24;
  bytes[offset + 5] = lo >>> 16;
  bytes[offset + 6] = lo >>> 8;
  bytes[offset + 7] = lo;
}

/**
 * XORs 8 bytes at `offset` into a block held in the IP domain. IP is linear over XOR, so XORing IP(x) is the
 * same as XORing x before IP: this lets CBC chains stay in the IP domain.
 */
export function xorBlock(block: Int32Array, bytes: Uint8Array, offset: number): void {
  let hi = 0;
  let lo = 0;
  for (let i = 0; i < 8; i++) {
    const index = i * 256 + bytes[offset + i]!;
    hi |= IP_HI[index]!;
    lo |= IP_LO[index]!;
  }
  block[0]! ^= hi;
  block[1]! ^= lo;
}
