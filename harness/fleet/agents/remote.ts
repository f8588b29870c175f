import net from "node:net";
import type { FleetConditions } from "../conditions.ts";
import { errorMessage } from "../outcome.ts";
import type { RunPlan } from "../plan.ts";
import type { HostEvents, SegmentHost } from "../segment-host.ts";
import type { SegmentMessage } from "../wire.ts";
import {
  AGENT_PROTOCOL,
  agentNameProblem,
  type FromAgent,
  parseHostPort,
  readLines,
  STALL_MS,
  send,
  type ToAgent,
} from "./protocol.ts";

// The coordinator's side of its agents: one connection each, the clock offset measured at connect, and
// SegmentHosts that stand for the agent's segments in runFleet. An agent that closes, errs or goes quiet for
// STALL_MS fails every segment it runs, naming the agent.

/** Pings at connect; the one with the shortest round trip sets the offset. */
const PINGS = 5;
const CONNECT_TIMEOUT_MS = 10_000;

/** What run.json keeps of each agent. */
export interface AgentFacts {
  name: string;
  /** As the coordinator was given it. */
  address: string;
  host: string;
  pid: number;
  /** The fleet's segments it ran. */
  segments: number[];
  /** Agent clock − coordinator clock, ms (at the shortest of the connect pings, ± half of rttMs). */
  clockOffsetMs: number;
  rttMs: number;
  /** Where it sent its load. */
  target?: { host: string; port: number };
}

export class AgentConnection {
  readonly address: string;
  name = "?";
  host = "?";
  pid = 0;
  /** Segments the agent offers (one per core unless it was told otherwise). */
  offered = 0;
  clockOffsetMs = 0;
  rttMs = 0;
  /** Where this agent reaches the switch (set by the run before the plan goes out; default the plan's). */
  target?: { host: string; port: number };
  segments: number[] = [];
  private readonly socket: net.Socket;
  /** The handshake's one question in flight (`ask`): its answer, a refusal, or undefined when the connection closed. */
  private waiting: ((reply: FromAgent | undefined) => void) | undefined;
  private readonly hosts = new Map<number, { events: HostEvents; ready: () => void; done: boolean }>();
  private lastWordMs = Date.now();
  private watchdog: NodeJS.Timeout | undefined;
  private closed = false;
  private failure: Error | undefined;
  private startedAtMs: number | undefined;

  private constructor(address: string, socket: net.Socket) {
    this.address = address;
    this.socket = socket;
  }

  /** The coordinator's own address on this connection: an address of this machine the agent can reach. */
  get localAddress(): string {
    return this.socket.localAddress?.replace(/^::ffff:/, "") ?? "127.0.0.1";
  }

  get label(): string {
    return this.name === "?" ? `agent at ${this.address}` : `agent ${this.name} (${this.address})`;
  }

