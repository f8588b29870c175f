import type { IsoMessage } from "../codec/message.ts";
import { type MacAlgorithm, macKey } from "../crypto/mac.ts";
import { equalBytes } from "../encoding/bytes.ts";
import { fromHex } from "../encoding/hex.ts";
import { decodeFrame, encodeFrame } from "../framing/frame.ts";
import type { Header } from "../framing/header.ts";
import type { Tpdu } from "../framing/tpdu.ts";
import { buildMessage, readMessage } from "../messages/layout.ts";
import { verifyFrameMac } from "../messages/mac.ts";
import { type PurchaseInput, purchaseRequest, withPin } from "../messages/types.ts";

// The workload of the codec benchmark, runtime-neutral like the codec it measures.
// A round trip is one 0200 purchase frame encoded (with F64 unless `mac` is "none"), decoded, its MAC
// verified and its values compared; the STAN and amount change on every call.
//  * `codecRoundTrip`: the message is an IsoMessage whose F4/F11 are replaced each time (codec only);
//  * `saleRoundTrip`: the message is built from typed values and read back as typed values too.

export interface RoundTripOutcome {
  /** Frame size in bytes, length prefix included. */
  bytes: number;
  /** The MAC verified (true when there is no MAC). */
  macOk: boolean;
  /** The values decoded equal the values encoded. */
  fieldsEqual: boolean;
}

export type RoundTripMac = MacAlgorithm | "none";

const tpdu: Tpdu = { id: "60", destination: "0003", source: "0000" };
const header: Header = {
  applicationType: "60",
  version: "31",
  terminalStatus: 0,
  processingRequirement: 0,
  softwareVersion: "000001",
};
/** The MAKs of the published frames in vectors.json: single-length (UnionPay ECB), double-length (X9.19). */
const MAK_SINGLE = fromHex("313215fda2c4ab4c");
const MAK_DOUBLE = fromHex("73fe29329283fdf12540b6f80437c107");
const pin = withPin(fromHex("7d6a7408dfe2e9e5"));
const sale: PurchaseInput = {
  pan: "6222021234567890123",
  amount: "000000000100",
  stan: "000001",
  expiryDate: "2712",
  posEntryMode: "021",
  track2: "6222021234567890123D27122201000012345",
  terminalId: "12345678",
  merchantId: "123456789012345",
  pinBlock: pin.pinBlock,
  pinCaptureCode: pin.pinCaptureCode,
  securityControl: pin.securityControl,
  batchNumber: "000001",
};
/** STANs (and amounts) cycled through, made once so the loop measures the codec, not number formatting. */
const STANS: string[] = [];
for (let i = 1; i <= 1000; i++) STANS.push(String(i).padStart(6, "0"));

function keyFor(mac: RoundTripMac) {
  return mac === "none" ? undefined : macKey(mac === "cup-ecb" ? MAK_SINGLE : MAK_DOUBLE, mac);
}

/** Codec-only round trip: encode frame (+ MAC), decode frame, verify MAC, compare F2, F4, F11, F35, F52. */
export function codecRoundTrip(mac: RoundTripMac = "cup-ecb"): () => RoundTripOutcome {
  const key = keyFor(mac);
  const options = key ? { mac: key } : {};
  const message: IsoMessage = buildMessage(purchaseRequest, sale);
  const frame = { tpdu, header, message };
  let counter = 0;
  return () => {
    const stan = STANS[counter++ % STANS.length]!;
    const amount = `000000${stan}`;
    message.fields[11] = stan;
    message.fields[4] = amount;
    const bytes = encodeFrame(frame, options);
    const decoded = decodeFrame(bytes).message.fields;
    const macOk = key ? verifyFrameMac(bytes, key) : true;
    const fieldsEqual =
      decoded[11] === stan &&
      decoded[4] === amount &&
      decoded[2] === sale.pan &&
      decoded[35] === sale.track2 &&
      equalBytes(decoded[52] as Uint8Array, pin.pinBlock!);
    return { bytes: bytes.length, macOk, fieldsEqual };
  };
}

/** Typed round trip: build the 0200 from typed values, encode (+ MAC), decode, verify, read typed values back. */
export function saleRoundTrip(mac: RoundTripMac = "cup-ecb"): () => RoundTripOutcome {
  const key = keyFor(mac);
  const options = key ? { mac: key } : {};
  let counter = 0;
  return () => {
    const stan = STANS[counter++ % STANS.length]!;
    const input: PurchaseInput = { ...sale, stan, amount: `000000${stan}` };
    const bytes = encodeFrame({ tpdu, header, message: buildMessage(purchaseRequest, input) }, options);
    const read = readMessage(purchaseRequest, decodeFrame(bytes).message);
    const macOk = key ? verifyFrameMac(bytes, key) : true;
    const fieldsEqual =
      read.stan === input.stan &&
      read.amount === input.amount &&
      read.pan === input.pan &&
      read.track2 === input.track2 &&
      read.terminalId === input.terminalId &&
      read.merchantId === input.merchantId &&
      read.batchNumber === input.batchNumber &&
      read.pinBlock !== undefined &&
      equalBytes(read.pinBlock, pin.pinBlock!);
    return { bytes: bytes.length, macOk, fieldsEqual };
  };
}
