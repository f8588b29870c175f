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

/**
 * What travels on the wire after the length: `[TPDU 5B][HEADER 6B][MTI 2B][BITMAP 8B][fields]`. Some acquirers'
 * dialects leave out the TPDU, the header or both (the frame's `envelope` option): then that part is absent here.
 */
export interface Frame {
  tpdu?: Tpdu;
  header?: Header;
  message: IsoMessage;
}

/** Which of the TPDU and the header a dialect sends before the MTI (default both). */
export interface Envelope {
  tpdu: boolean;
  header: boolean;
}

export const FULL_ENVELOPE: Envelope = { tpdu: true, header: true };

/** The four envelopes, the full one first: what a decoder tries when the expected one does not decode. */
export const ENVELOPES: readonly Envelope[] = [
  FULL_ENVELOPE,
  { tpdu: false, header: true },
  { tpdu: true, header: false },
  { tpdu: false, header: false },
];

/** `TPDU and header`, `header only`, `TPDU only`, `neither TPDU nor header`. */
export function describeEnvelope(e: Envelope): string {
  if (e.tpdu && e.header) return "TPDU and header";
  if (e.header) return "header only (no TPDU)";
  if (e.tpdu) return "TPDU only (no header)";
  return "neither TPDU nor header";
}

const envelopeBytes = (e: Envelope) => (e.tpdu ? TPDU_BYTES : 0) + (e.header ? HEADER_BYTES : 0);

export interface FrameOptions {
  /** Which of TPDU and header the frame has before the MTI (default both). */
  envelope?: Envelope;
  /** Codec of the 2-byte length: `binary` (default) or `bcd`. */
  lengthCodec?: LengthCodec;
  /** Whether the bytes start with the 2-byte length (default true; false for a body from the reassembler). */
  lengthPrefix?: boolean;
}

export interface FrameEncodeOptions extends FrameOptions, MessageEncodeOptions {}
export interface FrameDecodeOptions extends FrameOptions, MessageDecodeOptions {}

/** Bytes of the full envelope: TPDU and header. */
const ENVELOPE_BYTES = TPDU_BYTES + HEADER_BYTES;

/**
 * Encodes a frame: length (unless `lengthPrefix: false`), the TPDU and the header the envelope has, the message
 * (with F64 when `mac` is set).
 */
export function encodeFrame(frame: Frame, options: FrameEncodeOptions = {}): Uint8Array {
  const prefixed = options.lengthPrefix ?? true;
  const envelope = options.envelope ?? FULL_ENVELOPE;
  if (envelope.tpdu && !frame.tpdu) throw new CodecError("the frame has no TPDU, and its envelope has one");
  if (envelope.header && !frame.header)
    throw new CodecError("the frame has no header, and its envelope has one");
  return withScratchWriter((w) => {
    const tpduOffset =
      w.reserve((prefixed ? LENGTH_BYTES : 0) + envelopeBytes(envelope)) + (prefixed ? LENGTH_BYTES : 0);
    if (envelope.tpdu) writeTpdu(w.bytes, tpduOffset, frame.tpdu!);
    if (envelope.header) writeHeader(w.bytes, tpduOffset + (envelope.tpdu ? TPDU_BYTES : 0), frame.header!);
    encodeMessageInto(w, frame.message, options);
    if (prefixed) writeFrameLength(w.bytes, 0, w.length - LENGTH_BYTES, options.lengthCodec ?? "binary");
  });
}

/** Offset of the MTI in a frame encoded with `options`. */
export function messageOffset(options: FrameOptions = {}): number {
  return (
    ((options.lengthPrefix ?? true) ? LENGTH_BYTES : 0) + envelopeBytes(options.envelope ?? FULL_ENVELOPE)
  );
}

/** Decodes a frame in its wire form (strict: the length, when expected, must match the bytes exactly). */
export function decodeFrame(bytes: Uint8Array, options: FrameDecodeOptions = {}): Frame {
  let offset = 0;
  if (options.lengthPrefix ?? true) {
    checkLength(bytes, options.lengthCodec ?? "binary");
    offset = LENGTH_BYTES;
  }
  const envelope = options.envelope ?? FULL_ENVELOPE;
  const before = envelopeBytes(envelope);
  if (bytes.length < offset + before) {
    throw new CodecError(
      `truncated: ${describeEnvelope(envelope)} need ${before} bytes, ${bytes.length - offset} left`,
      { offset },
    );
  }
  const frame: Frame = {
    message: decodeMessageAt(bytes, offset + before, bytes.length, options),
  };
  if (envelope.tpdu) frame.tpdu = readTpdu(bytes, offset);
  if (envelope.header) frame.header = readHeader(bytes, offset + (envelope.tpdu ? TPDU_BYTES : 0));
  return frame;
}

/**
 * Which other envelope a frame that does not decode with `expected` decodes with, if any: how a terminal or a
 * switch names a dialect mismatch ("the reply has no TPDU") instead of a field that only looks broken.
 */
export function envelopeThatDecodes(
  bytes: Uint8Array,
  expected: Envelope,
  options: FrameDecodeOptions = {},
): Envelope | undefined {
  for (const envelope of ENVELOPES) {
    if (envelope.tpdu === expected.tpdu && envelope.header === expected.header) continue;
    try {
      decodeFrame(bytes, { ...options, envelope });
      return envelope;
    } catch {
      // not this one
    }
  }
  return undefined;
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
