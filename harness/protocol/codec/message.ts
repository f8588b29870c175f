import type { PadNibble } from "../encoding/bcd.ts";
import { readBcd, writeBcd } from "../encoding/bcd.ts";
import { type ByteWriter, withScratchWriter } from "../encoding/bytes.ts";
import { CodecError } from "../errors.ts";
import { cupPos } from "../spec/cupPos.ts";
import type { FieldValue, MessageSpec } from "../spec/types.ts";
import { type Cursor, compileSpec, decodeField, encodeField } from "./field.ts";

/** Field number (2-64) → value. Absent fields are missing keys (or `undefined`); other keys are ignored. */
export type Fields = { [field: number]: FieldValue | undefined };

/** An ISO 8583 message: MTI (4 digits, `0200`) and its fields; the bitmap follows from which fields are present. */
export interface IsoMessage {
  mti: string;
  fields: Fields;
}

/** Something that computes F64 over the MAC input `data[start, end)` (MTI up to the byte before F64). */
export interface MacCalculator {
  compute(data: Uint8Array, start: number, end: number): Uint8Array;
}

export interface MessageEncodeOptions {
  /** Field layout; defaults to `cupPos`. */
  spec?: MessageSpec;
  /** Pad nibble of odd-length track data (F35, F36): `0` (default) or `F`. */
  trackPad?: PadNibble;
  /** When set, F64 is added and computed with this key (any F64 in `fields` is ignored). */
  mac?: MacCalculator;
}

export interface MessageDecodeOptions {
  spec?: MessageSpec;
}

const MTI_BYTES = 2;
const BITMAP_BYTES = 8;
const MAC_FIELD = 64;
const MAC_BYTES = 8;

/** Encodes MTI, bitmap and fields (no length, TPDU or header). */
export function encodeMessage(message: IsoMessage, options: MessageEncodeOptions = {}): Uint8Array {
  return withScratchWriter((w) => encodeMessageInto(w, message, options));
}

/** Appends MTI, bitmap and fields to `w`. */
export function encodeMessageInto(
  w: ByteWriter,
  message: IsoMessage,
  options: MessageEncodeOptions = {},
): void {
  const compiled = compileSpec(options.spec ?? cupPos);
  const start = w.length;
  const mti = message.mti;
  try {
    if (typeof mti !== "string" || mti.length !== 4) throw new CodecError("MTI must be 4 digits");
    writeBcd(w.bytes, w.reserve(MTI_BYTES), mti, "right");
  } catch {
    throw new CodecError("MTI must be 4 digits");
  }
  const bitmapOffset = w.reserve(BITMAP_BYTES);
  w.bytes.fill(0, bitmapOffset, bitmapOffset + BITMAP_BYTES);

  const fields = message.fields;
  const mac = options.mac;
  if (fields[1] !== undefined) throw new CodecError("field 1 (secondary bitmap) is not supported");
  for (let field = 2; field <= 64; field++) {
    const value = fields[field];
    if (value === undefined || (field === MAC_FIELD && mac)) continue;
    const f = compiled[field];
    if (!f) throw new CodecError("not in the message spec", { field });
    w.bytes[bitmapOffset + ((field - 1) >> 3)]! |= 0x80 >> ((field - 1) & 7);
    encodeField(w, f, value, options);
  }
  if (mac) {
    w.bytes[bitmapOffset + 7]! |= 1;
    const macOffset = w.reserve(MAC_BYTES);
    const value = mac.compute(w.bytes, start, macOffset);
    if (value.length !== MAC_BYTES)
      throw new CodecError(`MAC is ${value.length} bytes, expected 8`, { field: 64 });
    w.bytes.set(value, macOffset);
  }
}

/** Decodes a whole buffer holding MTI, bitmap and fields. */
export function decodeMessage(bytes: Uint8Array, options: MessageDecodeOptions = {}): IsoMessage {
  return decodeMessageAt(bytes, 0, bytes.length, options);
}

/**
 * Decodes MTI, bitmap and fields from `bytes[start, end)`; every byte must be consumed. Error offsets count from
 * the start of `bytes`.
 */
export function decodeMessageAt(
  bytes: Uint8Array,
  start: number,
  end: number,
  options: MessageDecodeOptions = {},
): IsoMessage {
  const compiled = compileSpec(options.spec ?? cupPos);
  if (end - start < MTI_BYTES + BITMAP_BYTES) {
    throw new CodecError(`truncated: MTI and bitmap need 10 bytes, ${end - start} left`, { offset: start });
  }
  let mti: string;
  try {
    mti = readBcd(bytes, start, 4, "right");
  } catch {
    throw new CodecError("MTI is not BCD", { offset: start });
  }
  const bitmapOffset = start + MTI_BYTES;
  if (bytes[bitmapOffset]! & 0x80) {
    throw new CodecError("bitmap bit 1 (secondary bitmap) is set; only the primary bitmap is supported", {
      offset: bitmapOffset,
    });
  }
  const cursor: Cursor = { offset: bitmapOffset + BITMAP_BYTES, end };
  const fields: Fields = {};
  for (let field = 2; field <= 64; field++) {
    const bitmapByte = bytes[bitmapOffset + ((field - 1) >> 3)]!;
    if (bitmapByte === 0) {
      field = ((field - 1) | 7) + 1; // the last field of this bitmap byte; the loop moves to the next byte
      continue;
    }
    if ((bitmapByte & (0x80 >> ((field - 1) & 7))) === 0) continue;
    const f = compiled[field];
    if (!f)
      throw new CodecError("bitmap bit is set but the field is not in the message spec", {
        field,
        offset: bitmapOffset,
      });
    if (cursor.offset >= end) {
      throw new CodecError("bitmap says present but the message ended", {
        field,
        fieldName: f.name,
        offset: cursor.offset,
      });
    }
    fields[field] = decodeField(bytes, cursor, f);
  }
  if (cursor.offset !== end) {
    throw new CodecError(`${end - cursor.offset} trailing bytes after the last field`, {
      offset: cursor.offset,
    });
  }
  return { mti, fields };
}

/** Field numbers present in a message, ascending. */
export function presentFields(message: IsoMessage): number[] {
  const present: number[] = [];
  for (let field = 2; field <= 64; field++) if (message.fields[field] !== undefined) present.push(field);
  return present;
}

/** The 8-byte primary bitmap of a message's fields. */
export function bitmapOf(message: IsoMessage): Uint8Array {
  const bitmap = new Uint8Array(BITMAP_BYTES);
  for (const field of presentFields(message)) bitmap[(field - 1) >> 3]! |= 0x80 >> ((field - 1) & 7);
  return bitmap;
}

/** True when bit `field` is set in the bitmap of the message encoded at `bytes[start]` (MTI first). */
export function hasFieldBit(bytes: Uint8Array, start: number, field: number): boolean {
  const byte = bytes[start + MTI_BYTES + ((field - 1) >> 3)];
  return byte !== undefined && (byte & (0x80 >> ((field - 1) & 7))) !== 0;
}
