import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromHex, toHex } from "../encoding/hex.ts";
import { CodecError } from "../errors.ts";
import { keyLayoutBytes, unwrapWorkingKeys, wrapWorkingKeys } from "./workingKeys.ts";

const key = (length: number) => fc.uint8Array({ minLength: length, maxLength: length });
const tmk = fromHex("258fb0ab70d025cdb99df2c4d302d646");

describe("working keys in F62", () => {
  it.each([
    ["001", 8, 8],
    ["003", 16, 8],
    ["003", 16, 16],
    ["004", 16, 8],
  ] as const)("layout %s (PIK %i bytes, MAK %i bytes) wraps and unwraps", (layout, pikLength, makLength) => {
    fc.assert(
      fc.property(key(pikLength), key(makLength), key(16), (pik, mak, tdk) => {
        const keys = layout === "004" ? { pik, mak, tdk } : { pik, mak };
        const f62 = wrapWorkingKeys(keys, tmk, layout);
        expect(f62.length).toBe(keyLayoutBytes[layout]);
        expect(unwrapWorkingKeys(f62, tmk)).toEqual(keys);
      }),
      { numRuns: 30 },
    );
  });

  it("a single-length MAK travels as 8 cipher bytes and 8 zero bytes", () => {
    const f62 = wrapWorkingKeys(
      { pik: new Uint8Array(16).fill(1), mak: new Uint8Array(8).fill(2) },
      tmk,
      "003",
    );
    expect(toHex(f62.subarray(28, 36))).toBe("0000000000000000");
  });

  it("a wrong check value names field 62 and the key", () => {
    const f62 = wrapWorkingKeys(
      { pik: new Uint8Array(16).fill(1), mak: new Uint8Array(8).fill(2) },
      tmk,
      "003",
    );
    f62[39]! ^= 0xff;
    expect(() => unwrapWorkingKeys(f62, tmk)).toThrow(CodecError);
    expect(() => unwrapWorkingKeys(f62, tmk)).toThrow(/^field 62 \(reservedPrivate62\): MAK check value/);
  });

  it("a block of another length is refused", () => {
    expect(() => unwrapWorkingKeys(new Uint8Array(32), tmk)).toThrow(
      "working-key block is 32 bytes, expected 24, 40 or 60",
    );
    expect(() => unwrapWorkingKeys(new Uint8Array(40), tmk, "004")).toThrow("expected 60 for layout 004");
  });
});
