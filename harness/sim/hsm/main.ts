// Standalone HSM simulator: `node harness/sim/hsm/main.ts [--config file.json]`, settings also from
// POSSTORM_HSM_* environment variables (settings.ts). See harness/sim/common/program.ts for the contract.
import { runProgram } from "../common/program.ts";
import { startHsm } from "./server.ts";
import { resolveHsmConfig } from "./settings.ts";

await runProgram({ name: "hsm", load: resolveHsmConfig, start: (config, log) => startHsm(config, { log }) });
