import { describe, expect, it } from "vitest";
import { encodeMessage } from "./codec/message.ts";
import { describeFrame } from "./describe.ts";
import { fromHex } from "./encoding/hex.ts";
import { CodecError } from "./errors.ts";
import { decodeCapture } from "./framing/frame.ts";
import { maskDigitRuns, maskField, maskPan, maskTrack } from "./mask.ts";
import { frameVectors } from "./testing/vectors.ts";

describe("maskPan", () => {
  it("keeps the first 6 and last 4 digits, grouped by 4", () => {
    expect(maskPan("6222021234561234")).toBe("6222 02** **** 1234");
    expect(maskPan("6210810840003424940")).toBe("6210 81** **** ***4 940");
    expect(maskPan("123456789012")).toBe("**** **** 9012");
    expect(maskPan("1234567")).toBe("**** ***");
  });

  it("masks track data after the PAN entirely", () => {
    expect(maskTrack("6222021234561234D27122201000012345")).toBe("6222 02** **** 1234=*****************");
    expect(maskTrack("6222021234561234=2712")).toBe("6222 02** **** 1234=****");
  });

  it("shows only the size of PIN blocks and chip data", () => {
    expect(maskField("pin", fromHex("0123456789abcdef"))).toBe("[masked: 8 bytes]");
    expect(maskField("icc", new Uint8Array(164))).toBe("[masked: 164 bytes]");
  });

  it("masks digit runs of PAN length in free text", () => {
    expect(maskDigitRuns("pan 6222021234561234 stan 000123")).toBe("pan 622202******1234 stan 000123");
    expect(maskDigitRuns("amount 000000000100")).toBe("amount 000000000100");
  });
});

describe("no full PAN in errors", () => {
  const pan = "6222021234561234";

  it("a CodecError masks a PAN even when a caller puts one in the reason", () => {
    expect(new CodecError(`bad card ${pan}`).message).toBe("bad card 622202******1234");
  });

  it.each([
    ["F2 too long", { 2: `${pan}5678` }],
    ["F2 with a letter", { 2: `${pan}x` }],
    ["F35 with a bad character", { 35: `${pan}=2712x` }],
    ["F35 too long", { 35: `${pan}=${"1".repeat(30)}` }],
    ["F52 as text", { 52: pan }],
    ["F55 too long", { 55: new Uint8Array(300) }],
  ])("encoding %s", (_case, fields) => {
    let message = "";
    try {
      encodeMessage({ mti: "0200", fields });
    } catch (error) {
      expect(error).toBeInstanceOf(CodecError);
      message = (error as CodecError).message;
    }
    expect(message).not.toBe("");
    expect(message).not.toContain(pan.slice(0, 12));
  });
});

describe("describeFrame masks card data unless asked", () => {
  const withCards = frameVectors.filter((v) => v.fields["2"] !== undefined);

  it.each(withCards)("$id", (v) => {
    const capture = decodeCapture(fromHex(v.hex));
    const masked = JSON.stringify(describeFrame(capture));
    const pan = v.fields["2"] as string;
    expect(masked).not.toContain(pan);
    expect(masked).toContain(maskPan(pan));
    if (v.fields["35"]) expect(masked).not.toContain((v.fields["35"] as string).slice(0, 13));
    if (v.fields["52"]) expect(masked).not.toContain((v.fields["52"] as { hex: string }).hex);
    if (v.fields["55"]) expect(masked).not.toContain((v.fields["55"] as { hex: string }).hex.slice(0, 40));
    const clear = JSON.stringify(describeFrame(capture, { unmask: true }));
    expect(clear).toContain(pan);
  });
});
