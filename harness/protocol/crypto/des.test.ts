import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { asciiBytes } from "../encoding/ascii.ts";
import { fromHex, toHex } from "../encoding/hex.ts";
import { CodecError } from "../errors.ts";
import { blockCipher, cbcEncrypt, ecbDecrypt, ecbEncrypt } from "./cipher.ts";
import { keyCheckValue } from "./kcv.ts";
import { macKey } from "./mac.ts";

// Known-answer tests from published sources; each case names where its numbers come from.

const encrypt = (key: string, plain: string) => toHex(ecbEncrypt(fromHex(key), fromHex(plain)));
const decrypt = (key: string, cipher: string) => toHex(ecbDecrypt(fromHex(key), fromHex(cipher)));
const NOW_IS_THE_TIME = asciiBytes("Now is the time for all ");

describe("DES known answers", () => {
  it("FIPS PUB 81, Appendix B, Table B1 (ECB): key 0123456789abcdef, 'Now is the time for all '", () => {
    const cipher = ecbEncrypt(fromHex("0123456789abcdef"), NOW_IS_THE_TIME);
    expect(toHex(cipher)).toBe("3fa40e8a984d4815" + "6a271787ab8883f9" + "893d51ec4b563b53");
    expect(ecbDecrypt(fromHex("0123456789abcdef"), cipher)).toEqual(NOW_IS_THE_TIME);
  });

  it("FIPS PUB 81, Appendix B, Table B2 (CBC): IV 1234567890abcdef", () => {
    const cipher = cbcEncrypt(fromHex("0123456789abcdef"), fromHex("1234567890abcdef"), NOW_IS_THE_TIME);
    expect(toHex(cipher)).toBe("e5c7cdde872bf27c" + "43e934008c389c0f" + "683788499a7c05f6");
  });

  it("J. Orlin Grabbe, 'The DES Algorithm Illustrated': key 133457799bbcdff1, plaintext 0123456789abcdef", () => {
    expect(encrypt("133457799bbcdff1", "0123456789abcdef")).toBe("85e813540f0ab405");
    expect(decrypt("133457799bbcdff1", "85e813540f0ab405")).toBe("0123456789abcdef");
  });

  // NIST SP 800-20 (TMOVS), Appendix A; the same tables as NBS SP 500-20. With K1 = K2 = K3 they hold for
  // 3DES too, which is how SP 800-20 uses them.
  it.each([
    ["8000000000000000", "95f8a5e5dd31d900"],
    ["4000000000000000", "dd7f121ca5015619"],
    ["2000000000000000", "2e8653104f3834ea"],
    ["1000000000000000", "4bd388ff6cd81d4f"],
    ["0000000000000001", "166b40b44aba4bd6"],
  ])("NIST SP 800-20 variable-plaintext KAT: key 0101010101010101, plaintext %s", (plain, cipher) => {
    expect(encrypt("0101010101010101", plain)).toBe(cipher);
    expect(encrypt("010101010101010101010101010101010101010101010101", plain)).toBe(cipher);
    expect(decrypt("0101010101010101", cipher)).toBe(plain);
  });

  it.each([
    ["8001010101010101", "95a8d72813daa94d"],
    ["4001010101010101", "0eec1487dd8c26d5"],
    ["2001010101010101", "7ad16ffb79c45926"],
  ])("NIST SP 800-20 variable-key KAT: key %s, plaintext 0", (key, cipher) => {
    expect(encrypt(key, "0000000000000000")).toBe(cipher);
  });

  it("NIST SP 800-20 permutation-operation KAT: key 1046913489980131, plaintext 0", () => {
    expect(encrypt("1046913489980131", "0000000000000000")).toBe("88d55e54f54c97b4");
  });

  it.each([
    ["7ca110454a1a6e57", "01a1d6d039776742", "690f5b0d9a26939b"],
    ["0131d9619dc1376e", "5cd54ca83def57da", "7a389d10354bd271"],
  ])("NIST SP 800-20 substitution-table KAT: key %s", (key, plain, cipher) => {
    expect(encrypt(key, plain)).toBe(cipher);
    expect(decrypt(key, cipher)).toBe(plain);
  });
});

