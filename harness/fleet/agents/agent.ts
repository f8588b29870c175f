import { readFileSync } from "node:fs";
import net from "node:net";
import { availableParallelism, hostname } from "node:os";
import { errorMessage } from "../outcome.ts";
import type { RunPlan } from "../plan.ts";
import { resolvePlan } from "../plan-check.ts";
import { type HostEvents, type SegmentHost, workerHost } from "../segment-host.ts";
import { planFingerprint } from "./fingerprint.ts";
import {
  AGENT_PROTOCOL,
  agentNameProblem,
  BEAT_MS,
  type FromAgent,
  readLines,
  send,
  type ToAgent,
} from "./protocol.ts";
import { targetAllowance } from "./test-hosts.ts";

// `posstorm agent`: runs fleet segments for one coordinator at a time. It listens; a coordinator connects, says
// hello, measures the clock offset, hands over the plan and the segments this agent runs, then starts each at
// the one load start. The agent streams the segments' messages back as they come and beats once a second.
// It never runs load without a coordinator's plan, refuses a second coordinator while it serves one, and
// refuses a plan whose target is outside loopback and the project's test hosts unless --allow-remote.

export interface AgentOptions {
  /** Where to listen (default port AGENT_PORT; 0 picks one). */
  listen: { host: string; port: number };
  /** The agent's name in the coordinator's reports (default the host name, or `agent-<index>`). */
  name?: string;
  /** Segments it offers (default one per core). */
  segments?: number;
  /** A plan file (JSON RunPlan, e.g. the Kubernetes ConfigMap's): a coordinator's plan must match it. */
  planFile?: string;
  /** Where this agent reaches the switch, instead of the address the coordinator gives. */
  switchAt?: { host: string; port: number };
  allowRemote?: boolean;
  /** Serve one coordinator, then stop (a Kubernetes Job's pod). */
  once?: boolean;
  /** Stop (failing) when no coordinator has come after this many seconds; 0 = wait for ever. */
  idleTimeoutS?: number;
  log?: (line: string) => void;
  /** Worker entry (tests only). */
  workerEntry?: URL;
}

export interface AgentServer {
  /** Where it listens (the port the kernel gave when asked for 0). */
  readonly address: { host: string; port: number };
  readonly name: string;
  /** Settles when the agent stops on its own (`once` after its coordinator, or the idle timeout): the exit code. */
  readonly stopped: Promise<number>;
  close(): Promise<void>;
}

interface Session {
  coordinator: string;
  from: string;
  since: string;
  hosts: Map<number, SegmentHost>;
  plan?: RunPlan;
  count: number;
  failed: boolean;
}

