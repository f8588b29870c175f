import { describe, expect, it } from "vitest";
import { bitmapOf, decodeMessage, encodeMessage, type IsoMessage, presentFields } from "./codec/index.ts";
import { ecbDecrypt, keyCheckValue, macKey, unwrapWorkingKeys, wrapWorkingKeys } from "./crypto/index.ts";
import { readAscii } from "./encoding/ascii.ts";
import type { PadNibble } from "./encoding/bcd.ts";
import { fromHex, toHex } from "./encoding/hex.ts";
import { decodeCapture, decodeFrame, encodeFrame, type Frame } from "./framing/index.ts";
import { verifyFrameMac, verifyMessageMac } from "./messages/index.ts";
import type { FieldValue } from "./spec/types.ts";
import { frameVectors, macVectors, type VectorValue } from "./testing/vectors.ts";

// Every frame of testdata/vectors.json decodes to exactly its listed fields and re-encodes to the same bytes;
// every MAC and key check value of `macAndKeys` is reproduced from its key.

/** The fixture's rendering of a decoded value: binary values as `{ hex }` unless the fixture gives text. */
function asVector(value: FieldValue, expected: VectorValue): VectorValue {
  if (typeof value === "string") return value;
  return typeof expected === "string" ? readAscii(value) : { hex: toHex(value) };
}

function decodeVector(
  bytes: Uint8Array,
  v: (typeof frameVectors)[number],
): { frame?: Frame; message: IsoMessage } {
  if (v.tpdu === null) return { message: decodeMessage(bytes) };
  const frame = decodeFrame(bytes, { lengthPrefix: v.hasLengthPrefix });
  return { frame, message: frame.message };
}

describe("frame vectors", () => {
  it("has fifteen frames, one per published capture", () => {
    expect(frameVectors).toHaveLength(15);
  });

  describe.each(frameVectors)("$id", (v) => {
    const bytes = fromHex(v.hex);
    const { frame, message } = decodeVector(bytes, v);
    const trackPad = (v.padNibbles["35"] ?? "0") as PadNibble;

    it("decodes MTI, bitmap and the listed fields exactly", () => {
      expect(message.mti).toBe(v.mti);
      expect(toHex(bitmapOf(message))).toBe(v.bitmap);
      expect(presentFields(message)).toEqual(v.presentFields);
      const decoded: Record<string, VectorValue> = {};
      for (const [field, expected] of Object.entries(v.fields)) {
        decoded[field] = asVector(message.fields[Number(field)]!, expected);
      }
      expect(decoded).toEqual(v.fields);
    });

    it("decodes TPDU and header", () => {
      if (v.tpdu === null) {
        expect(frame).toBeUndefined();
        return;
      }
      const reencoded = toHex(encodeFrame(frame!, { lengthPrefix: false, trackPad }));
      expect(reencoded.slice(0, 10)).toBe(v.tpdu);
      expect(reencoded.slice(10, 22)).toBe(v.header);
    });

    it("encodes each field to its raw bytes (fieldsRaw)", () => {
      for (const [field, raw] of Object.entries(v.fieldsRaw)) {
        const single = encodeMessage(
          { mti: v.mti, fields: { [field]: message.fields[Number(field)] } },
          { trackPad },
        );
        expect({ field, raw: toHex(single.subarray(10)) }).toEqual({ field, raw });
      }
    });

    it("re-encodes to the same bytes", () => {
      const reencoded = frame
        ? encodeFrame(frame, { lengthPrefix: v.hasLengthPrefix, trackPad })
        : encodeMessage(message, { trackPad });
      expect(toHex(reencoded)).toBe(v.hex);
    });

    it("is recognised by the operator decoder in its form", () => {
      const capture = decodeCapture(bytes);
      expect(capture.form).toBe(v.hasLengthPrefix ? "length-prefixed" : v.tpdu ? "tpdu" : "mti");
      expect(capture.message).toEqual(message);
      if (v.hasLengthPrefix) expect(capture.length).toBe(v.lengthPrefix);
    });
  });
});

