import type { CommandModule } from "yargs";
import { runTimeouts } from "../../timeouts/timeouts.ts";
import { type LabRunArgs, labRunOptionsOf, withLabRunOptions } from "./options.ts";

interface TimeoutsArgs extends LabRunArgs {
  terminal: string | undefined;
  switch: string | undefined;
  "static-only": boolean;
}

/** `2000,5000,8000` → [2000, 5000, 8000]; a value that is not a number is refused by name. */
function msList(text: string | undefined, flag: string): number[] | undefined {
  if (text === undefined) return undefined;
  return text.split(",").map((part) => {
    const value = Number(part.trim());
    if (part.trim() === "" || !Number.isFinite(value) || value <= 0)
      throw new Error(
        `--${flag}: "${part}" is not a timeout in milliseconds (e.g. --${flag} 2000,5000,8000)`,
      );
    return value;
  });
}

export const timeoutsCommand: CommandModule<object, TimeoutsArgs> = {
  command: "timeouts <profile>",
  describe:
    "Check the profile's timeout chain (terminal > switch budget > backends, SYN retries, retries, echo, reversals), then run a matrix of terminal × switch timeouts and recommend a setting",
  builder: (y) =>
    withLabRunOptions(y)
      .option("terminal", {
        type: "string",
        describe:
          "terminal response timeouts to try, ms, comma-separated (default: the profile's, halved and doubled)",
      })
      .option("switch", {
        type: "string",
        describe:
          "switch issuer timeouts to try, ms, comma-separated (default: the profile's, halved and doubled)",
      })
      .option("static-only", { type: "boolean", default: false, describe: "the static check only: no runs" })
      .epilogue(
        "Each matrix cell is a whole run of the profile (its load, faults and SLOs) with the two settings. Exit: 0 the chain passes and a cell meets the SLOs with no one-sided transaction; 1 a static rule fails or no cell does; 2 a cell could not run, Ctrl-C, or a harness failure.",
      ),
  handler: async (argv) => {
    const terminalMs = msList(argv.terminal, "terminal");
    const switchMs = msList(argv.switch, "switch");
    const result = await runTimeouts({
      profile: argv.profile,
      reportsDir: argv["reports-dir"],
      ...(terminalMs ? { terminalMs } : {}),
      ...(switchMs ? { switchMs } : {}),
      staticOnly: argv["static-only"],
      ...labRunOptionsOf(argv),
    });
    process.exitCode = result.verdict.exitCode;
  },
};