export async function serveAgent(options: AgentOptions): Promise<AgentServer> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const name = options.name ?? hostname();
  const nameProblem = agentNameProblem(name);
  if (nameProblem !== undefined)
    throw new Error(
      `agent: ${nameProblem} (${options.name === undefined ? "the host name; " : ""}give --name)`,
    );
  const offered = options.segments ?? availableParallelism();
  if (!Number.isInteger(offered) || offered < 1)
    throw new Error(`agent: --segments must be a whole number >= 1, got ${offered}`);
  const expected = options.planFile === undefined ? undefined : readPlanFile(options.planFile);
  let session: Session | undefined;
  let served = 0;
  let stop: (code: number) => void = () => {};
  const stopped = new Promise<number>((resolve) => {
    stop = resolve;
  });

  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    const from = `${socket.remoteAddress}:${socket.remotePort}`;
    if (session !== undefined) {
      send(socket, {
        type: "refused",
        reason: `agent ${name} is busy: it serves coordinator ${session.coordinator} (from ${session.from}) since ${session.since}`,
      });
      socket.end();
      log(`refused a second coordinator from ${from}: busy with ${session.coordinator}`);
      return;
    }
    const mine: Session = {
      coordinator: "?",
      from,
      since: new Date().toISOString(),
      hosts: new Map(),
      count: 0,
      failed: false,
    };
    session = mine;
    clearTimeout(idle);
    socket.setNoDelay(true);
    const reply = (message: FromAgent) => send(socket, message);
    const refuse = (reason: string) => {
      log(`refused: ${reason}`);
      reply({ type: "refused", reason });
      mine.failed = true;
      socket.end();
    };
    const beat = setInterval(() => reply({ type: "beat", agentMs: Date.now() }), BEAT_MS);
    const events: HostEvents = {
      onMessage: (message) => reply({ type: "segment", message }),
      onFailure: (index, error) => {
        mine.failed = true;
        reply({ type: "segment", message: { type: "error", segment: index, message: error.message } });
      },
    };
    const handle = (message: ToAgent) => {
      switch (message.type) {
        case "hello":
          if (message.protocol !== AGENT_PROTOCOL) {
            refuse(
              `protocol ${message.protocol} from the coordinator, this agent speaks ${AGENT_PROTOCOL}: run the same posstorm on both`,
            );
            return;
          }
          mine.coordinator = message.coordinator;
          log(`coordinator ${message.coordinator} connected from ${from}`);
          reply({
            type: "welcome",
            protocol: AGENT_PROTOCOL,
            agent: name,
            segments: offered,
            host: hostname(),
            pid: process.pid,
          });
          return;
        case "ping":
          reply({ type: "pong", t0: message.t0, agentMs: Date.now() });
          return;
        case "plan": {
          const problem = acceptPlan(message.plan, expected, options);
          if (typeof problem === "string") {
            refuse(problem);
            return;
          }
          mine.plan = problem.plan;
          mine.count = message.count;
          log(
            `plan ${planFingerprint(message.plan)}: segments ${message.segments.join(", ")} of ${message.count}, load to ${problem.plan.target.host}:${problem.plan.target.port} (${problem.allowance})`,
          );
          for (const index of message.segments) {
            mine.hosts.set(index, workerHost(index, message.count, events, options.workerEntry));
          }
          return;
        }
        case "start": {
          const host = mine.hosts.get(message.segment);
          if (host === undefined || mine.plan === undefined) {
            refuse(`start for segment ${message.segment}, which this agent was not given`);
            return;
          }
          host.start({
            plan: mine.plan,
            segment: { index: message.segment, count: mine.count },
            startAtMs: message.startAtMs,
          });
          return;
        }
        case "abort":
          for (const host of mine.hosts.values()) host.abort();
          return;
        case "conditions":
          for (const host of mine.hosts.values()) host.setConditions(message.conditions);
          return;
        case "bye":
          end("said bye");
          socket.end();
          return;
      }
    };
    readLines<ToAgent>(socket, handle, (problem) => refuse(`the coordinator sent ${problem}`));
    let ended = false;
    const end = (why: string) => {
      if (ended) return;
      ended = true;
      clearInterval(beat);
      for (const host of mine.hosts.values()) host.abort();
      // Free for the next coordinator at once; this one's worker threads end meanwhile.
      if (session === mine) session = undefined;
      void Promise.all([...mine.hosts.values()].map((h) => h.terminate())).then(() => {
        log(`coordinator ${mine.coordinator} ${why}: ${mine.hosts.size} segment(s) stopped; free again`);
        served++;
        if (options.once) stop(mine.failed ? 1 : 0);
        else armIdle();
      });
    };
    socket.on("end", () => end("gone"));
    socket.on("close", () => end("gone"));
    socket.on("error", (error) => {
      mine.failed = true;
      end(`lost (${error.message})`);
    });
  });

  let idle: NodeJS.Timeout | undefined;
  const armIdle = () => {
    if (!options.idleTimeoutS) return;
    clearTimeout(idle);
    idle = setTimeout(() => {
      log(`no coordinator came within ${options.idleTimeoutS} s: stopping`);
      stop(served > 0 ? 0 : 1);
    }, options.idleTimeoutS * 1000);
    idle.unref();
  };

  await new Promise<void>((resolve, reject) => {
    server.once("error", (error) =>
      reject(
        new Error(
          `agent: cannot listen on ${options.listen.host}:${options.listen.port}: ${errorMessage(error)}`,
        ),
      ),
    );
    server.listen(options.listen.port, options.listen.host, resolve);
  });
  armIdle();
  const bound = server.address() as net.AddressInfo;
  return {
    address: { host: bound.address, port: bound.port },
    name,
    stopped,
    close: () =>
      new Promise<void>((resolve) => {
        clearTimeout(idle);
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
        for (const host of session?.hosts.values() ?? []) void host.terminate();
      }),
  };
}

/** The plan this agent runs (its target where this agent reaches the switch), or why it refuses it. */
function acceptPlan(
  plan: RunPlan,
  expected: string | undefined,
  options: AgentOptions,
): { plan: RunPlan; allowance: string } | string {
  if (expected !== undefined && planFingerprint(plan) !== expected) {
    return `the coordinator's plan (${planFingerprint(plan)}) is not the plan in ${options.planFile} (${expected}): run the profile the manifests were exported from`;
  }
  const target = options.switchAt ?? plan.target;
  const allowance = targetAllowance(target.host, options.allowRemote ?? false);
  if (allowance === null) {
    return `target ${target.host}:${target.port} is outside loopback and the project's test hosts; start the agent with --allow-remote to load a remote switch`;
  }
  try {
    return {
      plan: resolvePlan({ ...plan, target: { host: target.host, port: target.port, allowRemote: true } }),
      allowance,
    };
  } catch (error) {
    return errorMessage(error);
  }
}

function readPlanFile(file: string): string {
  let plan: RunPlan;
  try {
    plan = JSON.parse(readFileSync(file, "utf8")) as RunPlan;
    // Resolved as the coordinator resolves its plan (defaults filled in), so equal loads have equal prints.
    plan = resolvePlan({ ...plan, target: { ...plan.target, allowRemote: true } });
  } catch (error) {
    throw new Error(`agent: --plan ${file}: ${errorMessage(error)}`);
  }
  return planFingerprint(plan);
}
