import { join } from "node:path";
import type { Argv } from "yargs";
import { REPO_ROOT } from "../../shared/repo.ts";

// The positional profile and the options every command that runs a profile takes (run, capacity, timeouts),
// written once.

export interface LabRunArgs {
  profile: string;
  runtime: "containers" | "local" | undefined;
  segments: number | undefined;
  "allow-remote": boolean;
  "reports-dir": string;
}

export const withLabRunOptions = <T>(y: Argv<T>): Argv<T & LabRunArgs> =>
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
    .option("segments", {
      type: "number",
      describe:
        "fleet segments, one worker thread each (default: one per 3,000 operations/s of the profile's peak, or one per 512 loops of the closed model, at most one per core)",
    })
    .option("allow-remote", {
      type: "boolean",
      default: false,
      describe: "allow a target outside 127.0.0.0/8",
    })
    .option("reports-dir", { type: "string", default: join(REPO_ROOT, "reports") }) as Argv<T & LabRunArgs>;

/** The options runCompiled takes from them. */
export const labRunOptionsOf = (argv: LabRunArgs) => ({
  ...(argv.runtime ? { runtime: argv.runtime } : {}),
  ...(argv.segments !== undefined ? { segments: argv.segments } : {}),
  allowRemote: argv["allow-remote"],
});
