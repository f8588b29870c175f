import { CodecError } from "../errors.ts";

// Packed BCD: two decimal digits per byte, high nibble first. An odd number of digits needs one pad nibble:
// right-aligned values pad in front with 0 (`001` → `00 01`), left-aligned values pad at the end (`021` →
// `02 10`), with 0 in most captures but F for track data on some terminals. Track data also carries its
// separator `=` as the nibble D.

export type Align = "left" | "right";
/** The pad nibble of an odd-length left-aligned value. */
export type PadNibble = "0" | "F";

const SEPARATOR = 0xd;
const NIBBLE_TEXT = "0123456789ABCDEF";
/** Both digits of a byte whose nibbles are 0-9, else undefined (the fast path of readBcd). */
const BYTE_DIGITS: (string | undefined)[] = [];
for (let b = 0; b < 256; b++)
  BYTE_DIGITS.push(b >> 4 <= 9 && (b & 15) <= 9 ? NIBBLE_TEXT[b >> 4]! + NIBBLE_TEXT[b & 15]! : undefined);

/** Bytes taken by `digits` BCD digits. */
export function bcdLength(digits: number): number {
  return (digits + 1) >> 1;
}

/** Nibble of a digit character, D for a track separator (`=`, `D`, `d`) when allowed, else -1. */
function nibbleOf(code: number, separator: boolean): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (separator && (code === 61 || code === 68 || code === 100)) return SEPARATOR;
  return -1;
}

/**
 * Writes `digits` as packed BCD at `offset` and returns the byte count. `separator` admits `=`/`D` (written as
 * nibble D) for track data. Throws CodecError naming the position of a character that is not a digit.
 */
export function writeBcd(
  out: Uint8Array,
  offset: number,
  digits: string,
  align: Align,
  pad: PadNibble = "0",
  separator = false,
): number {
  const count = digits.length;
  const lead = count & 1 && align === "right" ? 1 : 0;
  const padValue = pad === "F" ? 0xf : 0;
  const byteCount = (count + 1) >> 1;
  for (let b = 0; b < byteCount; b++) {
    const hiIndex = 2 * b - lead;
    const loIndex = hiIndex + 1;
    if (hiIndex >= 0 && loIndex < count) {
      const hiDigit = digits.charCodeAt(hiIndex) - 48;
      const loDigit = digits.charCodeAt(loIndex) - 48;
      if (hiDigit >= 0 && hiDigit <= 9 && loDigit >= 0 && loDigit <= 9) {
        out[offset + b] = (hiDigit << 4) | loDigit;
        continue;
      }
    }
    const hi = hiIndex < 0 ? 0 : nibbleOf(digits.charCodeAt(hiIndex), separator);
    const lo = loIndex >= count ? padValue : nibbleOf(digits.charCodeAt(loIndex), separator);
    if (hi < 0 || lo < 0) {
      const position = hi < 0 ? hiIndex : loIndex;
      throw new CodecError(
        `character at position ${position} is not a ${separator ? "track character" : "digit"}`,
      );
    }
    out[offset + b] = (hi << 4) | lo;
  }
  return byteCount;
}

/**
 * Reads `count` digits of packed BCD at `offset`. Track data (`separator`) yields nibble D as `D`. The pad nibble
 * of an odd left-aligned value may be 0 or F; the leading pad of an odd right-aligned value must be 0.
 * Throws CodecError with the offset of the offending byte; the message never quotes the digits.
 */
export function readBcd(
  bytes: Uint8Array,
  offset: number,
  count: number,
  align: Align,
  separator = false,
): string {
  const lead = count & 1 && align === "right" ? 1 : 0;
  const byteCount = (count + 1) >> 1;
  const firstFull = lead === 0 ? 0 : 1;
  const lastFull = count & 1 && lead === 0 ? byteCount - 2 : byteCount - 1;
  let text = "";
  for (let b = 0; b < byteCount; b++) {
    const byte = bytes[offset + b]!;
    const pair = BYTE_DIGITS[byte];
    if (pair !== undefined && b >= firstFull && b <= lastFull) {
      text += pair;
      continue;
    }
    const hiIndex = 2 * b - lead;
    const loIndex = hiIndex + 1;
    const hi = byte >> 4;
    const lo = byte & 15;
    if (hiIndex < 0) {
      if (hi !== 0)
        throw new CodecError(`leading pad nibble is ${NIBBLE_TEXT[hi]}, expected 0`, { offset: offset + b });
    } else {
      text += digitText(hi, separator, offset + b);
    }
    if (loIndex >= count) {
      if (lo !== 0 && lo !== 0xf) {
        throw new CodecError(`trailing pad nibble is ${NIBBLE_TEXT[lo]}, expected 0 or F`, {
          offset: offset + b,
        });
      }
    } else {
      text += digitText(lo, separator, offset + b);
    }
  }
  return text;
}

function digitText(nibble: number, separator: boolean, offset: number): string {
  if (nibble <= 9 || (separator && nibble === SEPARATOR)) return NIBBLE_TEXT[nibble]!;
  throw new CodecError(separator ? "nibble is neither a digit nor the separator D" : "non-BCD nibble", {
    offset,
  });
}
