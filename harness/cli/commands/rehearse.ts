import type { CommandModule } from "yargs";
import { loadProfile } from "../../profile/compile.ts";
import { rehearsalRun } from "../../run/rehearse.ts";
import { runCompiled } from "../../run/run-profile.ts";
import { type LabRunArgs, labRunOptionsOf, withLabRunOptions } from "./options.ts";

interface RehearseArgs extends LabRunArgs {
  "max-s": number;
  "live-port": number | undefined;
  quiet: boolean;
}

export const rehearseCommand: CommandModule<object, RehearseArgs> = {
  command: "rehearse <profile>",
  describe:
    "A game day: the profile's load kept up until you end it (Ctrl-C or the live page's End rehearsal: faults cleared, then the report) or --max-s, its planned faults, and faults by hand from the live page or `posstorm chaos apply --run <id>`; a second Ctrl-C interrupts",
  builder: (y) =>
    withLabRunOptions(y)
      .option("max-s", {
        type: "number",
        default: 900,
        describe: "the rehearsal ends by itself after this many seconds of load",
      })
      .option("live-port", {
        type: "number",
        describe: "port of the live view on 127.0.0.1 (default: a free one, printed at start)",
      })
      .option("quiet", { type: "boolean", default: false, describe: "no live line" }),
  handler: async (argv) => {
    const { compiled } = await loadProfile(argv.profile);
    const outcome = await runCompiled(rehearsalRun(compiled, argv["max-s"]), {
      reportsDir: argv["reports-dir"],
      ...labRunOptionsOf(argv),
      ...(argv["live-port"] !== undefined ? { livePort: argv["live-port"] } : {}),
      live: !argv.quiet,
      endByHand: true,
    });
    process.exitCode = outcome.exitCode;
  },
};
