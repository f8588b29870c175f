import { CodecError } from "../errors.ts";
import { fromBcdByte, toBcdByte } from "../prefix/prefix.ts";

/** How the 2-byte frame length is written: big-endian binary (`01AA` = 426, default) or BCD (`0426`). */
export type LengthCodec = "binary" | "bcd";

export const LENGTH_BYTES = 2;

/** Largest body each length codec can describe. */
export const maxFrameLength: Readonly<Record<LengthCodec, number>> = { binary: 0xffff, bcd: 9999 };

/** Writes the length of the body that follows (the prefix itself excluded). */
export function writeFrameLength(out: Uint8Array, offset: number, length: number, codec: LengthCodec): void {
  if (length > maxFrameLength[codec]) {
    throw new CodecError(`frame body of ${length} bytes does not fit a ${codec} length prefix`);
  }
  if (codec === "binary") {
    out[offset] = length >> 8;
    out[offset + 1] = length & 0xff;
  } else {
    out[offset] = toBcdByte(Math.floor(length / 100));
    out[offset + 1] = toBcdByte(length % 100);
  }
}

/** Reads the 2-byte length at `offset`; throws CodecError when a BCD length is not BCD. */
export function readFrameLength(bytes: Uint8Array, offset: number, codec: LengthCodec): number {
  const hi = bytes[offset]!;
  const lo = bytes[offset + 1]!;
  if (codec === "binary") return (hi << 8) | lo;
  try {
    return fromBcdByte(hi, offset) * 100 + fromBcdByte(lo, offset + 1);
  } catch {
    throw new CodecError("BCD frame length is not BCD", { offset });
  }
}
