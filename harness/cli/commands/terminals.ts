import { writeFileSync } from "node:fs";
import type { CommandModule } from "yargs";
import { tidOf } from "../../fleet/schedule.ts";
import { exportTerminalKeys, labTerminalKeys, readTerminalKeys } from "../../fleet/terminal-keys.ts";
import { loadProfile, runPlanOf } from "../../profile/compile.ts";
import { fromHex } from "../../protocol/index.ts";

interface ExportArgs {
  profile: string;
  format: "csv" | "json";
  zmk: string | undefined;
  out: string | undefined;
}

const exportCommand: CommandModule<object, ExportArgs> = {
  command: "export <profile>",
  describe:
    "Write the profile's terminals (TID, MID, TMK clear or under a zone master key, KCV) for your switch or HSM to import",
  builder: (y) =>
    y
      .positional("profile", {
        type: "string",
        demandOption: true,
        describe: "a name under profiles/ or a path",
      })
      .option("format", { choices: ["csv", "json"] as const, default: "csv" as const })
      .option("zmk", {
        type: "string",
        describe: "zone master key, 32 or 48 hex digits: each TMK is written encrypted under it (3DES-ECB)",
      })
      .option("out", { type: "string", describe: "write here (mode 0600) instead of standard output" }),
  handler: async (argv) => {
    if (argv.zmk !== undefined && !/^([0-9a-fA-F]{32}|[0-9a-fA-F]{48})$/.test(argv.zmk))
      throw new Error("--zmk: a zone master key is 32 or 48 hex digits");
    const { compiled } = await loadProfile(argv.profile);
    const t = compiled.terminal;
    // The terminals the fleet uses: the profile's own list, or the lab's TIDs with keys from the lab key.
    const keys = t.keysFile
      ? readTerminalKeys(t.keysFile).slice(0, compiled.terminals)
      : labTerminalKeys(
          fromHex(runPlanOf(compiled, { runId: "export" }).labKeyHex),
          Array.from({ length: compiled.terminals }, (_, i) => tidOf(t.tidPrefix, t.firstTid + i)),
        );
    const text = exportTerminalKeys(
      keys.map((k) => ({ tid: k.tid, mid: k.mid ?? t.merchantId, tmk: k.tmk })),
      { format: argv.format, ...(argv.zmk ? { zmkHex: argv.zmk } : {}) },
    );
    if (argv.out) {
      writeFileSync(argv.out, text, { mode: 0o600 });
      console.error(
        `${keys.length} terminal(s) → ${argv.out}${argv.zmk ? " (TMKs under the ZMK)" : " (clear TMKs: keep the file safe)"}`,
      );
    } else process.stdout.write(text);
  },
};

export const terminalsCommand: CommandModule = {
  command: "terminals <command>",
  describe: "The fleet's terminals and their keys",
  builder: (y) => y.command(exportCommand).demandCommand(1),
  handler: () => undefined,
};
