import { createCipheriv } from "node:crypto";
import { describe, expect, it } from "vitest";
import { fromHex, toHex } from "../encoding/index.ts";
import { CodecError } from "../errors.ts";
import { DEFAULT_LAB_KEY_HEX, deriveTmk, withOddParity } from "./terminalKeys.ts";

// The derivation is checked against OpenSSL's two-key 3DES (Node's crypto), an implementation
// independent of ours.
function opensslTmk(labKeyHex: string, tid: string): string {
  const encrypt = (block: Buffer) => {
    const cipher = createCipheriv("des-ede-ecb", Buffer.from(labKeyHex, "hex"), null).setAutoPadding(false);
    return Buffer.concat([cipher.update(block), cipher.final()]);
  };
  const plain = Buffer.from(tid, "ascii");
  const raw = Buffer.concat([encrypt(plain), encrypt(Buffer.from(plain.map((b) => b ^ 0xff)))]);
  return toHex(withOddParity(new Uint8Array(raw)));
}

describe("terminal master key derivation", () => {
  it("equals 3DES of the TID and its complement under the lab key, with odd parity", () => {
    for (const tid of ["99999906", "22003600", "POS00001"]) {
      expect(toHex(deriveTmk(fromHex(DEFAULT_LAB_KEY_HEX), tid))).toBe(opensslTmk(DEFAULT_LAB_KEY_HEX, tid));
    }
  });

  it("gives every byte odd parity and different terminals different keys", () => {
    const labKey = fromHex("00112233445566778899AABBCCDDEEFF");
    const a = deriveTmk(labKey, "00000001");
    const b = deriveTmk(labKey, "00000002");
    expect(toHex(a)).not.toBe(toHex(b));
    for (const byte of a)
      expect(byte.toString(2).split("1").length - 1).toSatisfy((n: number) => n % 2 === 1);
  });

  it("rejects a lab key or a terminal ID of the wrong length", () => {
    expect(() => deriveTmk(new Uint8Array(8), "00000001")).toThrow(CodecError);
    expect(() => deriveTmk(fromHex(DEFAULT_LAB_KEY_HEX), "123")).toThrow(/terminal ID must be 8 characters/);
  });
});
