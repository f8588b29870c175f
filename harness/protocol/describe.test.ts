import { describe, expect, it } from "vitest";
import { describeFrame, tlvTags } from "./describe.ts";
import { fromHex } from "./encoding/hex.ts";
import { decodeCapture } from "./framing/frame.ts";
import { frameVectors } from "./testing/vectors.ts";

const vector = (id: string) => frameVectors.find((v) => v.id === id)!;
const described = (id: string, unmask = false) =>
  describeFrame(decodeCapture(fromHex(vector(id).hex)), { unmask });

describe("describeFrame", () => {
  it("shows form, length, TPDU, header parts, MTI, bitmap and named fields", () => {
    const d = described("cup-0800-easy8583-signin-3des");
    expect(d).toMatchObject({
      form: "length-prefixed",
      length: 87,
      tpdu: { hex: "6005010000", id: "60", destination: "0501", source: "0000" },
      header: {
        hex: "613100311108",
        applicationType: "61",
        version: "31",
        terminalStatus: 0,
        processingRequirement: 0,
        softwareVersion: "311108",
        processingRequirementMeaning: "none",
      },
      mti: "0800",
      bitmap: { hex: "0020000000c00016", fields: [11, 41, 42, 60, 62, 63] },
    });
    expect(d.fields["11"]).toEqual({ name: "stan", value: "000001" });
    expect(d.fields["60"]).toEqual({
      name: "reservedPrivate60",
      value: "00000000003",
      parts: { transactionType: "00", batchNumber: "000000", networkManagementCode: "003" },
      meaning: "management; sign-in, 3DES keys",
    });
    expect(d.fields["62"]).toEqual({
      name: "reservedPrivate62",
      hex: "53657175656e6365204e6f3132333036303939393939393036",
      text: "Sequence No12306099999906",
    });
  });

  it("masks PAN, track, PIN block and chip data; lists EMV tags", () => {
    const d = described("cup-0200-whty-ic-sale-bare");
    expect(d.form).toBe("mti");
    expect(d.tpdu).toBeUndefined();
    expect(d.fields["2"]).toEqual({
      name: "primaryAccountNumber",
      value: "6217 85** **** ***0 804",
      masked: true,
    });
    expect(d.fields["35"]).toEqual({
      name: "track2",
      value: "6217 85** **** ***0 804=*****************",
      masked: true,
    });
    expect(d.fields["52"]).toEqual({ name: "pinBlock", value: "[masked: 8 bytes]", masked: true });
    expect(d.fields["55"]).toMatchObject({ name: "iccData", value: "[masked: 145 bytes]", masked: true });
    expect(d.fields["55"]!.tags).toEqual(vector("cup-0200-whty-ic-sale-bare").f55Tags);
  });

  it("shows card data in clear with unmask", () => {
    const d = described("cup-0200-whty-ic-sale-bare", true);
    expect(d.fields["2"]).toEqual({ name: "primaryAccountNumber", value: "6217857600008050804" });
    expect(d.fields["52"]).toEqual({ name: "pinBlock", hex: "7d6a7408dfe2e9e5" });
  });

  it("explains response codes", () => {
    expect(described("cup-0400-halo-reversal").fields["39"]).toEqual({
      name: "responseCode",
      value: "98",
      meaning: "switch got no issuer reply in time",
    });
  });

  it("tlvTags reads multi-byte tags and long lengths, and gives up on malformed data", () => {
    expect(tlvTags(fromHex("9f2608ed1d6ba78357fb2582027c00"))).toEqual(["9F26", "82"]);
    expect(tlvTags(fromHex("df810182000100"))).toEqual(["DF8101"]);
    expect(tlvTags(fromHex("9f26"))).toBeUndefined();
    expect(tlvTags(fromHex("9f2609ed"))).toBeUndefined();
  });
});
