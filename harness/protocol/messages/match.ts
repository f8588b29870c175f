import type { IsoMessage } from "../codec/message.ts";

/** What a terminal checks before it accepts a reply (PROTOCOL.md, 0210 row). */
export type ReplyCheck = "mti" | "processingCode" | "amount" | "stan" | "terminalId";

export type ReplyMatch =
  | { ok: true }
  /** `expected`/`actual` are the request's and the reply's values (absent = undefined); none is card data. */
  | {
      ok: false;
      check: ReplyCheck;
      field?: number;
      expected: string | undefined;
      actual: string | undefined;
    };

/** F3, F4, F11, F41 must be echoed unchanged when the request has them. */
const echoed: ReadonlyArray<readonly [ReplyCheck, number]> = [
  ["processingCode", 3],
  ["amount", 4],
  ["stan", 11],
  ["terminalId", 41],
];

/** The MTI of the reply to `mti` (`0200` → `0210`). */
export function replyMti(mti: string): string {
  return String(Number.parseInt(mti, 10) + 10).padStart(4, "0");
}

/** Whether `reply` answers `request`: MTI = request + 10, then F3, F4, F11, F41 equal; the first failed check. */
export function matchReply(request: IsoMessage, reply: IsoMessage): ReplyMatch {
  const expectedMti = replyMti(request.mti);
  if (reply.mti !== expectedMti) return { ok: false, check: "mti", expected: expectedMti, actual: reply.mti };
  for (const [check, field] of echoed) {
    const expected = request.fields[field];
    if (expected === undefined) continue;
    const actual = reply.fields[field];
    if (actual !== expected) {
      return {
        ok: false,
        check,
        field,
        expected: text(expected),
        actual: actual === undefined ? undefined : text(actual),
      };
    }
  }
  return { ok: true };
}

function text(value: string | Uint8Array): string {
  return typeof value === "string" ? value : `[${value.length} bytes]`;
}
