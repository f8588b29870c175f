export { type CompiledField, compileSpec, type PadOptions } from "./field.ts";
export {
  bitmapOf,
  decodeMessage,
  decodeMessageAt,
  encodeMessage,
  encodeMessageInto,
  type Fields,
  hasFieldBit,
  type IsoMessage,
  type MacCalculator,
  type MessageDecodeOptions,
  type MessageEncodeOptions,
  presentFields,
} from "./message.ts";
