import type { Outcome } from "./plan.ts";

// Socket failures → outcomes, by the error's message (`connection refused`, `connection reset by peer`,
// `broken pipe`, Go's and libc's texts alike): net-errors.ts falls back to these rules for an error without a
// known Node code. Pure.

/** Where a socket call failed: dialing, writing the request, or reading the reply. */
export type SocketPhase = "connect" | "write" | "read";

/** The failure outcomes a socket error can map to. */
export type NetworkOutcome = Extract<Outcome, "timeout.connect" | "refused" | "reset" | "closed">;

const REFUSED = ["connection refused", "no route to host", "network is unreachable", "host is unreachable"];
const RESET = ["connection reset", "reset by peer", "broken pipe", "connection aborted"];
const CLOSED = [
  "eof",
  "use of closed network connection",
  "socket is not connected",
  "socket destroyed",
  "not connected",
];
const DIAL_TIMEOUT = ["i/o timeout", "deadline exceeded", "timed out"];

/**
 * The outcome of a socket error by its message:
 * - refused (ECONNREFUSED; also unreachable network or host: the connection could not be made);
 * - reset (ECONNRESET, EPIPE "broken pipe", ECONNABORTED);
 * - timeout.connect for the extension's own 30 s dial timeout (only while connecting);
 * - closed (EOF, a socket closed or destroyed under us).
 * Anything else counts as `refused` while connecting and `closed` afterwards.
 */
export function classifySocketError(message: string, phase: SocketPhase): NetworkOutcome {
  const text = message.toLowerCase();
  if (REFUSED.some((s) => text.includes(s))) return "refused";
  if (RESET.some((s) => text.includes(s))) return "reset";
  if (phase === "connect" && DIAL_TIMEOUT.some((s) => text.includes(s))) return "timeout.connect";
  if (CLOSED.some((s) => text.includes(s))) return "closed";
  return phase === "connect" ? "refused" : "closed";
}

/** The message of a thrown value. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === "object" && error !== null && "message" in error) return String(error.message);
  return String(error);
}

/** Timeout kind of an outcome, for `pos_timeouts{kind}`; undefined when it is not a timeout. */
export function timeoutKind(outcome: Outcome): "connect" | "response" | "idle" | undefined {
  switch (outcome) {
    case "timeout.connect":
      return "connect";
    case "timeout.response":
      return "response";
    case "timeout.idle":
      return "idle";
    default:
      return undefined;
  }
}
