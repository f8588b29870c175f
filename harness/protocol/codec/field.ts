import { readAscii, writeAscii } from "../encoding/ascii.ts";
import type { Align, PadNibble } from "../encoding/bcd.ts";
import { bcdLength, readBcd, writeBcd } from "../encoding/bcd.ts";
import type { ByteWriter } from "../encoding/bytes.ts";
import { CodecError } from "../errors.ts";
import { prefixBytes, readPrefix, type VariablePrefix, writePrefix } from "../prefix/prefix.ts";
import type { FieldSpec, FieldValue, MessageSpec, Sensitivity } from "../spec/types.ts";

/** A field spec flattened once per spec for the hot path. */
export interface CompiledField {
  readonly field: number;
  readonly name: string;
  readonly kind: FieldSpec["kind"];
  /** Fixed length (digits or bytes), or -1 for a variable field. */
  readonly length: number;
  readonly prefix: VariablePrefix | undefined;
  readonly max: number;
  readonly align: Align;
  readonly sensitive: Sensitivity | undefined;
}

const compiledSpecs = new WeakMap<MessageSpec, ReadonlyArray<CompiledField | undefined>>();
let lastSpec: MessageSpec | undefined;
let lastCompiled: ReadonlyArray<CompiledField | undefined> = [];

/** The spec as an array indexed by field number (cached per spec object). */
export function compileSpec(spec: MessageSpec): ReadonlyArray<CompiledField | undefined> {
  if (spec === lastSpec) return lastCompiled;
  const compiled = compiledSpecs.get(spec);
  if (compiled) {
    lastSpec = spec;
    lastCompiled = compiled;
    return compiled;
  }
  const fields: (CompiledField | undefined)[] = [];
  for (let field = 0; field <= 64; field++) {
    const s = spec[field];
    fields.push(s === undefined ? undefined : compileField(field, s));
  }
  compiledSpecs.set(spec, fields);
  lastSpec = spec;
  lastCompiled = fields;
  return fields;
}

function compileField(field: number, spec: FieldSpec): CompiledField {
  const fixed = "length" in spec;
  const numericAlign: Align = fixed ? "right" : "left";
  return {
    field,
    name: spec.name,
    kind: spec.kind,
    length: fixed ? spec.length : -1,
    prefix: fixed ? undefined : spec.prefix,
    max: fixed ? spec.length : spec.max,
    align: spec.kind === "numeric" ? (spec.align ?? numericAlign) : "left",
    sensitive: spec.sensitive,
  };
}

/** How odd-length values are padded when encoding. */
export interface PadOptions {
  /** Pad nibble of odd-length track data (F35, F36): `0` (default) or `F`; both decode. */
  trackPad?: PadNibble;
}

/** Appends one field (prefix and data). Throws CodecError naming the field; never quotes a value. */
export function encodeField(w: ByteWriter, f: CompiledField, value: FieldValue, options: PadOptions): void {
  try {
    if (f.kind === "bytes") {
      if (!(value instanceof Uint8Array)) throw new CodecError("expected bytes (Uint8Array)");
      const offset = reserveWithPrefix(w, f, value.length, value.length);
      w.bytes.set(value, offset);
      return;
    }
    if (typeof value !== "string") throw new CodecError("expected a string");
    if (f.kind === "ascii") {
      const offset = reserveWithPrefix(w, f, value.length, value.length);
      writeAscii(w.bytes, offset, value);
      return;
    }
    const offset = reserveWithPrefix(w, f, value.length, bcdLength(value.length));
    const track = f.kind === "track";
    writeBcd(w.bytes, offset, value, f.align, track ? (options.trackPad ?? "0") : "0", track);
  } catch (error) {
    throw located(error, f, undefined);
  }
}

function reserveWithPrefix(w: ByteWriter, f: CompiledField, count: number, byteCount: number): number {
  if (f.length >= 0) {
    if (count !== f.length) throw new CodecError(`length ${count}, expected ${f.length}`);
    return w.reserve(byteCount);
  }
  if (count > f.max) throw new CodecError(`length ${count} exceeds max ${f.max}`);
  const prefix = f.prefix!;
  const offset = w.reserve(prefixBytes[prefix] + byteCount);
  writePrefix(w.bytes, offset, prefix, count);
  return offset + prefixBytes[prefix];
}

/** A read position over `bytes[.., end)`. */
export interface Cursor {
  offset: number;
  readonly end: number;
}

/** Reads one field at the cursor and advances it. Throws CodecError with field and offset. */
export function decodeField(bytes: Uint8Array, cursor: Cursor, f: CompiledField): FieldValue {
  const start = cursor.offset;
  try {
    let count = f.length;
    let offset = start;
    if (count < 0) {
      count = readPrefix(bytes, offset, cursor.end, f.prefix!);
      if (count > f.max) throw new CodecError(`length ${count} exceeds max ${f.max}`, { offset: start });
      offset += prefixBytes[f.prefix!];
    }
    const byteCount = f.kind === "numeric" || f.kind === "track" ? bcdLength(count) : count;
    if (offset + byteCount > cursor.end) {
      throw new CodecError(`truncated: needs ${byteCount} bytes, ${cursor.end - offset} left`, {
        offset: start,
      });
    }
    cursor.offset = offset + byteCount;
    switch (f.kind) {
      case "bytes":
        return bytes.slice(offset, offset + byteCount);
      case "ascii":
        return readAscii(bytes, offset, offset + byteCount);
      case "numeric":
        return readBcd(bytes, offset, count, f.align, false);
      case "track":
        return readBcd(bytes, offset, count, "left", true);
    }
  } catch (error) {
    throw located(error, f, start);
  }
}

function located(error: unknown, f: CompiledField, offset: number | undefined): unknown {
  if (!(error instanceof CodecError)) return error;
  return error.locate({ field: f.field, fieldName: f.name, offset });
}