  static async connect(address: string, coordinator: string): Promise<AgentConnection> {
    const { host, port } = parseHostPort(address, "--agents");
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host, port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`agent ${address}: no connection within ${CONNECT_TIMEOUT_MS} ms`));
      }, CONNECT_TIMEOUT_MS);
      s.once("connect", () => {
        clearTimeout(timer);
        resolve(s);
      });
      s.once("error", (error) => {
        clearTimeout(timer);
        reject(new Error(`agent ${address}: ${errorMessage(error)} (is \`posstorm agent\` running there?)`));
      });
    });
    socket.setNoDelay(true);
    const agent = new AgentConnection(address, socket);
    agent.listen();
    try {
      const welcome = await agent.ask({ type: "hello", protocol: AGENT_PROTOCOL, coordinator }, "welcome");
      if (welcome.type !== "welcome") throw new Error("unreachable");
      const nameProblem = agentNameProblem(String(welcome.agent));
      if (nameProblem !== undefined) throw new Error(`agent ${address}: ${nameProblem}`);
      agent.name = welcome.agent;
      agent.host = welcome.host;
      agent.pid = welcome.pid;
      agent.offered = welcome.segments;
      let best = Number.POSITIVE_INFINITY;
      for (let i = 0; i < PINGS; i++) {
        const t0 = Date.now();
        const pong = await agent.ask({ type: "ping", t0 }, "pong");
        const t1 = Date.now();
        if (pong.type !== "pong") throw new Error("unreachable");
        if (t1 - t0 < best) {
          best = t1 - t0;
          agent.rttMs = t1 - t0;
          agent.clockOffsetMs = Math.round(pong.agentMs - (t0 + t1) / 2);
        }
      }
    } catch (error) {
      agent.close();
      throw error;
    }
    return agent;
  }

  /** Sends the plan (with this agent's target) and returns one SegmentHost per segment given to it. */
  hostsFor(plan: RunPlan, segments: number[], count: number, events: HostEvents): SegmentHost[] {
    this.segments = segments;
    const mine: RunPlan = this.target ? { ...plan, target: { ...plan.target, ...this.target } } : plan;
    this.post({ type: "plan", plan: mine, segments, count });
    return segments.map((index) => {
      let markReady: () => void = () => {};
      const ready = new Promise<void>((resolve) => {
        markReady = resolve;
      });
      this.hosts.set(index, { events, ready: markReady, done: false });
      return {
        index,
        ready,
        start: (input) => {
          this.startedAtMs ??= input.startAtMs;
          this.post({ type: "start", segment: index, startAtMs: input.startAtMs + this.clockOffsetMs });
        },
        abort: () => this.post({ type: "abort" }),
        setConditions: (conditions: FleetConditions) => this.post({ type: "conditions", conditions }),
        terminate: async () => {
          const entry = this.hosts.get(index);
          if (entry) entry.done = true;
          if ([...this.hosts.values()].every((h) => h.done)) this.close();
        },
      } satisfies SegmentHost;
    });
  }

  facts(): AgentFacts {
    return {
      name: this.name,
      address: this.address,
      host: this.host,
      pid: this.pid,
      segments: this.segments,
      clockOffsetMs: this.clockOffsetMs,
      rttMs: this.rttMs,
      ...(this.target ? { target: this.target } : {}),
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.watchdog);
    this.post({ type: "bye" });
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1_000).unref();
  }

  private post(message: ToAgent): void {
    send(this.socket, message);
  }

  private ask(message: ToAgent, answer: "welcome" | "pong"): Promise<FromAgent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        reject(new Error(`${this.label}: no ${answer} within ${CONNECT_TIMEOUT_MS} ms`));
      }, CONNECT_TIMEOUT_MS);
      this.waiting = (reply) => {
        clearTimeout(timer);
        this.waiting = undefined;
        if (reply === undefined)
          reject(new Error(`${this.label} closed the connection before its ${answer}`));
        else if (reply.type === "refused") reject(new Error(`${this.label} refused: ${reply.reason}`));
        else resolve(reply);
      };
      this.post(message);
    });
  }

  private listen(): void {
    readLines<FromAgent>(
      this.socket,
      (message) => this.receive(message),
      (problem) => this.fail(`sent ${problem}`),
    );
    this.socket.on("close", () => {
      this.waiting?.(undefined);
      if (!this.closed) this.fail(`disconnected${this.intoLoad()}`);
    });
    this.socket.on("error", (error) => {
      if (!this.closed) this.fail(`connection failed${this.intoLoad()}: ${error.message}`);
    });
    this.watchdog = setInterval(() => {
      const quiet = Date.now() - this.lastWordMs;
      if (quiet > STALL_MS && this.hosts.size > 0)
        this.fail(`stalled: no word for ${(quiet / 1000).toFixed(1)} s${this.intoLoad()}`);
    }, 500);
    this.watchdog.unref();
  }

  private intoLoad(): string {
    if (this.startedAtMs === undefined) return " before the load started";
    return ` ${((Date.now() - this.startedAtMs) / 1000).toFixed(1)} s into the load`;
  }

  private receive(message: FromAgent): void {
    this.lastWordMs = Date.now();
    switch (message.type) {
      case "welcome":
      case "pong":
        this.waiting?.(message);
        return;
      case "refused":
        if (this.waiting) this.waiting(message);
        else this.fail(`refused: ${message.reason}`);
        return;
      case "beat":
        return;
      case "segment":
        this.deliver(message.message);
        return;
    }
  }

  private deliver(message: SegmentMessage): void {
    const entry = this.hosts.get(message.segment);
    if (entry === undefined) {
      this.fail(`sent data for segment ${message.segment}, which it was not given`);
      return;
    }
    if (message.type === "ready") entry.ready();
    if (message.type === "error") {
      this.fail(`segment ${message.segment} failed: ${message.message}`);
      return;
    }
    if (message.type === "done") entry.done = true;
    entry.events.onMessage(message);
  }

  /** Fails every segment of this agent once, naming it; the connection is closed. */
  private fail(problem: string): void {
    if (this.failure !== undefined) return;
    this.failure = new Error(`${this.label} ${problem}`);
    const open = [...this.hosts.entries()].filter(([, h]) => !h.done);
    this.close();
    const first = open[0] ?? [...this.hosts.entries()][0];
    if (first) first[1].events.onFailure(first[0], this.failure);
  }
}

/** Connects to every agent (side by side); a refused or unreachable agent fails them all, closed again. */
export async function connectAgents(addresses: string[], coordinator: string): Promise<AgentConnection[]> {
  const settled = await Promise.allSettled(addresses.map((a) => AgentConnection.connect(a, coordinator)));
  const failed = settled.filter((s): s is PromiseRejectedResult => s.status === "rejected");
  const agents = settled.filter((s) => s.status === "fulfilled").map((s) => s.value);
  if (failed.length > 0) {
    for (const agent of agents) agent.close();
    throw new Error(failed.map((f) => errorMessage(f.reason)).join("; "));
  }
  const names = new Map<string, string>();
  for (const agent of agents) {
    const other = names.get(agent.name);
    if (other !== undefined) {
      for (const a of agents) a.close();
      throw new Error(
        `two agents are named ${agent.name} (${other} and ${agent.address}): start them with --name`,
      );
    }
    names.set(agent.name, agent.address);
  }
  return agents;
}

/**
 * Segment indices of `count` for each agent in turn: agent a gets its share (offered / all offered, at least
 * one, in order), contiguous. `count` never exceeds the segments offered.
 */
export function assignSegments(offered: number[], count: number): number[][] {
  const total = offered.reduce((a, b) => a + b, 0);
  const shares = offered.map((o) => Math.max(1, Math.floor((o / total) * count)));
  let extra = count - shares.reduce((a, b) => a + b, 0);
  for (let i = 0; extra > 0; i = (i + 1) % shares.length) {
    if (shares[i]! < offered[i]!) {
      shares[i]!++;
      extra--;
    }
  }
  for (let i = shares.length - 1; extra < 0 && i >= 0; i--) {
    while (extra < 0 && shares[i]! > 1) {
      shares[i]!--;
      extra++;
    }
  }
  let next = 0;
  return shares.map((n) => Array.from({ length: n }, () => next++));
}
