import { hasFieldBit } from "../codec/message.ts";
import type { MacKey } from "../crypto/mac.ts";
import { type FrameOptions, messageOffset } from "../framing/frame.ts";

const MAC_BYTES = 8;
const MIN_MESSAGE = 2 + 8 + MAC_BYTES;

/**
 * Checks F64 of a message encoded at `bytes[start..]` (MTI first, F64 last): false when the bitmap has no bit
 * 64 or the MAC differs. Decode the bytes first; this only recomputes the MAC over MTI … the byte before F64.
 */
export function verifyMessageMac(bytes: Uint8Array, key: MacKey, start = 0): boolean {
  if (bytes.length - start < MIN_MESSAGE || !hasFieldBit(bytes, start, 64)) return false;
  const macOffset = bytes.length - MAC_BYTES;
  return key.verify(bytes, start, macOffset, bytes, macOffset);
}

/** `verifyMessageMac` for a whole frame (with or without its length, per `options`). */
export function verifyFrameMac(frame: Uint8Array, key: MacKey, options: FrameOptions = {}): boolean {
  return verifyMessageMac(frame, key, messageOffset(options));
}
