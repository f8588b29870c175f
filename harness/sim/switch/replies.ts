import type { Fields } from "../../protocol/index.ts";

// Field sets of the replies the switch writes itself (PROTOCOL.md, "Messages"), and the values it generates:
// local time and date (F12, F13), settlement date (F15), retrieval reference (F37), acquirer (F32).

/** Request fields a reply echoes, by reply MTI, when the request has them. */
const ECHOED: Readonly<Record<string, readonly number[]>> = {
  "0210": [2, 3, 4, 11, 25, 41, 42, 49, 60],
  "0410": [2, 3, 4, 11, 25, 41, 42, 49, 60],
  "0810": [11, 41, 42, 60, 63],
  "0830": [11, 41, 42, 60],
};
const FALLBACK_ECHOED = [3, 4, 11, 41, 42];
/** Fields the terminal checks in every reply (matchReply): always the request's values. */
const MATCHED = [3, 4, 11, 41];
/** Financial replies: they carry F15, and F60 in the switch's `field60Parts` layout. */
export const FINANCIAL_REPLIES: ReadonlySet<string> = new Set(["0210", "0410"]);

let clockSecond = -1;
let localTime = "000000";
let localDate = "0101";
let rrnSequence = 0;

function tick(): void {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second === clockSecond) return;
  clockSecond = second;
  const d = new Date(now);
  const two = (n: number) => (n < 10 ? `0${n}` : String(n));
  localTime = two(d.getHours()) + two(d.getMinutes()) + two(d.getSeconds());
  localDate = two(d.getMonth() + 1) + two(d.getDate());
}

/** A 12-character retrieval reference: local hhmmss + a 6-digit sequence. */
export function retrievalReference(): string {
  tick();
  rrnSequence = (rrnSequence + 1) % 1_000_000;
  return localTime + String(rrnSequence).padStart(6, "0");
}

/** The fields of a reply the switch makes up itself (a decline, a sign-in, an echo). */
export function switchReply(replyMti: string, request: Fields, code: string, acquirerId: string): Fields {
  tick();
  const out: Fields = {};
  for (const field of ECHOED[replyMti] ?? FALLBACK_ECHOED) {
    const value = request[field];
    if (value !== undefined) out[field] = value;
  }
  out[39] = code;
  if (replyMti === "0830") return out;
  out[12] = localTime;
  out[13] = localDate;
  out[32] = acquirerId;
  out[37] = retrievalReference();
  if (FINANCIAL_REPLIES.has(replyMti)) out[15] = localDate;
  return out;
}

/**
 * The terminal's copy of an issuer reply: the issuer's fields (F64 dropped: the switch MACs with the session's
 * key), the request's F3/F4/F11/F41 and F60, and the switch's F12/F13/F32/F37 where the issuer gave none.
 */
export function forwardedReply(issuerFields: Fields, request: Fields, acquirerId: string): Fields {
  tick();
  const out: Fields = { ...issuerFields };
  out[64] = undefined;
  for (const field of MATCHED) {
    const value = request[field];
    if (value !== undefined) out[field] = value;
  }
  if (request[60] !== undefined) out[60] = request[60];
  out[12] ??= localTime;
  out[13] ??= localDate;
  out[32] ??= acquirerId;
  out[37] ??= retrievalReference();
  return out;
}

/** The 0400 the switch owes the issuer for `purchase` (PROTOCOL.md: the original minus F26, F35, F36, F52, F53). */
export function reversalFields(purchase: Fields, reason: string): Fields {
  const out: Fields = { ...purchase };
  out[26] = undefined;
  out[35] = undefined;
  out[36] = undefined;
  out[37] = undefined;
  out[52] = undefined;
  out[53] = undefined;
  out[64] = undefined;
  out[39] = reason;
  return out;
}

/**
 * F60 in the switch's layout: `3` cuts it after 60.3; `5` carries 60.4 (read capability) and 60.5 (IC
 * condition), the request's, else `0` (unknown, normal).
 */
export function field60Layout(field60: string, parts: "3" | "5"): string {
  if (parts === "3") return field60.slice(0, 11);
  return field60.length >= 13 ? field60.slice(0, 13) : field60.slice(0, 11).padEnd(13, "0");
}

/** The card number of a request: F2, or F35 up to its separator. */
export function cardNumber(fields: Fields): string | undefined {
  const pan = fields[2];
  if (typeof pan === "string") return pan;
  const track = fields[35];
  if (typeof track !== "string") return undefined;
  const sep = track.indexOf("D");
  return sep < 0 ? track : track.slice(0, sep);
}