describe("frames with a MAC", () => {
  const withMac = frameVectors.filter((v) => v.mac);

  it.each(withMac)("$id: F64 verifies and re-encoding with the key reproduces it", (v) => {
    const algorithm = v.mac!.algorithm.startsWith("ANSI X9.19") ? "x9.19" : "cup-ecb";
    const key = macKey(fromHex(v.mac!.key), algorithm);
    const bytes = fromHex(v.hex);
    const trackPad = (v.padNibbles["35"] ?? "0") as PadNibble;
    if (v.tpdu === null) {
      expect(verifyMessageMac(bytes, key)).toBe(true);
      expect(toHex(encodeMessage(decodeMessage(bytes), { mac: key, trackPad }))).toBe(v.hex);
      return;
    }
    const options = { lengthPrefix: v.hasLengthPrefix };
    expect(verifyFrameMac(bytes, key, options)).toBe(true);
    const frame = decodeFrame(bytes, options);
    expect(toHex(frame.message.fields[64] as Uint8Array)).toBe(v.mac!.expectedF64);
    expect(toHex(encodeFrame(frame, { ...options, mac: key, trackPad }))).toBe(v.hex);
  });

  it("covers the CUP ECB MAC and X9.19 frames", () => {
    expect(withMac.map((v) => v.id)).toEqual([
      "cup-0200-easy8583-ic-sale-mac",
      "cup-0200-ajsgn-balance-x919",
      "cup-0400-ajsgn-reversal-x919",
    ]);
  });

  it("a flipped byte fails verification", () => {
    const v = withMac[0]!;
    const bytes = fromHex(v.hex);
    bytes[40]! ^= 1;
    expect(verifyFrameMac(bytes, macKey(fromHex(v.mac!.key)))).toBe(false);
  });
});

describe("macAndKeys", () => {
  const byId = (id: string) => macVectors.find((v) => v.id === id)!;

  it("mac-cup-ecb-easy8583-0200: UnionPay ECB MAC", () => {
    const v = byId("mac-cup-ecb-easy8583-0200");
    expect(toHex(macKey(fromHex(v.key!), "cup-ecb").compute(fromHex(v.data!)))).toBe(v.expected);
  });

  it.each(["mac-x919-ajsgn-0400", "mac-x919-ajsgn-0200"])("%s: ANSI X9.19 MAC", (id) => {
    const v = byId(id);
    expect(toHex(macKey(fromHex(v.key!), "x9.19").compute(fromHex(v.data!)))).toBe(v.expected);
  });

  it("mac-x919-ascii-dart-pos-notcup: X9.19 with F64 as 8 uppercase hex characters", () => {
    const v = byId("mac-x919-ascii-dart-pos-notcup");
    for (const item of v.items!) {
      const data = fromHex(item.data!);
      expect(toHex(macKey(fromHex(v.key!), "x9.19").compute(data))).toBe(item.fullX919);
      expect(toHex(macKey(fromHex(v.key!), "x9.19-ascii").compute(data))).toBe(item.expected);
    }
  });

  it("kcv-ajsgn-zmk-components-and-working-keys: KCVs, ZMK from components, keys under the ZMK", () => {
    const v = byId("kcv-ajsgn-zmk-components-and-working-keys");
    const [component1, component2, zmkItem, ...workingKeys] = v.items!;
    for (const item of v.items!) {
      const key = fromHex(item.key!);
      expect(toHex(keyCheckValue(key, 8))).toBe(item.computed);
      if (item.expectedKcv)
        expect(toHex(keyCheckValue(key, item.expectedKcv.length / 2))).toBe(item.expectedKcv);
    }
    const zmk = fromHex(component1!.key!).map((byte, i) => byte ^ fromHex(component2!.key!)[i]!);
    expect(toHex(zmk)).toBe(zmkItem!.key);
    for (const item of workingKeys) expect(toHex(ecbDecrypt(zmk, fromHex(item.cipher!)))).toBe(item.key);
  });

  it.each(["kcv-easy8583-tmk-0810-f62", "kcv-ylpay-zmk-f62"])(
    "%s: F62 unwraps under the TMK and wraps back",
    (id) => {
      const v = byId(id);
      const [pik, mak] = v.items!;
      const tmk = fromHex(v.tmk!);
      const keys = unwrapWorkingKeys(fromHex(v.f62!), tmk);
      expect(toHex(keys.pik)).toBe(pik!.key);
      expect(toHex(keys.mak)).toBe(mak!.key);
      expect(toHex(keyCheckValue(keys.pik))).toBe(pik!.expectedKcv);
      expect(toHex(keyCheckValue(keys.mak))).toBe(mak!.expectedKcv);
      expect(toHex(wrapWorkingKeys(keys, tmk, "003"))).toBe(v.f62);
    },
  );

  it("cup-0810-easy8583-signin-resp-keys: the 0810's own F62 gives the MAK that MACs the 0200", () => {
    const v = frameVectors.find((f) => f.id === "cup-0810-easy8583-signin-resp-keys")!;
    const reply = decodeFrame(fromHex(v.hex));
    const keys = unwrapWorkingKeys(reply.message.fields[62] as Uint8Array, fromHex(v.keyBlock!.tmk), "003");
    expect(v.keyBlock!.keys.map((k) => k.clear)).toEqual([toHex(keys.pik), toHex(keys.mak)]);
  });
});