describe("3DES known answers", () => {
  it("NIST SP 800-67 Rev. 1, Appendix B: three-key TDEA, 'The qufck brown fox jump'", () => {
    const key = "0123456789abcdef" + "23456789abcdef01" + "456789abcdef0123";
    const cipher = ecbEncrypt(fromHex(key), asciiBytes("The qufck brown fox jump"));
    expect(toHex(cipher)).toBe("a826fd8ce53b855f" + "cce21c8112256fe6" + "68d5c05dd9b6b900");
    expect(ecbDecrypt(fromHex(key), cipher)).toEqual(asciiBytes("The qufck brown fox jump"));
  });

  it("two-key 3DES equals three-key with K3 = K1, and DES when K1 = K2", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.uint8Array({ minLength: 8, maxLength: 8 }),
        (key, block) => {
          const threeKey = new Uint8Array([...key, ...key.subarray(0, 8)]);
          expect(ecbEncrypt(key, block)).toEqual(ecbEncrypt(threeKey, block));
          const sameHalves = new Uint8Array([...key.subarray(0, 8), ...key.subarray(0, 8)]);
          expect(ecbEncrypt(sameHalves, block)).toEqual(ecbEncrypt(key.subarray(0, 8), block));
          expect(ecbDecrypt(key, ecbEncrypt(key, block))).toEqual(block);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("rejects keys that are not 8, 16 or 24 bytes", () => {
    expect(() => blockCipher(new Uint8Array(10))).toThrow(CodecError);
    expect(() => ecbEncrypt(new Uint8Array(8), new Uint8Array(7))).toThrow(/whole 8-byte blocks/);
  });
});

describe("MAC known answers", () => {
  // ISO/IEC 9797-1:2011, Annex B.4 (MAC algorithm 3 = ANSI X9.19 retail MAC, padding method 1).
  const key = fromHex("0123456789abcdef" + "fedcba9876543210");

  it("ISO/IEC 9797-1 Annex B: 'Now is the time for all ' → a1c72e74ea3fa9b6", () => {
    expect(toHex(macKey(key, "x9.19").compute(NOW_IS_THE_TIME))).toBe("a1c72e74ea3fa9b6");
  });

  it("ISO/IEC 9797-1 Annex B: 'Now is the time for it' (zero-padded) → 2e2b1428cc78254f", () => {
    expect(toHex(macKey(key, "x9.19").compute(asciiBytes("Now is the time for it")))).toBe(
      "2e2b1428cc78254f",
    );
  });

  it("an 8-byte key gives the plain DES CBC-MAC (the last block of FIPS 81 CBC with a zero IV)", () => {
    const des = fromHex("0123456789abcdef");
    const cbc = cbcEncrypt(des, new Uint8Array(8), NOW_IS_THE_TIME);
    expect(macKey(des, "x9.19").compute(NOW_IS_THE_TIME)).toEqual(cbc.subarray(16));
  });

  it("CUP ECB MAC over a sub-range equals the MAC of the copied range", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(8), fc.nat(8), (data, head, tail) => {
        const padded = new Uint8Array(head + data.length + tail);
        padded.set(data, head);
        const mak = macKey(fromHex("313215fda2c4ab4c"));
        expect(mak.compute(padded, head, head + data.length)).toEqual(mak.compute(data));
      }),
      { numRuns: 100 },
    );
  });
});

describe("key check values", () => {
  it("are the key encrypting zeros: single DES for 8 bytes, 3DES for 16", () => {
    expect(toHex(keyCheckValue(fromHex("0101010101010101"), 8))).toBe("8ca64de9c1b123a7");
    expect(toHex(keyCheckValue(fromHex("0123456789abcdef0123456789abcdef")))).toBe(
      toHex(keyCheckValue(fromHex("0123456789abcdef"))),
    );
  });
});
