import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeMessage, type IsoMessage } from "../codec/message.ts";
import { concatBytes } from "../encoding/bytes.ts";
import { fromHex, toHex } from "../encoding/hex.ts";
import { CodecError } from "../errors.ts";
import { header as headerArb, isoMessage, tpdu as tpduArb } from "../testing/arbitraries.ts";
import {
  decodeCapture,
  decodeFrame,
  ENVELOPES,
  encodeFrame,
  envelopeThatDecodes,
  type Frame,
  messageOffset,
} from "./frame.ts";
import { asksSignIn, type Header, readHeader, withProcessingRequirement, writeHeader } from "./header.ts";
import { FrameReassembler } from "./reassembler.ts";
import { replyTpdu, type Tpdu } from "./tpdu.ts";

const tpdu: Tpdu = { id: "60", destination: "0003", source: "0000" };
const header: Header = {
  applicationType: "61",
  version: "31",
  terminalStatus: 0,
  processingRequirement: 0,
  softwareVersion: "311108",
};
const echo: IsoMessage = {
  mti: "0820",
  fields: { 11: "000001", 41: "12345678", 42: "123456789012345", 60: "00000001301" },
};
const frame: Frame = { tpdu, header, message: echo };

describe("frame layout", () => {
  it("is [LEN 2B][TPDU 5B][HEADER 6B][MTI][BITMAP][fields] with a binary length by default", () => {
    const bytes = encodeFrame(frame);
    const body = toHex(encodeMessage(echo));
    expect(toHex(bytes)).toBe(
      `${(bytes.length - 2).toString(16).padStart(4, "0")}6000030000613100311108${body}`,
    );
    expect(messageOffset()).toBe(13);
    expect(messageOffset({ lengthPrefix: false })).toBe(11);
  });

  it("leaves out the TPDU, the header or both when the dialect's envelope does, and reads each back", () => {
    const body = toHex(encodeMessage(echo));
    const expected: Record<string, string> = {
      "true,true": `6000030000613100311108${body}`,
      "false,true": `613100311108${body}`,
      "true,false": `6000030000${body}`,
      "false,false": body,
    };
    for (const envelope of ENVELOPES) {
      const bytes = encodeFrame(frame, { envelope, lengthPrefix: false });
      expect(toHex(bytes)).toBe(expected[`${envelope.tpdu},${envelope.header}`]);
      expect(messageOffset({ envelope, lengthPrefix: false })).toBe(
        (envelope.tpdu ? 5 : 0) + (envelope.header ? 6 : 0),
      );
      const back = decodeFrame(bytes, { envelope, lengthPrefix: false });
      expect(back.message).toEqual(echo);
      expect(back.tpdu).toEqual(envelope.tpdu ? tpdu : undefined);
      expect(back.header).toEqual(envelope.header ? header : undefined);
    }
    expect(() => encodeFrame({ message: echo })).toThrow(/no TPDU, and its envelope has one/);
  });

  it("names the envelope a frame of another dialect decodes with", () => {
    const noTpdu = encodeFrame(frame, { envelope: { tpdu: false, header: true }, lengthPrefix: false });
    expect(() => decodeFrame(noTpdu, { lengthPrefix: false })).toThrow(CodecError);
    expect(envelopeThatDecodes(noTpdu, { tpdu: true, header: true }, { lengthPrefix: false })).toEqual({
      tpdu: false,
      header: true,
    });
    const full = encodeFrame(frame, { lengthPrefix: false });
    expect(envelopeThatDecodes(full, { tpdu: false, header: false }, { lengthPrefix: false })).toEqual({
      tpdu: true,
      header: true,
    });
    expect(envelopeThatDecodes(new Uint8Array([1, 2, 3]), { tpdu: true, header: true })).toBeUndefined();
  });

  it("writes the length as BCD when asked (426 → 04 26)", () => {
    const bytes = encodeFrame(frame, { lengthCodec: "bcd" });
    expect(toHex(bytes.subarray(0, 2))).toBe(String(bytes.length - 2).padStart(4, "0"));
    expect(decodeFrame(bytes, { lengthCodec: "bcd" })).toEqual(frame);
    expect(() => decodeFrame(fromHex("0a0b"), { lengthCodec: "bcd" })).toThrow("BCD frame length is not BCD");
  });

  it("refuses a length that does not match the bytes", () => {
    const bytes = encodeFrame(frame);
    expect(() => decodeFrame(bytes.subarray(0, bytes.length - 1))).toThrow(
      /length prefix says \d+ bytes but \d+ follow at offset 0/,
    );
  });

  it("round-trips any TPDU, header and message", () => {
    fc.assert(
      fc.property(
        tpduArb,
        headerArb,
        isoMessage(),
        fc.constantFrom("binary", "bcd") as fc.Arbitrary<"binary" | "bcd">,
        (t, h, m, lengthCodec) => {
          const f = { tpdu: t, header: h, message: m };
          expect(decodeFrame(encodeFrame(f, { lengthCodec }), { lengthCodec })).toEqual(f);
          expect(decodeFrame(encodeFrame(f, { lengthPrefix: false }), { lengthPrefix: false })).toEqual(f);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("TPDU and header", () => {
  it("a reply swaps destination and source", () => {
    expect(replyTpdu(tpdu)).toEqual({ id: "60", destination: "0000", source: "0003" });
  });

  it("exposes the status and processing-requirement nibbles", () => {
    const parsed = readHeader(fromHex("602207000000"), 0);
    expect(parsed).toEqual({
      applicationType: "60",
      version: "22",
      terminalStatus: 0,
      processingRequirement: 7,
      softwareVersion: "000000",
    });
    const signInAgain = withProcessingRequirement(header, 3);
    expect(asksSignIn(signInAgain)).toBe(true);
    expect(asksSignIn(header)).toBe(false);
    const out = new Uint8Array(6);
    writeHeader(out, 0, { ...signInAgain, terminalStatus: 1 });
    expect(toHex(out)).toBe("613113311108");
  });

  it("rejects parts that are not hex or not nibbles", () => {
    expect(() => encodeFrame({ ...frame, tpdu: { ...tpdu, destination: "xyz1" } })).toThrow(CodecError);
    expect(() => encodeFrame({ ...frame, header: { ...header, processingRequirement: 16 } })).toThrow(
      /nibbles/,
    );
  });
});

describe("operator decoder (three forms)", () => {
  const withLength = encodeFrame(frame);
  const withoutLength = withLength.subarray(2);
  const bare = withLength.subarray(13);

  it("accepts a frame with its length, without it, or starting at the MTI", () => {
    expect(decodeCapture(withLength)).toEqual({
      form: "length-prefixed",
      length: withLength.length - 2,
      tpdu,
      header,
      message: echo,
    });
    expect(decodeCapture(withoutLength)).toEqual({ form: "tpdu", tpdu, header, message: echo });
    expect(decodeCapture(bare)).toEqual({ form: "mti", message: echo });
  });

  it("accepts a BCD length when told", () => {
    const bcd = encodeFrame(frame, { lengthCodec: "bcd" });
    expect(decodeCapture(bcd, { lengthCodec: "bcd" }).form).toBe("length-prefixed");
  });

  it("reports the length mismatch of a truncated length-prefixed capture", () => {
    expect(() => decodeCapture(withLength.subarray(0, withLength.length - 3))).toThrow(/length prefix says/);
  });

  it("says so when nothing looks like a frame start", () => {
    expect(() => decodeCapture(fromHex("ffff"))).toThrow("cannot tell where the frame starts");
  });
});

describe("FrameReassembler", () => {
  const frames = fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 });

  const stream = (bodies: Uint8Array[], codec: "binary" | "bcd") =>
    concatBytes(
      ...bodies.flatMap((body) => {
        const length =
          codec === "binary"
            ? [body.length >> 8, body.length & 255]
            : [...fromHex(String(body.length).padStart(4, "0"))];
        return [new Uint8Array(length), body];
      }),
    );

  /** Cuts `bytes` at the given (sorted, deduplicated) points. */
  const chunk = (bytes: Uint8Array, cuts: number[]) => {
    const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
    const chunks: Uint8Array[] = [];
    let start = 0;
    for (const point of [...points, bytes.length]) {
      chunks.push(bytes.subarray(start, point));
      start = point;
    }
    return chunks;
  };

  it("yields the same frames whatever the chunking", () => {
    fc.assert(
      fc.property(
        frames,
        fc.array(fc.nat(), { maxLength: 40 }),
        fc.constantFrom("binary", "bcd") as fc.Arbitrary<"binary" | "bcd">,
        (bodies, cuts, codec) => {
          const reassembler = new FrameReassembler({ lengthCodec: codec });
          const out = chunk(stream(bodies, codec), cuts).flatMap((c) => reassembler.push(c));
          expect(out).toEqual(bodies);
          expect(reassembler.buffered).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("works one byte at a time and with many frames in one chunk", () => {
    const bodies = [encodeFrame(frame, { lengthPrefix: false }), new Uint8Array(0), fromHex("0102")];
    const bytes = stream(bodies, "binary");
    const byByte = new FrameReassembler();
    const seen: Uint8Array[] = [];
    for (const byte of bytes) seen.push(...byByte.push(new Uint8Array([byte])));
    expect(seen).toEqual(bodies);
    expect(new FrameReassembler().push(bytes)).toEqual(bodies);
  });

  it("keeps a partial frame until the rest arrives", () => {
    const reassembler = new FrameReassembler();
    expect(reassembler.push(fromHex("000301"))).toEqual([]);
    expect(reassembler.buffered).toBe(3);
    expect(reassembler.push(fromHex("0203"))).toEqual([fromHex("010203")]);
  });

  it("returns copies, not views of its buffer", () => {
    const reassembler = new FrameReassembler();
    const [first] = reassembler.push(fromHex("0002abcd"));
    reassembler.push(fromHex("0002eeee"));
    expect(toHex(first!)).toBe("abcd");
  });

  it("throws a CodecError for a frame above the maximum size, with the stream offset", () => {
    const reassembler = new FrameReassembler({ maxFrameBytes: 100 });
    reassembler.push(fromHex("0001ff"));
    expect(() => reassembler.push(fromHex("0065"))).toThrow(
      new CodecError("frame length 101 exceeds max 100", { offset: 3 }),
    );
    expect(() => new FrameReassembler({ lengthCodec: "bcd" }).push(fromHex("0a00"))).toThrow(
      "frame length is not BCD",
    );
  });
});
