import { CodecError } from "../errors.ts";

const LOWER = "0123456789abcdef";
const UPPER = "0123456789ABCDEF";
const BYTE_HEX_LOWER: string[] = [];
const BYTE_HEX_UPPER: string[] = [];
for (let b = 0; b < 256; b++) {
  BYTE_HEX_LOWER.push(LOWER[b >> 4]! + LOWER[b & 15]!);
  BYTE_HEX_UPPER.push(UPPER[b >> 4]! + UPPER[b & 15]!);
}

/** Lowercase hex of `bytes[start, end)`. */
export function toHex(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let text = "";
  for (let i = start; i < end; i++) text += BYTE_HEX_LOWER[bytes[i]!];
  return text;
}

/** Uppercase hex of `bytes[start, end)` (the MAC algorithms depend on the case). */
export function toHexUpper(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let text = "";
  for (let i = start; i < end; i++) text += BYTE_HEX_UPPER[bytes[i]!];
  return text;
}

/** Value of one hex digit's char code, or -1. */
export function hexDigitValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 65 && code <= 70) return code - 55;
  if (code >= 97 && code <= 102) return code - 87;
  return -1;
}

/** Bytes of a hex string (either case). Throws CodecError on an odd length or a non-hex character. */
export function fromHex(text: string): Uint8Array {
  if (text.length % 2 !== 0) throw new CodecError(`hex text has an odd number of digits (${text.length})`);
  const bytes = new Uint8Array(text.length / 2);
  for (let i = 0; i < bytes.length; i++) {
    const hi = hexDigitValue(text.charCodeAt(2 * i));
    const lo = hexDigitValue(text.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) throw new CodecError(`non-hex character at position ${hi < 0 ? 2 * i : 2 * i + 1}`);
    bytes[i] = (hi << 4) | lo;
  }
  return bytes;
}

/** Writes hex text as bytes at `offset` without allocating; returns false (writing nothing useful) on a non-hex character. */
export function writeHex(out: Uint8Array, offset: number, text: string): boolean {
  for (let i = 0; i + 1 < text.length; i += 2) {
    const hi = hexDigitValue(text.charCodeAt(i));
    const lo = hexDigitValue(text.charCodeAt(i + 1));
    if (hi < 0 || lo < 0) return false;
    out[offset + (i >> 1)] = (hi << 4) | lo;
  }
  return true;
}
