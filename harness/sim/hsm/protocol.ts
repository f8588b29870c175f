import { type KeyLayout, readAscii } from "../../protocol/index.ts";

// posstorm's payShield-style host command protocol (README.md beside this file is the contract):
//
//   request : [LEN 2B big-endian][HEADER 4 ASCII][COMMAND 2 ASCII][BODY]
//   response: [LEN 2B big-endian][HEADER 4 ASCII, echoed][RESPONSE 2 ASCII][ERROR 2 ASCII][BODY]
//
// RESPONSE is the command with its second character + 1 (NC → ND, A0 → A1). Replies leave each connection in
// request order. This module is the bytes between the length prefixes; framing is the caller's.

export const HEADER_BYTES = 4;
export const COMMAND_BYTES = 2;
export const ERROR_BYTES = 2;

export const hsmCommands = {
  /** Diagnostics: empty body; reply body = firmware id. */
  diagnostics: "NC",
  /** Working keys for a terminal: TID (8) + key layout (3); reply body = F62 length (4 digits) + F62. */
  workingKeys: "A0",
} as const;

export const hsmErrors = {
  ok: "00",
  unknownCommand: "10",
  /** Bad TID, key layout or body length. */
  invalidInput: "15",
  /** The queue is full: the call was not served. */
  busy: "90",
} as const;
export type HsmErrorCode = (typeof hsmErrors)[keyof typeof hsmErrors];

/** The ND reply body. */
export const FIRMWARE_ID = "posstorm-hsm";

/** TID (F41) length in an A0 body. */
export const TID_CHARS = 8;
export const KEY_LAYOUTS: readonly KeyLayout[] = ["001", "003", "004"];
/** F62 bytes per key layout (PROTOCOL.md, "Working keys in the 0810"). */
const F62_BYTES: Readonly<Record<KeyLayout, number>> = { "001": 24, "003": 40, "004": 60 };

export interface HsmRequest {
  /** The 4 header bytes, echoed unchanged in the reply. */
  header: Uint8Array;
  /** The 2 command characters (one per byte). */
  command: string;
  body: Uint8Array;
}

export interface HsmResponse {
  header: string;
  response: string;
  error: string;
  body: Uint8Array;
}

/** Splits a request frame body; undefined when it is too short to carry a header and a command. */
export function parseRequest(frame: Uint8Array): HsmRequest | undefined {
  if (frame.length < HEADER_BYTES + COMMAND_BYTES) return undefined;
  return {
    header: frame.slice(0, HEADER_BYTES),
    command: readAscii(frame, HEADER_BYTES, HEADER_BYTES + COMMAND_BYTES),
    body: frame.subarray(HEADER_BYTES + COMMAND_BYTES),
  };
}

/** The response code of a command: its second character + 1 (`A0` → `A1`, `NC` → `ND`). */
export function responseCodeOf(command: string): string {
  return command[0]! + String.fromCharCode((command.charCodeAt(1) + 1) & 0xff);
}

/** A response frame body (no length prefix). */
export function encodeResponse(
  header: Uint8Array,
  command: string,
  error: string,
  body: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + COMMAND_BYTES + ERROR_BYTES + body.length);
  out.set(header.subarray(0, HEADER_BYTES), 0);
  writeLatin1(out, HEADER_BYTES, responseCodeOf(command));
  writeLatin1(out, HEADER_BYTES + COMMAND_BYTES, error);
  out.set(body, HEADER_BYTES + COMMAND_BYTES + ERROR_BYTES);
  return out;
}

/** A request frame body (no length prefix); `header` and `command` are 4 and 2 single-byte characters. */
export function encodeRequest(header: string, command: string, body: Uint8Array = new Uint8Array(0)) {
  const out = new Uint8Array(HEADER_BYTES + COMMAND_BYTES + body.length);
  writeLatin1(out, 0, header.padEnd(HEADER_BYTES, " ").slice(0, HEADER_BYTES));
  writeLatin1(out, HEADER_BYTES, command.padEnd(COMMAND_BYTES, " ").slice(0, COMMAND_BYTES));
  out.set(body, HEADER_BYTES + COMMAND_BYTES);
  return out;
}

/** Splits a response frame body; undefined when it is shorter than header + response + error. */
export function parseResponse(frame: Uint8Array): HsmResponse | undefined {
  const bodyStart = HEADER_BYTES + COMMAND_BYTES + ERROR_BYTES;
  if (frame.length < bodyStart) return undefined;
  return {
    header: readAscii(frame, 0, HEADER_BYTES),
    response: readAscii(frame, HEADER_BYTES, HEADER_BYTES + COMMAND_BYTES),
    error: readAscii(frame, HEADER_BYTES + COMMAND_BYTES, bodyStart),
    body: frame.subarray(bodyStart),
  };
}

/** The A0 body: TID (8 characters) + key layout. */
export function workingKeysRequestBody(tid: string, layout: KeyLayout): Uint8Array {
  const out = new Uint8Array(TID_CHARS + 3);
  writeLatin1(out, 0, tid);
  writeLatin1(out, TID_CHARS, layout);
  return out;
}

/** Reads an A0 body; a string says what is wrong with it. */
export function parseWorkingKeysRequest(body: Uint8Array): { tid: string; layout: KeyLayout } | string {
  if (body.length !== TID_CHARS + 3) {
    return `A0 body is ${body.length} bytes, expected ${TID_CHARS + 3} (TID 8 + key layout 3)`;
  }
  for (let i = 0; i < TID_CHARS; i++) {
    if (body[i]! < 0x20 || body[i]! > 0x7e) return `A0 TID byte ${i} is not printable ASCII`;
  }
  const layout = readAscii(body, TID_CHARS, TID_CHARS + 3);
  if (!(KEY_LAYOUTS as readonly string[]).includes(layout)) {
    return `A0 key layout ${JSON.stringify(layout)} is not one of ${KEY_LAYOUTS.join(", ")}`;
  }
  return { tid: readAscii(body, 0, TID_CHARS), layout: layout as KeyLayout };
}

/** The A1 body: the F62 length as 4 ASCII digits, then F62. */
export function workingKeysReplyBody(f62: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + f62.length);
  writeLatin1(out, 0, String(f62.length).padStart(4, "0"));
  out.set(f62, 4);
  return out;
}

/** Reads an A1 body (error 00); a string says what is wrong with it. */
export function parseWorkingKeysReply(body: Uint8Array, layout: KeyLayout): Uint8Array | string {
  const digits = readAscii(body, 0, Math.min(4, body.length));
  if (!/^\d{4}$/.test(digits)) return "A1 body does not start with a 4-digit F62 length";
  const length = Number(digits);
  if (length !== body.length - 4) return `A1 F62 length says ${length} bytes but ${body.length - 4} follow`;
  if (length !== F62_BYTES[layout]) {
    return `A1 F62 is ${length} bytes, expected ${F62_BYTES[layout]} for layout ${layout}`;
  }
  return body.slice(4);
}

function writeLatin1(out: Uint8Array, offset: number, text: string): void {
  for (let i = 0; i < text.length; i++) out[offset + i] = text.charCodeAt(i) & 0xff;
}
