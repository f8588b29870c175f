import { bitmapOf, type IsoMessage, presentFields } from "./codec/message.ts";
import { isPrintableAscii, readAscii } from "./encoding/ascii.ts";
import { toHex } from "./encoding/hex.ts";
import type { Capture, CaptureForm, Frame } from "./framing/frame.ts";
import { HEADER_BYTES, type Header, writeHeader } from "./framing/header.ts";
import { TPDU_BYTES, type Tpdu, writeTpdu } from "./framing/tpdu.ts";
import { maskField } from "./mask.ts";
import {
  networkManagementCodes,
  processingRequirementNames,
  responseCodes,
  transactionTypes,
} from "./spec/codes.ts";
import { cupPos } from "./spec/cupPos.ts";
import { splitField60 } from "./spec/field60.ts";
import type { FieldValue, MessageSpec } from "./spec/types.ts";

export interface DescribeOptions {
  /** Show card data (F2, F35, F36, F52, F55) in clear. Default false: masked. */
  unmask?: boolean;
  spec?: MessageSpec;
}

/** One field as printed: digits/characters in `value`; binary fields as `hex` (and `text` when printable). */
export interface FieldDescription {
  name: string;
  value?: string;
  hex?: string;
  text?: string;
  masked?: true;
  /** F60 sub-fields by name. */
  parts?: Record<string, string>;
  /** What a coded value means (F39, F60). */
  meaning?: string;
  /** F55: the EMV tags present (tags only; values stay masked). */
  tags?: string[];
}

/** The JSON-able view of a frame that `posstorm decode` prints. */
export interface FrameDescription {
  form?: CaptureForm;
  length?: number;
  tpdu?: Tpdu & { hex: string };
  header?: Header & { hex: string; processingRequirementMeaning?: string };
  mti: string;
  bitmap: { hex: string; fields: number[] };
  fields: Record<string, FieldDescription>;
}

/** Describes a decoded frame or capture; card data masked unless `unmask`. */
export function describeFrame(frame: Frame | Capture, options: DescribeOptions = {}): FrameDescription {
  const head: Partial<FrameDescription> = {};
  if ("form" in frame) head.form = frame.form;
  if ("length" in frame && frame.length !== undefined) head.length = frame.length;
  const { tpdu, header } = frame;
  if (tpdu) head.tpdu = { hex: hexOf(TPDU_BYTES, (out) => writeTpdu(out, 0, tpdu)), ...tpdu };
  if (header) {
    const meaning = processingRequirementNames[header.processingRequirement];
    head.header = {
      hex: hexOf(HEADER_BYTES, (out) => writeHeader(out, 0, header)),
      ...header,
      ...(meaning ? { processingRequirementMeaning: meaning } : {}),
    };
  }
  return { ...head, ...describeMessage(frame.message, options) };
}

/** Describes MTI, bitmap and fields. */
export function describeMessage(message: IsoMessage, options: DescribeOptions = {}): FrameDescription {
  const spec = options.spec ?? cupPos;
  const fields: Record<string, FieldDescription> = {};
  const present = presentFields(message);
  for (const field of present) {
    fields[String(field)] = describeField(field, message.fields[field]!, spec, options.unmask ?? false);
  }
  return { mti: message.mti, bitmap: { hex: toHex(bitmapOf(message)), fields: present }, fields };
}

function describeField(
  field: number,
  value: FieldValue,
  spec: MessageSpec,
  unmask: boolean,
): FieldDescription {
  const fieldSpec = spec[field];
  const name = fieldSpec?.name ?? `field${field}`;
  const description: FieldDescription = { name };
  if (fieldSpec?.sensitive && !unmask) {
    description.value = maskField(fieldSpec.sensitive, value);
    description.masked = true;
  } else if (typeof value === "string") {
    description.value = value;
  } else {
    description.hex = toHex(value);
    if (value.length > 0 && isPrintableAscii(value)) description.text = readAscii(value);
  }
  if (field === 55 && value instanceof Uint8Array) {
    const tags = tlvTags(value);
    if (tags) description.tags = tags;
  }
  if (field === 39 && typeof value === "string" && responseCodes[value])
    description.meaning = responseCodes[value];
  if (field === 60 && typeof value === "string") {
    const parts = splitField60(value);
    description.parts = parts as Record<string, string>;
    const meanings = [
      parts.transactionType && transactionTypes[parts.transactionType],
      parts.networkManagementCode && networkManagementCodes[parts.networkManagementCode],
    ].filter((meaning): meaning is string => Boolean(meaning));
    if (meanings.length > 0) description.meaning = meanings.join("; ");
  }
  return description;
}

/** Tags of a BER-TLV list (EMV chip data), or undefined when it does not parse. */
export function tlvTags(data: Uint8Array): string[] | undefined {
  const tags: string[] = [];
  let offset = 0;
  while (offset < data.length) {
    const tagStart = offset;
    if ((data[offset++]! & 0x1f) === 0x1f) {
      do {
        if (offset >= data.length) return undefined;
      } while (data[offset++]! & 0x80);
    }
    const tagEnd = offset;
    if (offset >= data.length) return undefined;
    let length = data[offset++]!;
    if (length & 0x80) {
      const count = length & 0x7f;
      if (count === 0 || count > 2 || offset + count > data.length) return undefined;
      length = 0;
      for (let i = 0; i < count; i++) length = (length << 8) | data[offset++]!;
    }
    if (offset + length > data.length) return undefined;
    tags.push(toHex(data, tagStart, tagEnd).toUpperCase());
    offset += length;
  }
  return tags;
}

function hexOf(size: number, write: (out: Uint8Array) => void): string {
  const out = new Uint8Array(size);
  write(out);
  return toHex(out);
}
