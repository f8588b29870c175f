import { CodecError } from "../errors.ts";

// Length prefixes of variable fields are packed BCD: LL is 1 byte (0-99), LLL is 2 bytes (0-9999, in practice
// at most 999). Numeric and track fields count digits; ASCII and binary fields count bytes. A fixed field has no
// prefix at all.

export type VariablePrefix = "LL" | "LLL";
export type Prefix = "fixed" | VariablePrefix;

/** Bytes taken by each prefix. */
export const prefixBytes: Readonly<Record<Prefix, number>> = { fixed: 0, LL: 1, LLL: 2 };

/** Largest count each variable prefix can carry. */
export const prefixMax: Readonly<Record<VariablePrefix, number>> = { LL: 99, LLL: 9999 };

/** Writes `count` as an LL or LLL prefix at `offset`; returns the byte count. */
export function writePrefix(out: Uint8Array, offset: number, prefix: VariablePrefix, count: number): number {
  if (count < 0 || count > prefixMax[prefix] || !Number.isInteger(count)) {
    throw new CodecError(`length ${count} does not fit an ${prefix} prefix`);
  }
  if (prefix === "LL") {
    out[offset] = toBcdByte(count);
    return 1;
  }
  out[offset] = toBcdByte(Math.floor(count / 100));
  out[offset + 1] = toBcdByte(count % 100);
  return 2;
}

/** Reads an LL or LLL prefix at `offset`. Throws CodecError (with the offset) when it is not BCD or truncated. */
export function readPrefix(bytes: Uint8Array, offset: number, end: number, prefix: VariablePrefix): number {
  const size = prefix === "LL" ? 1 : 2;
  if (offset + size > end) throw new CodecError(`${prefix} length prefix truncated`, { offset });
  const first = fromBcdByte(bytes[offset]!, offset);
  return size === 1 ? first : first * 100 + fromBcdByte(bytes[offset + 1]!, offset + 1);
}

/** 0-99 as one packed BCD byte. */
export function toBcdByte(value: number): number {
  return (Math.floor(value / 10) << 4) | (value % 10);
}

/** One packed BCD byte as 0-99; throws CodecError when a nibble is above 9. */
export function fromBcdByte(byte: number, offset: number): number {
  const hi = byte >> 4;
  const lo = byte & 15;
  if (hi > 9 || lo > 9) throw new CodecError("length prefix is not BCD", { offset });
  return hi * 10 + lo;
}
