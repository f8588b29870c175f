import yargs, { type Argv } from "yargs";
import { commands } from "./commands/index.ts";

/** The posstorm command line, built without parsing so tests can drive it with their own argv. */
export function buildParser(argv: readonly string[]): Argv {
  let parser = yargs([...argv])
    .scriptName("posstorm")
    .strict()
    .demandCommand(1, "name a command; `posstorm --help` lists them")
    .recommendCommands()
    .help()
    .version(false)
    .fail((message, error, y) => {
      if (error) throw error;
      y.showHelp();
      console.error(`\n${message}`);
      process.exit(2);
    });
  for (const command of commands) parser = parser.command(command);
  return parser;
}
