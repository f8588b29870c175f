import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { CommandModule } from "yargs";
import { runProfile } from "../../run/run-profile.ts";
import { REPO_ROOT } from "../../shared/repo.ts";

interface RunArgs {
  profile: string;
  runtime: "containers" | "local" | undefined;
  "allow-remote": boolean;
  "reports-dir": string;
  quiet: boolean;
  segments: number | undefined;
}

export const runCommand: CommandModule<object, RunArgs> = {
  command: "run <profile>",
  describe: "Run a profile: lab up, the terminal fleet, faults on the timeline, run folder in reports/",
  builder: (y) =>
    y
      .positional("profile", {
        type: "string",
        demandOption: true,
        describe: "a name under profiles/ or a path",
      })
      .option("runtime", {
        choices: ["containers", "local"] as const,
        describe: "override the profile's lab runtime",
      })
      .option("allow-remote", {
        type: "boolean",
        default: false,
        describe: "allow a target outside 127.0.0.0/8",
      })
      .option("reports-dir", { type: "string", default: join(REPO_ROOT, "reports") })
      .option("quiet", { type: "boolean", default: false, describe: "no live line" })
      .option("segments", {
        type: "number",
        describe: "fleet segments, one worker thread each (default: one per core)",
      }),
  handler: async (argv) => {
    const outcome = await runProfile({
      profile: argv.profile,
      reportsDir: argv["reports-dir"],
      runtime: argv.runtime,
      allowRemote: argv["allow-remote"],
      live: !argv.quiet,
      ...(argv.segments !== undefined ? { segments: argv.segments } : {}),
    });
    // In a CI job that collects step summaries (GITHUB_STEP_SUMMARY names a file), the verdict goes there too.
    const stepSummary = process.env.GITHUB_STEP_SUMMARY;
    const summary = join(outcome.runDir, "summary.md");
    if (stepSummary && existsSync(summary)) appendFileSync(stepSummary, `${readFileSync(summary, "utf8")}\n`);
    process.exitCode = outcome.exitCode;
  },
};
