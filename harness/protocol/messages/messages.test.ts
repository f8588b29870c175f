import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeMessage, encodeMessage, type IsoMessage } from "../codec/message.ts";
import { macKey } from "../crypto/mac.ts";
import { fromHex } from "../encoding/hex.ts";
import { CodecError } from "../errors.ts";
import { decodeFrame, encodeFrame } from "../framing/frame.ts";
import { header, tpdu, typedInput } from "../testing/arbitraries.ts";
import {
  carriesMac,
  messageTypes,
  networkRequest,
  type PurchaseRequest,
  purchaseRequest,
  reversalFor,
  reversalRequest,
  signInRequest,
  withPin,
} from "./index.ts";
import { buildMessage, type MessageType, readMessage } from "./layout.ts";
import { verifyFrameMac, verifyMessageMac } from "./mac.ts";
import { matchReply, replyMti } from "./match.ts";

const mak = macKey(fromHex("313215fda2c4ab4c"));

describe.each(Object.values(messageTypes) as MessageType[])("typed $mti", (type) => {
  it("read(decode(encode(build(values)))) gives the values back, defaults filled", () => {
    fc.assert(
      fc.property(typedInput(type), ({ input, expected }) => {
        const message = buildMessage(type, input as never);
        const bytes = encodeMessage(message, type.mac ? { mac: mak } : {});
        const decoded = decodeMessage(bytes);
        expect(readMessage(type, decoded)).toEqual(expected);
        expect(decoded.fields[64] !== undefined).toBe(type.mac);
        if (type.mac) expect(verifyMessageMac(bytes, mak)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it("decode(encode(m)) equals m inside a frame, MAC verified", () => {
    fc.assert(
      fc.property(tpdu, header, typedInput(type), (t, h, { input }) => {
        const message = buildMessage(type, input as never);
        const bytes = encodeFrame({ tpdu: t, header: h, message }, type.mac ? { mac: mak } : {});
        const decoded = decodeFrame(bytes);
        expect([decoded.tpdu, decoded.header, decoded.message.mti]).toEqual([t, h, type.mti]);
        const { 64: mac, ...fields } = decoded.message.fields;
        expect(fields).toEqual(message.fields);
        expect(mac !== undefined).toBe(type.mac);
        expect(verifyFrameMac(bytes, mak)).toBe(type.mac);
      }),
      { numRuns: 100 },
    );
  });
});

const purchase: PurchaseRequest = {
  pan: "6222021234567890123",
  processingCode: "000000",
  amount: "000000000100",
  stan: "000123",
  expiryDate: "2712",
  posEntryMode: "021",
  posConditionCode: "00",
  track2: "6222021234567890123D27122201000012345",
  terminalId: "12345678",
  merchantId: "123456789012345",
  currencyCode: "156",
  ...withPin(fromHex("0123456789abcdef")),
  transactionType: "22",
  batchNumber: "000001",
  networkManagementCode: "000",
};

describe("builders", () => {
  it("0800 sign-in fills 60.1 = 00, 60.3 = 003 and operator 001", () => {
    const message = buildMessage(signInRequest, {
      stan: "000001",
      terminalId: "99999906",
      merchantId: "001430170119999",
      batchNumber: "000000",
    });
    expect(message).toEqual({
      mti: "0800",
      fields: { 11: "000001", 41: "99999906", 42: "001430170119999", 60: "00000000003", 63: "001" },
    });
  });

  it("0820 echo uses 60.3 = 301 unless told 002 (sign-off)", () => {
    const base = {
      stan: "000002",
      terminalId: "12345678",
      merchantId: "123456789012345",
      batchNumber: "000001",
    };
    expect(buildMessage(networkRequest, base).fields[60]).toBe("00000001301");
    expect(buildMessage(networkRequest, { ...base, networkManagementCode: "002" }).fields[60]).toBe(
      "00000001002",
    );
  });

  it("withPin sets F52, F26 = 12 and F53 = 2600000000000000", () => {
    const message = buildMessage(purchaseRequest, purchase);
    expect(message.fields[26]).toBe("12");
    expect(message.fields[53]).toBe("2600000000000000");
    expect(message.fields[60]).toBe("22000001000");
  });

  it("a missing required value is a CodecError naming the field", () => {
    const { stan: _stan, ...withoutStan } = purchase;
    expect(() => buildMessage(purchaseRequest, withoutStan as never)).toThrow(
      "field 11 (stan): required in 0200 (stan) but absent",
    );
    const { batchNumber: _batch, ...withoutBatch } = purchase;
    expect(() => buildMessage(purchaseRequest, withoutBatch as never)).toThrow(
      "60.2 (batchNumber) required in 0200 but absent",
    );
  });

  it("an F60 part after a missing one is refused", () => {
    expect(() =>
      buildMessage(purchaseRequest, {
        ...purchase,
        terminalReadCapability: undefined,
        iccConditionCode: "0",
      }),
    ).toThrow("field 60: 60.4 (terminalReadCapability) is missing but a later part is present");
  });

  it("readers check the MTI and required fields", () => {
    const message = buildMessage(purchaseRequest, purchase);
    expect(() => readMessage(reversalRequest, message)).toThrow("expected MTI 0400, got 0200");
    const partial: IsoMessage = { mti: "0200", fields: { ...message.fields, 4: undefined } };
    expect(() => readMessage(purchaseRequest, partial)).toThrow(CodecError);
  });

  it("carriesMac follows PROTOCOL.md: 0200/0210/0400/0410 yes, 08xx no", () => {
    expect(["0200", "0210", "0400", "0410", "0800", "0810", "0820", "0830", "0100"].map(carriesMac)).toEqual([
      true,
      true,
      true,
      true,
      false,
      false,
      false,
      false,
      false,
    ]);
  });
});

describe("reversal", () => {
  it("is the original 0200 minus F26, F35, F52, F53, with the same F11 and F60 and F39 = reason", () => {
    const original = buildMessage(purchaseRequest, purchase);
    const reversal = buildMessage(reversalRequest, reversalFor(purchase, "98"));
    expect(reversal.mti).toBe("0400");
    expect(Object.keys(reversal.fields).map(Number)).toEqual([2, 3, 4, 11, 14, 22, 25, 39, 41, 42, 49, 60]);
    expect(reversal.fields[11]).toBe(original.fields[11]);
    expect(reversal.fields[60]).toBe(original.fields[60]);
    expect(reversal.fields[39]).toBe("98");
  });

  it("carries F38 when the reply had an authorization code", () => {
    expect(buildMessage(reversalRequest, reversalFor(purchase, "A0", "123456")).fields[38]).toBe("123456");
  });
});

describe("matchReply", () => {
  const request = buildMessage(purchaseRequest, purchase);
  const reply: IsoMessage = {
    mti: "0210",
    fields: { 3: "000000", 4: "000000000100", 11: "000123", 39: "00", 41: "12345678" },
  };

  it("accepts MTI + 10 with F3, F4, F11, F41 echoed", () => {
    expect(matchReply(request, reply)).toEqual({ ok: true });
    expect(replyMti("0800")).toBe("0810");
    expect(replyMti("0400")).toBe("0410");
  });

  it.each([
    ["mti", { mti: "0410" }, undefined, "0210", "0410"],
    ["processingCode", { fields: { ...reply.fields, 3: "310000" } }, 3, "000000", "310000"],
    ["amount", { fields: { ...reply.fields, 4: undefined } }, 4, "000000000100", undefined],
    ["stan", { fields: { ...reply.fields, 11: "000124" } }, 11, "000123", "000124"],
    ["terminalId", { fields: { ...reply.fields, 41: "87654321" } }, 41, "12345678", "87654321"],
  ] as const)("says which check failed: %s", (check, change, field, expected, actual) => {
    const result = matchReply(request, { ...reply, ...change });
    expect(result).toEqual({ ok: false, check, ...(field ? { field } : {}), expected, actual });
  });
});
