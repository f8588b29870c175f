// Small helpers for raw binary fields and buffers.

/** Concatenates byte arrays. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Byte-wise equality (not constant-time; MACs here are test traffic, not a security boundary). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True when every byte is 0. */
export function isZero(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

/** A growable output buffer: the codec writes into it, then takes one copy of the used part. */
export class ByteWriter {
  bytes: Uint8Array;
  length = 0;

  constructor(capacity = 512) {
    this.bytes = new Uint8Array(capacity);
  }

  /** Makes room for `count` more bytes; returns the offset to write them at. */
  reserve(count: number): number {
    const needed = this.length + count;
    if (needed > this.bytes.length) {
      const grown = new Uint8Array(Math.max(needed, this.bytes.length * 2));
      grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
    }
    const offset = this.length;
    this.length = needed;
    return offset;
  }

  /** A copy of what was written. */
  toBytes(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }

  /** Empties the writer, keeping its buffer. */
  reset(): this {
    this.length = 0;
    return this;
  }
}

let scratch: ByteWriter | undefined;

/**
 * Runs `body` with a shared, emptied writer and returns a copy of what it wrote: one allocation per encode
 * instead of a buffer and a copy. Encoding is synchronous; a nested call gets a fresh writer.
 */
export function withScratchWriter(body: (w: ByteWriter) => void): Uint8Array {
  const w = scratch ?? new ByteWriter(1024);
  scratch = undefined;
  try {
    body(w.reset());
    return w.toBytes();
  } finally {
    scratch = w;
  }
}
