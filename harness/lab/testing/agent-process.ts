import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "../../shared/repo.ts";
import type { TestHost } from "../test-hosts.ts";

// `posstorm agent` as a process of its own, for tests and benchmarks: on one of the project's test hosts
// (inside its network namespace, listening on its address, port 7070), or on loopback (a free port).

export interface AgentProcess {
  child: ChildProcess;
  /** host:port the coordinator connects to. */
  address: string;
  /** What it has said on stderr so far. */
  log: string[];
}

/** Starts the agent; resolves once it listens, rejects with what it said when it exits first. */
export async function startAgentProcess(o: {
  name: string;
  segments: number;
  host?: TestHost;
}): Promise<AgentProcess> {
  const agent = [
    join(REPO_ROOT, "harness/cli/main.ts"),
    "agent",
    "--listen",
    o.host ? `${o.host.address}:7070` : "127.0.0.1:0",
    "--name",
    o.name,
    "--segments",
    String(o.segments),
  ];
  // `ip netns exec` execs the agent in place: the child's pid is the agent's.
  const child = o.host
    ? spawn("ip", ["netns", "exec", o.host.netns, process.execPath, ...agent], {
        stdio: ["ignore", "ignore", "pipe"],
      })
    : spawn(process.execPath, agent, { stdio: ["ignore", "ignore", "pipe"] });
  const log: string[] = [];
  const address = await new Promise<string>((resolve, reject) => {
    child.stderr!.setEncoding("utf8").on("data", (text: string) => {
      log.push(text);
      const listening = /listening on (\S+)/.exec(log.join(""));
      if (listening) resolve(listening[1]!);
    });
    child.once("exit", (code) => reject(new Error(`agent ${o.name} exited ${code}: ${log.join("")}`)));
  });
  return { child, address, log };
}

/** SIGKILL, and wait until it has gone. */
export function killAgentProcess(agent: AgentProcess): Promise<void> {
  const { child } = agent;
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}
