import { toHex, writeHex } from "../encoding/hex.ts";
import { CodecError } from "../errors.ts";

/**
 * Transport PDU, 5 bytes: id (`60`), destination (2 bytes) and source (2 bytes), kept as hex text
 * (`60 0003 0000` → `{ id: "60", destination: "0003", source: "0000" }`).
 */
export interface Tpdu {
  id: string;
  destination: string;
  source: string;
}

export const TPDU_BYTES = 5;
/** The TPDU id of transaction traffic. */
export const TPDU_ID = 0x60;

export function writeTpdu(out: Uint8Array, offset: number, tpdu: Tpdu): void {
  const { id, destination, source } = tpdu;
  const valid =
    id.length === 2 &&
    destination.length === 4 &&
    source.length === 4 &&
    writeHex(out, offset, id) &&
    writeHex(out, offset + 1, destination) &&
    writeHex(out, offset + 3, source);
  if (!valid)
    throw new CodecError("TPDU parts must be hex: id 2 digits, destination and source 4 digits each");
}

export function readTpdu(bytes: Uint8Array, offset: number): Tpdu {
  return {
    id: toHex(bytes, offset, offset + 1),
    destination: toHex(bytes, offset + 1, offset + 3),
    source: toHex(bytes, offset + 3, offset + 5),
  };
}

/** The TPDU of a reply: destination and source swapped. */
/** The TPDU a terminal sends by default: terminal 0000 → switch (NII) 0003. */
export const TERMINAL_TPDU: Tpdu = { id: "60", destination: "0003", source: "0000" };

export function replyTpdu(tpdu: Tpdu): Tpdu;
export function replyTpdu(tpdu: Tpdu | undefined): Tpdu | undefined;
export function replyTpdu(tpdu: Tpdu | undefined): Tpdu | undefined {
  return tpdu && { id: tpdu.id, destination: tpdu.source, source: tpdu.destination };
}
