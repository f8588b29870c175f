import type { Fields, IsoMessage } from "../codec/message.ts";
import { CodecError } from "../errors.ts";
import { type CupPosField, cupPos } from "../spec/cupPos.ts";
import {
  type Field60,
  type Field60PartId,
  field60Parts,
  joinField60,
  splitField60,
} from "../spec/field60.ts";
import type { FieldValue } from "../spec/types.ts";

/**
 * Where one named value of a typed message lives: an ISO field (`11`) or an F60 part (`"60.2"`).
 * `optional` values may be absent; `default` fills a value the builder was not given.
 */
export interface Slot {
  readonly field: CupPosField | Field60PartId;
  readonly optional?: true;
  readonly default?: string;
}

/** Name → slot, in the order a reader would list them. */
export type MessageLayout = { readonly [name: string]: Slot };

/** A typed message: its MTI, whether it carries a MAC in F64, and its named values. */
export interface MessageType<L extends MessageLayout = MessageLayout> {
  readonly mti: string;
  readonly mac: boolean;
  readonly fields: L;
}

/** Value type of a slot: bytes for binary fields, digit or character strings for everything else. */
type ValueOf<F> = F extends CupPosField
  ? (typeof cupPos)[F] extends { kind: "bytes" }
    ? Uint8Array
    : string
  : string;
type KeysWhere<L, Condition> = { [K in keyof L]: L[K] extends Condition ? K : never }[keyof L];
type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** What a reader returns: optional slots may be missing. */
export type MessageValues<L extends MessageLayout> = Simplify<
  { [K in Exclude<keyof L, KeysWhere<L, { optional: true }>>]: ValueOf<L[K]["field"]> } & {
    [K in KeysWhere<L, { optional: true }>]?: ValueOf<L[K]["field"]>;
  }
>;

/** What a builder takes: slots that are optional or have a default may be left out. */
export type MessageInput<L extends MessageLayout> = Simplify<
  {
    [K in Exclude<keyof L, KeysWhere<L, { optional: true } | { default: string }>>]: ValueOf<L[K]["field"]>;
  } & {
    [K in KeysWhere<L, { optional: true } | { default: string }>]?: ValueOf<L[K]["field"]>;
  }
>;

/** Declares a typed message; `const` keeps the layout literal so the value types follow from it. */
export function defineMessage<const L extends MessageLayout>(type: MessageType<L>): MessageType<L> {
  return type;
}

const partNames = new Map<string, keyof Field60>(field60Parts.map((part) => [part.id, part.name]));

/** A layout flattened once per message type for the hot path. */
interface CompiledSlot {
  readonly name: string;
  readonly slot: Slot;
  /** ISO field number, or -1 for an F60 part. */
  readonly field: number;
  /** F60 part name for an F60 part. */
  readonly part: keyof Field60 | undefined;
}

const compiledLayouts = new WeakMap<MessageType, readonly CompiledSlot[]>();

function compileLayout(type: MessageType): readonly CompiledSlot[] {
  let compiled = compiledLayouts.get(type);
  if (!compiled) {
    compiled = Object.entries(type.fields).map(([name, slot]) => ({
      name,
      slot,
      field: typeof slot.field === "number" ? slot.field : -1,
      part: typeof slot.field === "number" ? undefined : partNames.get(slot.field),
    }));
    compiledLayouts.set(type, compiled);
  }
  return compiled;
}

/** Builds the ISO message of a typed message; throws CodecError naming a missing required value. */
export function buildMessage<L extends MessageLayout>(
  type: MessageType<L>,
  input: MessageInput<L>,
): IsoMessage {
  const values = input as Readonly<Record<string, FieldValue | undefined>>;
  const fields: Fields = {};
  let field60: Field60 | undefined;
  for (const { name, slot, field, part } of compileLayout(type)) {
    const value = values[name] ?? slot.default;
    if (value === undefined) {
      if (!slot.optional) throw missing(type, name, slot);
      continue;
    }
    if (field > 0) {
      fields[field] = value;
    } else {
      if (typeof value !== "string")
        throw new CodecError(`${slot.field} (${name}) must be a digit string`, { field: 60 });
      field60 ??= {};
      field60[part!] = value;
    }
  }
  if (field60) fields[60] = joinField60(field60);
  return { mti: type.mti, fields };
}

/** Reads a typed message; throws CodecError on another MTI or a missing required value. */
export function readMessage<L extends MessageLayout>(
  type: MessageType<L>,
  message: IsoMessage,
): MessageValues<L> {
  if (message.mti !== type.mti) throw new CodecError(`expected MTI ${type.mti}, got ${message.mti}`);
  const values: Record<string, FieldValue> = {};
  const f60 = message.fields[60];
  const field60 = typeof f60 === "string" ? splitField60(f60) : {};
  for (const { name, slot, field, part } of compileLayout(type)) {
    const value = field > 0 ? message.fields[field] : field60[part!];
    if (value === undefined) {
      if (!slot.optional) throw missing(type, name, slot);
      continue;
    }
    values[name] = value;
  }
  return values as MessageValues<L>;
}

function missing(type: MessageType, name: string, slot: Slot): CodecError {
  if (typeof slot.field === "number") {
    return new CodecError(`required in ${type.mti} (${name}) but absent`, {
      field: slot.field,
      fieldName: cupPos[slot.field].name,
    });
  }
  return new CodecError(`${slot.field} (${name}) required in ${type.mti} but absent`, { field: 60 });
}
