import net from "node:net";
import { describe, expect, it } from "vitest";
import { agentLinkName } from "../../lab/lab.ts";
import { serveAgent } from "./agent.ts";
import { AGENT_PROTOCOL, agentNameProblem, type FromAgent } from "./protocol.ts";
import { connectAgents } from "./remote.ts";

describe("agent names", () => {
  it("takes host names and --name values of letters, digits, '.', '_' and '-', up to 64", () => {
    for (const name of ["h1", "agent-0", "pos-gen.eu-west-1.internal", "A_B", "x".repeat(64)]) {
      expect(agentNameProblem(name)).toBeUndefined();
    }
  });

  it("refuses a name that would break a log line, a report or a link name, and shows it escaped", () => {
    expect(agentNameProblem("")).toMatch(/the name "" is not 1-64 letters/);
    expect(agentNameProblem("h1\nfaults cleared")).toBe(
      `the name "h1\\nfaults cleared" is not 1-64 letters, digits, '.', '_' or '-'`,
    );
    expect(agentNameProblem("\u001b[31mred")).toMatch(/"\\u001b\[31mred"/);
    expect(agentNameProblem("a b")).toBeDefined();
    expect(agentNameProblem("x".repeat(65))).toBeDefined();
    expect(agentNameProblem("y".repeat(500))).toMatch(/^the name "y{64}…" is not/);
  });

  it("an agent refuses to start under such a name", async () => {
    await expect(serveAgent({ listen: { host: "127.0.0.1", port: 0 }, name: "h1 h2" })).rejects.toThrow(
      `agent: the name "h1 h2" is not 1-64 letters, digits, '.', '_' or '-' (give --name)`,
    );
  });

  it("a coordinator refuses an agent whose welcome carries such a name, naming the agent's address", async () => {
    const welcome: FromAgent = {
      type: "welcome",
      protocol: AGENT_PROTOCOL,
      agent: "h1\nrun passed",
      segments: 1,
      host: "h1",
      pid: 1,
    };
    const closed: Promise<void>[] = [];
    const fake = net.createServer((socket) => {
      closed.push(new Promise((resolve) => socket.on("close", () => resolve())));
      socket.once("data", () => socket.write(`${JSON.stringify(welcome)}\n`));
    });
    await new Promise<void>((resolve) => fake.listen(0, "127.0.0.1", resolve));
    const { port } = fake.address() as net.AddressInfo;
    try {
      await expect(connectAgents([`127.0.0.1:${port}`], "run-1")).rejects.toThrow(
        `agent 127.0.0.1:${port}: the name "h1\\nrun passed" is not 1-64 letters, digits, '.', '_' or '-'`,
      );
      await Promise.all(closed); // and it hung up
    } finally {
      fake.close();
    }
  });

  it("the link its load goes through is agent-<name> in lower case", () => {
    expect(agentLinkName("H1")).toBe("agent-h1");
    expect(agentLinkName("pos-gen.eu_1")).toBe("agent-pos-gen-eu-1");
  });
});
