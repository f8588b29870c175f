#!/usr/bin/env node
// The reference switch as a program: `node harness/sim/switch/main.ts [--config file.json]`. Settings come from
// the defaults, the JSON file, then POSSTORM_SWITCH_* variables (README.md). See harness/sim/common/program.ts
// for the contract (ready line, exit codes, signals).
import { runProgram } from "../common/program.ts";
import { loadSwitchConfig } from "./config.ts";
import { startSwitch } from "./switch.ts";

await runProgram({
  name: "switch",
  load: loadSwitchConfig,
  start: (config, log) => startSwitch(config, { log }),
});
