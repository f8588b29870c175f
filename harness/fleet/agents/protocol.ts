import type { Socket } from "node:net";
import type { FleetConditions } from "../conditions.ts";
import type { RunPlan } from "../plan.ts";
import type { SegmentMessage } from "../wire.ts";

// What a coordinator and an agent say to each other over one TCP connection: one JSON object per line
// (NDJSON), plain data. The segments' own messages (wire.ts) travel inside `segment` messages unchanged.
//
//   coordinator                         agent
//   hello ───────────────────────────►  (busy with another coordinator → refused, closed)
//         ◄─────────────────────────── welcome {agent, segments it offers}
//   ping ×5 ─────────────────────────►  pong {agentMs}            (clock offset, lowest round trip wins)
//   plan {plan, segments, count} ────►  (plan or target refused → refused, closed)
//         ◄─────────────────────────── segment ready (per segment, its worker loaded)
//   start {segment, startAtMs} ──────►  (startAtMs already in the agent's clock)
//         ◄─────────────────────────── segment samples / tick / log … done; beat every second
//   abort, conditions ───────────────►
//   bye ─────────────────────────────►  segments stopped, connection closed, agent free again

/** Bumped when a message changes shape; a coordinator and an agent must agree. */
export const AGENT_PROTOCOL = 1;
/** The port `posstorm agent` listens on by default. */
export const AGENT_PORT = 7070;

/**
 * What is wrong with an agent's name, or undefined: it reaches the coordinator's log, run.json, the reports and a
 * Toxiproxy link's name (`agent-<name>`), so it is 1–64 letters, digits, '.', '_' or '-' (a host name fits).
 */
export function agentNameProblem(name: string): string | undefined {
  if (/^[A-Za-z0-9._-]{1,64}$/.test(name)) return undefined;
  const shown = JSON.stringify(name.length > 70 ? `${name.slice(0, 64)}…` : name);
  return `the name ${shown} is not 1-64 letters, digits, '.', '_' or '-'`;
}
/** The agent's heartbeat, ms; the coordinator calls an agent stalled after STALL_MS without a word. */
export const BEAT_MS = 1_000;
export const STALL_MS = 5_000;

export type ToAgent =
  | { type: "hello"; protocol: number; coordinator: string }
  | { type: "ping"; t0: number }
  /** The plan (its target is where this agent reaches the switch) and the segments of `count` it runs. */
  | { type: "plan"; plan: RunPlan; segments: number[]; count: number }
  /** Load start in the agent's own clock (the coordinator's start plus the agent's offset). */
  | { type: "start"; segment: number; startAtMs: number }
  | { type: "abort" }
  | { type: "conditions"; conditions: FleetConditions }
  | { type: "bye" };

export type FromAgent =
  | { type: "welcome"; protocol: number; agent: string; segments: number; host: string; pid: number }
  | { type: "refused"; reason: string }
  | { type: "pong"; t0: number; agentMs: number }
  | { type: "segment"; message: SegmentMessage }
  | { type: "beat"; agentMs: number };

/** Sends one message as a line. */
export function send(socket: Socket, message: ToAgent | FromAgent): void {
  if (!socket.destroyed) socket.write(`${JSON.stringify(message)}\n`);
}

/**
 * Calls `onMessage` with every line the socket receives, parsed; a line that is not JSON goes to `onBad`
 * (with its first 80 characters) and the rest of the stream is still read.
 */
export function readLines<T>(
  socket: Socket,
  onMessage: (message: T) => void,
  onBad: (problem: string) => void,
): void {
  let buffered = "";
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => {
    buffered += chunk;
    let newline = buffered.indexOf("\n");
    while (newline >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf("\n");
      if (line.trim() === "") continue;
      let message: T;
      try {
        message = JSON.parse(line) as T;
      } catch {
        onBad(`a line that is not JSON: ${line.slice(0, 80)}`);
        continue;
      }
      onMessage(message);
    }
  });
}

/** `host:port` → its parts; `[::1]:7070` for IPv6; a clear Error naming the text otherwise. */
export function parseHostPort(
  text: string,
  what: string,
  defaultPort = AGENT_PORT,
  lowestPort = 1,
): { host: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(text) ?? /^([^:]+)(?::(\d+))?$/.exec(text);
  const port = m?.[2] === undefined ? defaultPort : Number(m[2]);
  if (!m?.[1] || !Number.isInteger(port) || port < lowestPort || port > 65535) {
    throw new Error(`${what}: ${JSON.stringify(text)} is not host:port`);
  }
  return { host: m[1], port };
}
