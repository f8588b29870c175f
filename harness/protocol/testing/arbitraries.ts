import fc from "fast-check";
import type { IsoMessage } from "../codec/message.ts";
import type { Header } from "../framing/header.ts";
import type { Tpdu } from "../framing/tpdu.ts";
import type { MessageLayout, MessageType } from "../messages/layout.ts";
import { cupPos } from "../spec/cupPos.ts";
import { field60Parts } from "../spec/field60.ts";
import type { FieldSpec, FieldValue, MessageSpec } from "../spec/types.ts";

// fast-check arbitraries derived from the field specs: any value they produce is valid for its field.

const digit = fc.constantFrom(..."0123456789");
const trackChar = fc.constantFrom(..."0123456789D");
const byteChar = fc.integer({ min: 0, max: 255 }).map((code) => String.fromCharCode(code));
const hexText = (length: number) =>
  fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: length, maxLength: length });

export const digits = (minLength: number, maxLength = minLength) =>
  fc.string({ unit: digit, minLength, maxLength });

/** Valid values of one field. */
export function fieldValue(spec: FieldSpec): fc.Arbitrary<FieldValue> {
  const [min, max] = "length" in spec ? [spec.length, spec.length] : [0, spec.max];
  switch (spec.kind) {
    case "numeric":
      return digits(min, max);
    case "track":
      return fc.string({ unit: trackChar, minLength: min, maxLength: max });
    case "ascii":
      return fc.string({ unit: byteChar, minLength: min, maxLength: max });
    case "bytes":
      return fc.uint8Array({ minLength: min, maxLength: max });
  }
}

/** Any message of the spec: 4-digit MTI and a random subset of fields. */
export function isoMessage(
  spec: MessageSpec = cupPos,
  mti: fc.Arbitrary<string> = digits(4),
): fc.Arbitrary<IsoMessage> {
  const model: Record<string, fc.Arbitrary<FieldValue>> = {};
  for (const key of Object.keys(spec)) model[key] = fieldValue(spec[Number(key)]!);
  return fc.record({ mti, fields: fc.record(model, { requiredKeys: [] }) });
}

export const tpdu: fc.Arbitrary<Tpdu> = fc.record({
  id: hexText(2),
  destination: hexText(4),
  source: hexText(4),
});

export const header: fc.Arbitrary<Header> = fc.record({
  applicationType: hexText(2),
  version: hexText(2),
  terminalStatus: fc.integer({ min: 0, max: 15 }),
  processingRequirement: fc.integer({ min: 0, max: 15 }),
  softwareVersion: hexText(6),
});

/**
 * Builder input for a typed message, and what a reader returns after the round trip (defaults filled).
 * F60 parts stay contiguous: once a part is absent (and has no default), later parts are dropped.
 */
export function typedInput(
  type: MessageType,
): fc.Arbitrary<{ input: Record<string, FieldValue>; expected: Record<string, FieldValue> }> {
  const layout: MessageLayout = type.fields;
  const model: Record<string, fc.Arbitrary<FieldValue>> = {};
  const required: string[] = [];
  for (const [name, slot] of Object.entries(layout)) {
    if (typeof slot.field === "number") {
      model[name] = fieldValue(cupPos[slot.field]);
    } else {
      const part = field60Parts.find((p) => p.id === slot.field)!;
      model[name] = digits(part.digits);
    }
    if (!slot.optional && slot.default === undefined) required.push(name);
  }
  return fc.record(model, { requiredKeys: required }).map((generated) => {
    const input: Record<string, FieldValue> = { ...generated } as Record<string, FieldValue>;
    let gap = false;
    for (const part of field60Parts) {
      const entry = Object.entries(layout).find(([, slot]) => slot.field === part.id);
      if (!entry) {
        gap = true;
        continue;
      }
      const [name, slot] = entry;
      if (gap) delete input[name];
      else if (input[name] === undefined && slot.default === undefined) gap = true;
    }
    const expected: Record<string, FieldValue> = {};
    for (const [name, slot] of Object.entries(layout)) {
      const value = input[name] ?? slot.default;
      if (value !== undefined) expected[name] = value;
    }
    return { input, expected };
  });
}
