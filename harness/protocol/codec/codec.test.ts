import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { concatBytes } from "../encoding/bytes.ts";
import { fromHex, toHex } from "../encoding/hex.ts";
import { CodecError } from "../errors.ts";
import { cupPos } from "../spec/cupPos.ts";
import { isoMessage } from "../testing/arbitraries.ts";
import { bitmapOf, decodeMessage, encodeMessage, type IsoMessage, presentFields } from "./message.ts";

const sale: IsoMessage = {
  mti: "0200",
  fields: {
    3: "000000",
    4: "000000000100",
    11: "000123",
    22: "021",
    35: "6222021234567890=27122201000012345",
  },
};

describe("message codec", () => {
  it("decode(encode(m)) is m for any message of the spec", () => {
    fc.assert(
      fc.property(isoMessage(), (message) => {
        expect(decodeMessage(encodeMessage(message))).toEqual(message);
      }),
      { numRuns: 1000 },
    );
  });

  it("sets bitmap bits MSB first (bit 1 = MSB of byte 0)", () => {
    expect(
      toHex(bitmapOf({ mti: "0800", fields: { 11: "1", 41: "x", 42: "y", 60: "1", 62: "", 63: "" } })),
    ).toBe("0020000000c00016");
    expect(presentFields(sale)).toEqual([3, 4, 11, 22, 35]);
  });

  it("encodes the track separator = as D and decodes it as D", () => {
    const decoded = decodeMessage(encodeMessage(sale));
    expect(decoded.fields[35]).toBe("6222021234567890D27122201000012345");
  });

  it("pads odd track data with 0 by default and F when asked; decodes both", () => {
    const track = { mti: "0200", fields: { 35: "6222021234567890D271222010000123456" } };
    const zero = encodeMessage(track);
    const f = encodeMessage(track, { trackPad: "F" });
    expect(toHex(zero).endsWith("560")).toBe(true);
    expect(toHex(f).endsWith("56f")).toBe(true);
    expect(decodeMessage(zero)).toEqual(track);
    expect(decodeMessage(f)).toEqual(track);
  });

  it("computes F64 with a MAC calculator over MTI … the byte before F64", () => {
    const seen: string[] = [];
    const mac = {
      compute(data: Uint8Array, start: number, end: number) {
        seen.push(toHex(data, start, end));
        return fromHex("0102030405060708");
      },
    };
    const bytes = encodeMessage({ ...sale, fields: { ...sale.fields, 64: new Uint8Array(8) } }, { mac });
    expect(seen).toEqual([toHex(bytes.subarray(0, bytes.length - 8))]);
    expect(decodeMessage(bytes).fields[64]).toEqual(fromHex("0102030405060708"));
  });
});

describe("codec errors name field, field name and offset", () => {
  const encodeError = (message: IsoMessage) => {
    try {
      encodeMessage(message);
    } catch (error) {
      return error;
    }
    throw new Error("expected a CodecError");
  };

  it("field 35 (track2): length 41 exceeds max 37 at offset …", () => {
    const before = encodeMessage({
      mti: "0200",
      fields: {
        2: "6222021234567890",
        3: "000000",
        4: "000000000100",
        11: "000123",
        14: "2712",
        22: "021",
        25: "00",
        26: "12",
      },
    });
    // MTI 2 + bitmap 8 + F2 (1 + 8) + F3 3 + F4 6 + F11 3 + F14 2 + F22 2 + F25 1 + F26 1 = 37 bytes before F35.
    expect(before.length).toBe(37);
    const bytes = concatBytes(before, fromHex(`41${"1".repeat(42)}`));
    bytes[2 + 4]! |= 0x20;
    expect(() => decodeMessage(bytes)).toThrow(
      new CodecError("length 41 exceeds max 37", { field: 35, fieldName: "track2", offset: 37 }),
    );
    expect(() => decodeMessage(bytes)).toThrow("field 35 (track2): length 41 exceeds max 37 at offset 37");
  });

  it("wrong lengths, types and characters when encoding", () => {
    expect(encodeError({ mti: "0200", fields: { 11: "12345" } })).toEqual(
      new CodecError("length 5, expected 6", { field: 11, fieldName: "stan" }),
    );
    expect(String(encodeError({ mti: "0200", fields: { 2: "1".repeat(20) } }))).toBe(
      "CodecError: field 2 (primaryAccountNumber): length 20 exceeds max 19",
    );
    expect(String(encodeError({ mti: "0200", fields: { 4: "00000000010x" } }))).toBe(
      "CodecError: field 4 (amount): character at position 11 is not a digit",
    );
    expect(String(encodeError({ mti: "0200", fields: { 64: "12345678" } }))).toBe(
      "CodecError: field 64 (mac): expected bytes (Uint8Array)",
    );
    expect(String(encodeError({ mti: "0200", fields: { 41: new Uint8Array(8) } }))).toBe(
      "CodecError: field 41 (terminalId): expected a string",
    );
    expect(String(encodeError({ mti: "0200", fields: { 5: "1" } }))).toBe(
      "CodecError: field 5: not in the message spec",
    );
    expect(String(encodeError({ mti: "0200", fields: { 1: "1" } }))).toBe(
      "CodecError: field 1 (secondary bitmap) is not supported",
    );
    expect(String(encodeError({ mti: "200", fields: {} }))).toBe("CodecError: MTI must be 4 digits");
  });

  it("truncation, trailing bytes, unknown and secondary-bitmap bits when decoding", () => {
    const bytes = encodeMessage(sale);
    expect(() => decodeMessage(bytes.subarray(0, bytes.length - 1))).toThrow(
      /^field 35 \(track2\): truncated: needs 17 bytes, 16 left at offset \d+$/,
    );
    expect(() => decodeMessage(fromHex(`${toHex(bytes)}00`))).toThrow(
      /1 trailing bytes after the last field at offset/,
    );
    expect(() => decodeMessage(fromHex("02000800000000000000"))).toThrow(
      "field 5: bitmap bit is set but the field is not in the message spec at offset 2",
    );
    expect(() => decodeMessage(fromHex("02008000000000000000"))).toThrow(
      "bitmap bit 1 (secondary bitmap) is set",
    );
    expect(() => decodeMessage(fromHex("02000020000000000000"))).toThrow(
      "field 11 (stan): bitmap says present but the message ended at offset 10",
    );
    expect(() => decodeMessage(fromHex("0a00"))).toThrow(
      "truncated: MTI and bitmap need 10 bytes, 2 left at offset 0",
    );
    expect(() => decodeMessage(fromHex("0a000000000000000000"))).toThrow("MTI is not BCD at offset 0");
  });

  it("every field of cupPos has a name and a valid shape", () => {
    for (const [field, spec] of Object.entries(cupPos)) {
      expect(spec.name, field).toMatch(/^[a-z][A-Za-z0-9]+$/);
      if ("length" in spec) expect(spec.length).toBeGreaterThan(0);
      else expect(spec.max).toBeLessThanOrEqual(spec.prefix === "LL" ? 99 : 999);
    }
  });
});
