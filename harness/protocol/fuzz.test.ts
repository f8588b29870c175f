import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeMessage, encodeMessage } from "./codec/message.ts";
import { fromHex } from "./encoding/hex.ts";
import { CodecError } from "./errors.ts";
import { decodeCapture, decodeFrame, encodeFrame, type Frame } from "./framing/frame.ts";
import { FrameReassembler } from "./framing/reassembler.ts";
import { header, isoMessage, tpdu } from "./testing/arbitraries.ts";
import { frameVectors } from "./testing/vectors.ts";

// Random and mutated frames only ever make the decoders throw CodecError: never another exception, never a
// hang. Whatever decodes re-encodes to an equal message. No error text carries a PAN.

const CASES = 20_000;
const TIME_LIMIT_MS = 10_000;

const corpus: Uint8Array[] = [
  ...frameVectors.filter((v) => v.hasLengthPrefix).map((v) => fromHex(v.hex)),
  ...fc
    .sample(fc.record({ tpdu, header, message: isoMessage() }), { numRuns: 200, seed: 8583 })
    .map((frame: Frame) => encodeFrame(frame)),
];
const pans = frameVectors
  .flatMap((v) => [v.fields["2"], v.fields["35"]])
  .filter((value): value is string => typeof value === "string");

/** A mutation applied to a copy of a corpus frame. */
type Mutation = (bytes: Uint8Array) => Uint8Array;

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.nat().map(
    (at): Mutation =>
      (b) =>
        b.slice(0, at % (b.length + 1)),
  ),
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(
    ([at, value]): Mutation =>
      (b) => {
        const copy = b.slice();
        copy[at % copy.length] = value;
        return copy;
      },
  ),
  fc.integer({ min: 1, max: 64 }).map(
    (bit): Mutation =>
      (b) => {
        const copy = b.slice();
        copy[15 + ((bit - 1) >> 3)]! ^= 0x80 >> ((bit - 1) & 7);
        return copy;
      },
  ),
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 })).map(
    ([hi, lo]): Mutation =>
      (b) => {
        const copy = b.slice();
        copy[0] = hi;
        copy[1] = lo;
        return copy;
      },
  ),
  fc.tuple(fc.nat(), fc.integer({ min: 0xa, max: 0xf })).map(
    ([at, nibble]): Mutation =>
      (b) => {
        const copy = b.slice();
        const i = at % copy.length;
        copy[i] = at & 1 ? (copy[i]! & 0xf0) | nibble : (nibble << 4) | (copy[i]! & 0x0f);
        return copy;
      },
  ),
  fc.uint8Array({ maxLength: 40 }).map(
    (junk): Mutation =>
      (b) =>
        new Uint8Array([...b, ...junk]),
  ),
  fc.uint8Array({ maxLength: 400 }).map(
    (random): Mutation =>
      () =>
        random,
  ),
);

function onlyCodecErrors(run: () => unknown): unknown {
  try {
    return run();
  } catch (error) {
    if (!(error instanceof CodecError)) throw error;
    if (/\d{13,}/.test(error.message) || pans.some((pan) => error.message.includes(pan.slice(0, 13)))) {
      throw new Error(`card data in a codec error: ${error.message}`);
    }
    return undefined;
  }
}

describe("fuzz", () => {
  it(`${CASES} mutated frames: CodecError or a message that re-encodes, within ${TIME_LIMIT_MS / 1000} s`, () => {
    const started = Date.now();
    fc.assert(
      fc.property(fc.constantFrom(...corpus), mutation, (original, mutate) => {
        const bytes = mutate(original);
        const frame = onlyCodecErrors(() => decodeFrame(bytes)) as Frame | undefined;
        if (frame) expect(decodeFrame(encodeFrame(frame))).toEqual(frame);
        onlyCodecErrors(() => decodeFrame(bytes.subarray(2), { lengthPrefix: false }));
        onlyCodecErrors(() => decodeCapture(bytes));
        onlyCodecErrors(() => decodeCapture(bytes, { lengthCodec: "bcd" }));
        const message = onlyCodecErrors(() => decodeMessage(bytes.subarray(13))) as
          | ReturnType<typeof decodeMessage>
          | undefined;
        if (message) expect(decodeMessage(encodeMessage(message))).toEqual(message);
        onlyCodecErrors(() => new FrameReassembler({ maxFrameBytes: 512 }).push(bytes));
      }),
      { numRuns: CASES, seed: 20_240_601, endOnFailure: true },
    );
    expect(Date.now() - started).toBeLessThan(TIME_LIMIT_MS);
  }, 30_000);
});
