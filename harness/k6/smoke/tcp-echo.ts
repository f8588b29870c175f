// Smoke test of the k6 + k6/x/tcp build: each iteration connects to an echo server, writes a
// 64-byte payload and waits for the same bytes back under its own response timer.
//
// Environment:
//   TARGET_HOST          echo server host (default 127.0.0.1)
//   TARGET_PORT          echo server port (required)
//   RESPONSE_TIMEOUT_MS  response timer from write to full echo, ms (default 5000)
//   VUS, ITERATIONS      shared-iterations executor (default 2 VUs, 20 iterations)
//
// Metrics: echo_rtt (trend, ms, write → last echoed byte), echo_ok (rate), echo_failures (counter
// tagged `reason`, one of FailureReason), and the check "echo matches".

import { check } from "k6";
import { Counter, Rate, Trend } from "k6/metrics";
import type { Options } from "k6/options";
import { clearTimeout, setTimeout } from "k6/timers";
import { Socket, type SocketError } from "k6/x/tcp";

// k6 provides console; @types/k6 does not declare it and this tsconfig has no DOM or Node types.
declare const console: { warn(...data: unknown[]): void };

const PAYLOAD_SIZE = 64;

/** Outcome names as in DESIGN.md's terminal model. */
type FailureReason =
  | "refused"
  | "timeout.connect"
  | "connect"
  | "timeout.response"
  | "reset"
  | "closed"
  | "error"
  | "protocol";
const FAILURE_REASONS: readonly FailureReason[] = [
  "refused",
  "timeout.connect",
  "connect",
  "timeout.response",
  "reset",
  "closed",
  "error",
  "protocol",
];

function intFromEnv(name: string, fallback: number): number {
  const raw = __ENV[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name}=${raw} is not a whole number >= 0`);
  return value;
}

const host = __ENV.TARGET_HOST || "127.0.0.1";
const port = intFromEnv("TARGET_PORT", 0);
if (port < 1 || port > 65535) throw new Error("TARGET_PORT must be set to the echo server's port (1-65535)");
const responseTimeoutMs = intFromEnv("RESPONSE_TIMEOUT_MS", 5000);

export const options: Options = {
  scenarios: {
    echo: {
      executor: "shared-iterations",
      vus: intFromEnv("VUS", 2),
      iterations: intFromEnv("ITERATIONS", 20),
    },
  },
  // Always-true thresholds make k6 report each reason's submetric in the summary.
  thresholds: Object.fromEntries(FAILURE_REASONS.map((r) => [`echo_failures{reason:${r}}`, ["count>=0"]])),
};

const echoRtt = new Trend("echo_rtt", true);
const echoOk = new Rate("echo_ok");
const echoFailures = new Counter("echo_failures");

type Exchange =
  | { kind: "echo"; rttMs: number; bytes: Uint8Array }
  | { kind: "timeout" }
  | { kind: "closed"; bytes: Uint8Array }
  | { kind: "error"; message: string };

function payloadFor(vu: number, iter: number): Uint8Array {
  const bytes = new Uint8Array(PAYLOAD_SIZE);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + vu * 7 + iter) & 0xff;
  return bytes;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function connectFailure(message: string): FailureReason {
  if (message.includes("connection refused")) return "refused";
  if (message.includes("i/o timeout") || message.includes("deadline exceeded")) return "timeout.connect";
  return "connect";
}

let warned = false;
function fail(reason: FailureReason, detail: string): void {
  echoFailures.add(1, { reason });
  echoOk.add(false);
  if (!warned) {
    warned = true; // once per VU, so a dead target does not flood the log
    console.warn(`tcp-echo: ${reason}: ${detail}`);
  }
}

export default async function (): Promise<void> {
  const sent = payloadFor(__VU, __ITER);
  const socket = new Socket({ tags: { smoke: "tcp-echo" } });
  let timer: number | undefined;
  let received: Uint8Array = new Uint8Array(0);
  try {
    try {
      await socket.connect(port, host);
    } catch (e) {
      const message = (e as SocketError).message ?? String(e);
      fail(connectFailure(message), message);
      check(received, { "echo matches": (r) => sameBytes(r, sent) });
      return;
    }

    let startedAt = 0;
    const exchange = new Promise<Exchange>((resolve) => {
      const buffer = new Uint8Array(PAYLOAD_SIZE);
      let filled = 0;
      socket.on("data", (chunk) => {
        const take = Math.min(chunk.length, PAYLOAD_SIZE - filled);
        buffer.set(chunk.subarray(0, take), filled);
        filled += take;
        if (filled === PAYLOAD_SIZE) resolve({ kind: "echo", rttMs: Date.now() - startedAt, bytes: buffer });
      });
      socket.on("close", () => resolve({ kind: "closed", bytes: buffer.slice(0, filled) }));
      socket.on("error", (err) => resolve({ kind: "error", message: err.message }));
      timer = setTimeout(() => resolve({ kind: "timeout" }), responseTimeoutMs);
    });
    startedAt = Date.now();
    await socket.write(sent);
    const result = await exchange;

    switch (result.kind) {
      case "echo":
        received = result.bytes;
        echoRtt.add(result.rttMs);
        if (sameBytes(received, sent)) echoOk.add(true);
        else fail("protocol", "echoed bytes differ from the payload");
        break;
      case "timeout":
        fail("timeout.response", `no full echo within ${responseTimeoutMs}ms`);
        break;
      case "closed":
        received = result.bytes;
        fail("closed", `peer closed after ${result.bytes.length} of ${PAYLOAD_SIZE} bytes`);
        break;
      case "error":
        fail(result.message.includes("reset") ? "reset" : "error", result.message);
        break;
    }
    check(received, { "echo matches": (r) => sameBytes(r, sent) });
  } catch (e) {
    // write() rejected: the connection broke between connect and write.
    const message = (e as Error).message ?? String(e);
    fail(message.includes("reset") || message.includes("broken pipe") ? "reset" : "error", message);
    check(received, { "echo matches": (r) => sameBytes(r, sent) });
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    socket.destroy();
  }
}
