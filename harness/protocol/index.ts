// harness/protocol: the UnionPay POS dialect of ISO 8583 (PROTOCOL.md). Runs anywhere JavaScript runs: no Node APIs,
// no dependencies. Folders by axis: encoding/ (BCD, ASCII, hex), prefix/ (LL, LLL), spec/ (field specs as
// data), codec/ (MTI, bitmap, fields), framing/ (length, TPDU, header, stream reassembly), crypto/ (DES, 3DES,
// MACs, working keys), messages/ (typed 0800-0830 builders and readers, reply matching).

export {
  bitmapOf,
  decodeMessage,
  encodeMessage,
  type Fields,
  type IsoMessage,
  type MessageDecodeOptions,
  type MessageEncodeOptions,
  presentFields,
} from "./codec/index.ts";
export {
  blockCipher,
  cupEcbMac,
  DEFAULT_LAB_KEY_HEX,
  deriveTmk,
  ecbDecrypt,
  ecbEncrypt,
  type KeyLayout,
  keyCheckValue,
  type MacAlgorithm,
  type MacKey,
  macKey,
  parseTerminalKeys,
  type TerminalKey,
  TerminalKeysError,
  tmkLookup,
  unwrapWorkingKeys,
  type WorkingKeys,
  wrapWorkingKeys,
  x919Mac,
} from "./crypto/index.ts";
export {
  type DescribeOptions,
  describeFrame,
  describeMessage,
  type FieldDescription,
  type FrameDescription,
} from "./describe.ts";
export { asciiBytes, equalBytes, fromHex, readAscii, toHex, toHexUpper } from "./encoding/index.ts";
export { CodecError, type CodecErrorContext } from "./errors.ts";
// The framing and the typed messages: their indexes are curated already.
export * from "./framing/index.ts";
export { maskField, maskPan, maskTrack } from "./mask.ts";
export * from "./messages/index.ts";
export {
  cupPos,
  type Field60,
  type FieldSpec,
  type FieldValue,
  joinField60,
  type MessageSpec,
  networkManagementCodes,
  processingRequirements,
  RESPONSE_CODES,
  responseCodes,
  SIGN_IN_AGAIN_CODES,
  SYSTEM_ERROR_CODES,
  splitField60,
} from "./spec/index.ts";
