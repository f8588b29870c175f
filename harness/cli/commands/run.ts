import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { CommandModule } from "yargs";
import { runProfile } from "../../run/run-profile.ts";
import { type LabRunArgs, labRunOptionsOf, withLabRunOptions } from "./options.ts";

interface RunArgs extends LabRunArgs {
  quiet: boolean;
}

export const runCommand: CommandModule<object, RunArgs> = {
  command: "run <profile>",
  describe: "Run a profile: lab up, the terminal fleet, faults on the timeline, run folder in reports/",
  builder: (y) =>
    withLabRunOptions(y).option("quiet", { type: "boolean", default: false, describe: "no live line" }),
  handler: async (argv) => {
    const outcome = await runProfile({
      profile: argv.profile,
      reportsDir: argv["reports-dir"],
      ...labRunOptionsOf(argv),
      live: !argv.quiet,
    });
    // In a CI job that collects step summaries (GITHUB_STEP_SUMMARY names a file), the verdict goes there too.
    const stepSummary = process.env.GITHUB_STEP_SUMMARY;
    const summary = join(outcome.runDir, "summary.md");
    if (stepSummary && existsSync(summary)) appendFileSync(stepSummary, `${readFileSync(summary, "utf8")}\n`);
    process.exitCode = outcome.exitCode;
  },
};
