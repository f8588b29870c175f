import {
  decodeMessageAt,
  encodeMessageInto,
  type IsoMessage,
  type MessageDecodeOptions,
  type MessageEncodeOptions,
} from "../codec/message.ts";
import { withScratchWriter } from "../encoding/bytes.ts";
import { CodecError } from "../errors.ts";
import { HEADER_BYTES, type Header, readHeader, writeHeader } from "./header.ts";
import { LENGTH_BYTES, type LengthCodec, readFrameLength, writeFrameLength } from "./length.ts";
import { readTpdu, TPDU_BYTES, TPDU_ID, type Tpdu, writeTpdu } from "./tpdu.ts";

/** What travels on the wire after the length: `[TPDU 5B][HEADER 6B][MTI 2B][BITMAP 8B][fields]`. */
export interface Frame {
  tpdu: Tpdu;
  header: Header;
  message: IsoMessage;
}

export interface FrameOptions {
  /** Codec of the 2-byte length: `binary` (default) or `bcd`. */
  lengthCodec?: LengthCodec;
  /** Whether the bytes start with the 2-byte length (default true; false for a body from the reassembler). */
  lengthPrefix?: boolean;
}

export interface FrameEncodeOptions extends FrameOptions, MessageEncodeOptions {}
export interface FrameDecodeOptions extends FrameOptions, MessageDecodeOptions {}

/** Bytes before the TPDU and before the MTI. */
const ENVELOPE_BYTES = TPDU_BYTES + HEADER_BYTES;

/** Encodes a frame: length (unless `lengthPrefix: false`), TPDU, header, message (with F64 when `mac` is set). */
export function encodeFrame(frame: Frame, options: FrameEncodeOptions = {}): Uint8Array {
  const prefixed = options.lengthPrefix ?? true;
  return withScratchWriter((w) => {
    const tpduOffset =
      w.reserve((prefixed ? LENGTH_BYTES : 0) + ENVELOPE_BYTES) + (prefixed ? LENGTH_BYTES : 0);
    writeTpdu(w.bytes, tpduOffset, frame.tpdu);
    writeHeader(w.bytes, tpduOffset + TPDU_BYTES, frame.header);
    encodeMessageInto(w, frame.message, options);
    if (prefixed) writeFrameLength(w.bytes, 0, w.length - LENGTH_BYTES, options.lengthCodec ?? "binary");
  });
}

/** Offset of the MTI in a frame encoded with `options`. */
export function messageOffset(options: FrameOptions = {}): number {
  return ((options.lengthPrefix ?? true) ? LENGTH_BYTES : 0) + ENVELOPE_BYTES;
}

/** Decodes a frame in its wire form (strict: the length, when expected, must match the bytes exactly). */
export function decodeFrame(bytes: Uint8Array, options: FrameDecodeOptions = {}): Frame {
  let offset = 0;
  if (options.lengthPrefix ?? true) {
    checkLength(bytes, options.lengthCodec ?? "binary");
    offset = LENGTH_BYTES;
  }
  if (bytes.length < offset + ENVELOPE_BYTES) {
    throw new CodecError(`truncated: TPDU and header need 11 bytes, ${bytes.length - offset} left`, {
      offset,
    });
  }
  return {
    tpdu: readTpdu(bytes, offset),
    header: readHeader(bytes, offset + TPDU_BYTES),
    message: decodeMessageAt(bytes, offset + ENVELOPE_BYTES, bytes.length, options),
  };
}

function checkLength(bytes: Uint8Array, codec: LengthCodec): number {
  if (bytes.length < LENGTH_BYTES)
    throw new CodecError("truncated: no room for the 2-byte length", { offset: 0 });
  const length = readFrameLength(bytes, 0, codec);
  if (length !== bytes.length - LENGTH_BYTES) {
    throw new CodecError(`length prefix says ${length} bytes but ${bytes.length - LENGTH_BYTES} follow`, {
      offset: 0,
    });
  }
  return length;
}

/** Where a captured frame started. */
export type CaptureForm = "length-prefixed" | "tpdu" | "mti";

/** A frame as captured in a log: maybe without the length, maybe without TPDU and header. */
export interface Capture {
  form: CaptureForm;
  /** The length prefix value, when the capture had one. */
  length?: number;
  tpdu?: Tpdu;
  header?: Header;
  message: IsoMessage;
}

export interface CaptureDecodeOptions extends MessageDecodeOptions {
  lengthCodec?: LengthCodec;
}

/**
 * Decodes a frame for an operator: with the length prefix, without it (TPDU first), or starting at the MTI.
 * The forms are tried in the order the first bytes suggest; the first that decodes completely wins, and when
 * none does, the error of the most plausible one is thrown.
 */
export function decodeCapture(bytes: Uint8Array, options: CaptureDecodeOptions = {}): Capture {
  const codec = options.lengthCodec ?? "binary";
  const attempts: (() => Capture)[] = [];
  const lengthMatches =
    bytes.length >= LENGTH_BYTES && safeLength(bytes, codec) === bytes.length - LENGTH_BYTES;
  if (lengthMatches || bytes[LENGTH_BYTES] === TPDU_ID) {
    attempts.push(() => {
      const length = checkLength(bytes, codec);
      const rest = afterLength(bytes, LENGTH_BYTES, options);
      return { ...rest, form: "length-prefixed", length };
    });
  }
  if (bytes[0] === TPDU_ID) attempts.push(() => ({ ...withEnvelope(bytes, 0, options), form: "tpdu" }));
  if (bytes.length === 0 || bytes[0]! >> 4 === 0) {
    attempts.push(() => ({ form: "mti", message: decodeMessageAt(bytes, 0, bytes.length, options) }));
  }
  if (attempts.length === 0) {
    throw new CodecError("cannot tell where the frame starts: expected a length prefix, TPDU 60 or an MTI", {
      offset: 0,
    });
  }
  let firstError: unknown;
  for (const attempt of attempts) {
    try {
      return attempt();
    } catch (error) {
      if (!(error instanceof CodecError)) throw error;
      firstError ??= error;
    }
  }
  throw firstError;
}

function afterLength(
  bytes: Uint8Array,
  offset: number,
  options: MessageDecodeOptions,
): Omit<Capture, "form"> {
  if (bytes[offset] === TPDU_ID) return withEnvelope(bytes, offset, options);
  return { message: decodeMessageAt(bytes, offset, bytes.length, options) };
}

function withEnvelope(
  bytes: Uint8Array,
  offset: number,
  options: MessageDecodeOptions,
): Omit<Capture, "form"> {
  if (bytes.length < offset + ENVELOPE_BYTES) {
    throw new CodecError(`truncated: TPDU and header need 11 bytes, ${bytes.length - offset} left`, {
      offset,
    });
  }
  return {
    tpdu: readTpdu(bytes, offset),
    header: readHeader(bytes, offset + TPDU_BYTES),
    message: decodeMessageAt(bytes, offset + ENVELOPE_BYTES, bytes.length, options),
  };
}

function safeLength(bytes: Uint8Array, codec: LengthCodec): number {
  try {
    return readFrameLength(bytes, 0, codec);
  } catch {
    return -1;
  }
}
