import type { CommandModule } from "yargs";
import { agentCommand } from "./agent.ts";
import { capacityCommand } from "./capacity.ts";
import { chaosCommand } from "./chaos.ts";
import { compareCommand } from "./compare.ts";
import { decodeCommand } from "./decode.ts";
import { doctorCommand } from "./doctor.ts";
import { exportCommand } from "./export.ts";
import { labCommand } from "./lab.ts";
import { rehearseCommand } from "./rehearse.ts";
import { reportCommand } from "./report.ts";
import { runCommand } from "./run.ts";
import { selftestCommand } from "./selftest.ts";
import { terminalsCommand } from "./terminals.ts";
import { timeoutsCommand } from "./timeouts.ts";

// One file per command; this list is the only place they are wired in.
// biome-ignore lint/suspicious/noExplicitAny: yargs command modules differ in their argv types.
export const commands: CommandModule<any, any>[] = [
  doctorCommand,
  labCommand,
  decodeCommand,
  selftestCommand,
  chaosCommand,
  runCommand,
  rehearseCommand,
  reportCommand,
  compareCommand,
  capacityCommand,
  timeoutsCommand,
  terminalsCommand,
  agentCommand,
  exportCommand,
];
