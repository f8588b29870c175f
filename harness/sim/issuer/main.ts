// Standalone issuer simulator: `node harness/sim/issuer/main.ts [--config file.json]`, settings also from
// POSSTORM_ISSUER_* environment variables (settings.ts). See harness/sim/common/program.ts for the contract.
import { runProgram } from "../common/program.ts";
import { startIssuer } from "./server.ts";
import { resolveIssuerConfig } from "./settings.ts";

await runProgram({
  name: "issuer",
  load: resolveIssuerConfig,
  start: (config, log) => startIssuer(config, { log }),
});
