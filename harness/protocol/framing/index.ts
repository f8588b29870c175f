export {
  type Capture,
  type CaptureDecodeOptions,
  type CaptureForm,
  decodeCapture,
  decodeFrame,
  describeEnvelope,
  ENVELOPES,
  type Envelope,
  encodeFrame,
  envelopeThatDecodes,
  type Frame,
  type FrameDecodeOptions,
  type FrameEncodeOptions,
  type FrameOptions,
  FULL_ENVELOPE,
  messageOffset,
} from "./frame.ts";
export {
  asksSignIn,
  HEADER_BYTES,
  type Header,
  readHeader,
  TERMINAL_HEADER,
  withProcessingRequirement,
  writeHeader,
} from "./header.ts";
export {
  LENGTH_BYTES,
  type LengthCodec,
  maxFrameLength,
  readFrameLength,
  writeFrameLength,
} from "./length.ts";
export { FrameReassembler, type ReassemblerOptions } from "./reassembler.ts";
export { readTpdu, replyTpdu, TERMINAL_TPDU, TPDU_BYTES, TPDU_ID, type Tpdu, writeTpdu } from "./tpdu.ts";
