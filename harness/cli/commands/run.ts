import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { CommandModule } from "yargs";
import { runProfile } from "../../run/run-profile.ts";
import { type LabRunArgs, labRunOptionsOf, withLabRunOptions } from "./options.ts";

interface RunArgs extends LabRunArgs {
  quiet: boolean;
  agents: string | undefined;
}

export const runCommand: CommandModule<object, RunArgs> = {
  command: "run <profile>",
  describe: "Run a profile: lab up, the terminal fleet, faults on the timeline, run folder in reports/",
  builder: (y) =>
    withLabRunOptions(y)
      .option("quiet", { type: "boolean", default: false, describe: "no live line" })
      .option("agents", {
        type: "string",
        describe:
          "run the fleet's segments on these agents (`posstorm agent`), host:port,host:port…: one merged report; each agent's load goes through a link of its own, agent-<name>",
      }),
  handler: async (argv) => {
    const outcome = await runProfile({
      profile: argv.profile,
      reportsDir: argv["reports-dir"],
      ...labRunOptionsOf(argv),
      live: !argv.quiet,
      ...(argv.agents !== undefined ? { agents: agentList(argv.agents) } : {}),
    });
    // In a CI job that collects step summaries (GITHUB_STEP_SUMMARY names a file), the verdict goes there too.
    const stepSummary = process.env.GITHUB_STEP_SUMMARY;
    const summary = join(outcome.runDir, "summary.md");
    if (stepSummary && existsSync(summary)) appendFileSync(stepSummary, `${readFileSync(summary, "utf8")}\n`);
    process.exitCode = outcome.exitCode;
  },
};

/** `a:7070, b:7070` → its addresses; none is a usage error. */
function agentList(text: string): string[] {
  const list = text
    .split(",")
    .map((a) => a.trim())
    .filter(Boolean);
  if (list.length === 0)
    throw new Error(`--agents: ${JSON.stringify(text)} names no agent (host:port,host:port…)`);
  return list;
}
