import { classifySocketError, type NetworkOutcome, type SocketPhase } from "./outcome.ts";

// node:net failures → outcomes, by the error's `code` (Node system errors and stream errors). Errors without a
// known code fall back to the message rules of outcome.ts (classifySocketError).

const REFUSED = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EHOSTDOWN", "ENETDOWN"]);
const RESET = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED"]);
const CLOSED = new Set([
  "EOF",
  "ERR_SOCKET_CLOSED",
  "ERR_STREAM_DESTROYED",
  "ERR_STREAM_WRITE_AFTER_END",
  "ERR_SOCKET_CLOSED_BEFORE_CONNECTION",
  "ENOTCONN",
]);

/** The `code` of a Node error (`ECONNRESET`, `ERR_STREAM_DESTROYED`, …), if any. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null || !("code" in error)) return undefined;
  const code = (error as { code: unknown }).code;
  return typeof code === "string" ? code : undefined;
}

/**
 * The outcome of a node:net error in `phase`:
 * - refused: ECONNREFUSED, EHOSTUNREACH, ENETUNREACH (also EHOSTDOWN, ENETDOWN): no connection could be made;
 * - reset: ECONNRESET, EPIPE (broken pipe on write), ECONNABORTED;
 * - timeout.connect: ETIMEDOUT while connecting (the kernel gave up on the SYN before our own timer); after
 *   that, ETIMEDOUT (retransmissions unacknowledged) is `closed`, as a peer that vanished;
 * - closed: EOF, a socket closed or destroyed under us (ERR_SOCKET_CLOSED, ERR_STREAM_DESTROYED, …);
 * - anything else: by its message (outcome.ts), which ends in `refused` while connecting, `closed` after.
 */
export function classifyNetError(error: unknown, phase: SocketPhase): NetworkOutcome {
  const code = errorCode(error);
  if (code !== undefined) {
    if (REFUSED.has(code)) return "refused";
    if (RESET.has(code)) return "reset";
    if (code === "ETIMEDOUT") return phase === "connect" ? "timeout.connect" : "closed";
    if (CLOSED.has(code)) return "closed";
  }
  return classifySocketError(error instanceof Error ? error.message : String(error), phase);
}
