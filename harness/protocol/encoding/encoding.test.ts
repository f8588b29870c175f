import { describe, expect, it } from "vitest";
import { CodecError } from "../errors.ts";
import { readPrefix, writePrefix } from "../prefix/prefix.ts";
import { readAscii, writeAscii } from "./ascii.ts";
import { readBcd, writeBcd } from "./bcd.ts";
import { fromHex, toHex, toHexUpper } from "./hex.ts";

const packed = (digits: string, align: "left" | "right", pad: "0" | "F" = "0", separator = false) => {
  const out = new Uint8Array((digits.length + 1) >> 1);
  writeBcd(out, 0, digits, align, pad, separator);
  return toHex(out);
};

describe("BCD", () => {
  it("right-aligns with a leading 0 nibble (F23 `001` → 00 01)", () => {
    expect(packed("001", "right")).toBe("0001");
    expect(readBcd(fromHex("0001"), 0, 3, "right")).toBe("001");
  });

  it("left-aligns with a trailing pad nibble (F22 `021` → 02 10), 0 or F", () => {
    expect(packed("021", "left")).toBe("0210");
    expect(packed("021", "left", "F")).toBe("021f");
    expect(readBcd(fromHex("0210"), 0, 3, "left")).toBe("021");
    expect(readBcd(fromHex("021f"), 0, 3, "left")).toBe("021");
  });

  it("carries the track separator `=` as nibble D and reads it back as D", () => {
    expect(packed("6212=2706", "left", "F", true)).toBe("6212d2706f");
    expect(packed("6212D2706", "left", "0", true)).toBe("6212d27060");
    expect(readBcd(fromHex("6212d27060"), 0, 9, "left", true)).toBe("6212D2706");
  });

  it("rejects non-digits when encoding, naming the position only", () => {
    expect(() => packed("12a4", "right")).toThrow(new CodecError("character at position 2 is not a digit"));
    expect(() => packed("12=4", "left")).toThrow(CodecError);
  });

  it("rejects non-BCD nibbles and bad pad nibbles when decoding, with the offset", () => {
    expect(() => readBcd(fromHex("001a"), 0, 4, "right")).toThrow("non-BCD nibble at offset 1");
    expect(() => readBcd(fromHex("0215"), 0, 3, "left")).toThrow(
      "trailing pad nibble is 5, expected 0 or F at offset 1",
    );
    expect(() => readBcd(fromHex("1001"), 0, 3, "right")).toThrow(
      "leading pad nibble is 1, expected 0 at offset 0",
    );
    expect(() => readBcd(fromHex("12d4"), 0, 4, "left")).toThrow("non-BCD nibble");
  });
});

describe("length prefixes", () => {
  it("LL is one BCD byte, LLL two", () => {
    const out = new Uint8Array(2);
    expect(writePrefix(out, 0, "LL", 37)).toBe(1);
    expect(toHex(out.subarray(0, 1))).toBe("37");
    expect(writePrefix(out, 0, "LLL", 164)).toBe(2);
    expect(toHex(out)).toBe("0164");
    expect(readPrefix(fromHex("0164"), 0, 2, "LLL")).toBe(164);
  });

  it("rejects a non-BCD or truncated prefix and an oversized count", () => {
    expect(() => readPrefix(fromHex("1a"), 0, 1, "LL")).toThrow("length prefix is not BCD at offset 0");
    expect(() => readPrefix(fromHex("01"), 0, 1, "LLL")).toThrow("LLL length prefix truncated at offset 0");
    expect(() => writePrefix(new Uint8Array(1), 0, "LL", 100)).toThrow(
      "length 100 does not fit an LL prefix",
    );
  });
});

describe("ASCII and hex", () => {
  it("maps bytes to Latin-1 characters both ways", () => {
    const out = new Uint8Array(3);
    writeAscii(out, 0, "A\u00ff\u0000");
    expect(toHex(out)).toBe("41ff00");
    expect(readAscii(out)).toBe("A\u00ff\u0000");
    expect(() => writeAscii(out, 0, "\u4e2d")).toThrow(
      "character at position 0 is not a single-byte character",
    );
  });

  it("reads either hex case and writes lower or upper", () => {
    expect(toHex(fromHex("ABcd"))).toBe("abcd");
    expect(toHexUpper(fromHex("abcd"))).toBe("ABCD");
    expect(() => fromHex("abc")).toThrow("odd number of digits");
    expect(() => fromHex("zz")).toThrow("non-hex character at position 0");
  });
});
