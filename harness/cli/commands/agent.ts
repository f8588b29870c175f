import type { CommandModule } from "yargs";
import { AGENT_PORT, parseHostPort, serveAgent } from "../../fleet/index.ts";
import { onShutdown } from "../../shared/shutdown.ts";

// `posstorm agent`: fleet segments for a coordinator (`posstorm run <profile> --agents …`). The work lives in
// harness/fleet/agents/agent.ts.

interface AgentArgs {
  listen: string;
  name: string | undefined;
  index: number | undefined;
  segments: number | undefined;
  plan: string | undefined;
  switch: string | undefined;
  "allow-remote": boolean;
  once: boolean;
  "idle-timeout-s": number;
}

export const agentCommand: CommandModule<object, AgentArgs> = {
  command: "agent",
  describe:
    "Run fleet segments for a coordinator (posstorm run --agents host:port,…): listens, takes one coordinator at a time, streams its segments' data back",
  builder: (y) =>
    y
      .option("listen", {
        type: "string",
        default: `127.0.0.1:${AGENT_PORT}`,
        describe: "host:port to listen on (0.0.0.0:7070 in a pod; port 0 picks a free one)",
      })
      .option("name", {
        type: "string",
        describe:
          "the agent's name in the coordinator's reports: 1-64 letters, digits, '.', '_' or '-' (default agent-<index> with --index, else the host name)",
      })
      .option("index", {
        type: "number",
        describe:
          "the agent's index (a Kubernetes Indexed Job's JOB_COMPLETION_INDEX; read from that variable when unset)",
      })
      .option("segments", {
        type: "number",
        describe: "segments it offers, one worker thread each (default: one per core)",
      })
      .option("plan", {
        type: "string",
        describe:
          "a run plan file (the exported ConfigMap's plan.json): refuse a coordinator whose plan differs",
      })
      .option("switch", {
        type: "string",
        describe:
          "host:port where this agent reaches the switch (default: the address the coordinator gives)",
      })
      .option("allow-remote", {
        type: "boolean",
        default: false,
        describe: "allow a target outside 127.0.0.0/8 and the project's test hosts",
      })
      .option("once", {
        type: "boolean",
        default: false,
        describe: "serve one coordinator, then exit (its exit code: 0 unless that run failed)",
      })
      .option("idle-timeout-s", {
        type: "number",
        default: 0,
        describe: "exit 1 when no coordinator has come within this many seconds (0: wait for ever)",
      }),
  handler: async (argv) => {
    const envIndex = process.env.JOB_COMPLETION_INDEX;
    const index = argv.index ?? (envIndex !== undefined && envIndex !== "" ? Number(envIndex) : undefined);
    if (index !== undefined && (!Number.isInteger(index) || index < 0)) {
      throw new Error(`--index (or JOB_COMPLETION_INDEX): ${index} is not a whole number >= 0`);
    }
    const log = (line: string) => console.error(`[agent] ${line}`);
    const agent = await serveAgent({
      listen: parseHostPort(argv.listen, "--listen", AGENT_PORT, 0),
      ...(argv.name !== undefined
        ? { name: argv.name }
        : index !== undefined
          ? { name: `agent-${index}` }
          : {}),
      ...(argv.segments !== undefined ? { segments: argv.segments } : {}),
      ...(argv.plan !== undefined ? { planFile: argv.plan } : {}),
      ...(argv.switch !== undefined ? { switchAt: parseHostPort(argv.switch, "--switch", 0) } : {}),
      allowRemote: argv["allow-remote"],
      once: argv.once,
      idleTimeoutS: argv["idle-timeout-s"],
      log,
    });
    log(`agent ${agent.name} listening on ${agent.address.host}:${agent.address.port}`);
    const unregister = onShutdown(() => agent.close());
    const code = await agent.stopped;
    unregister();
    await agent.close();
    process.exitCode = code;
  },
};
