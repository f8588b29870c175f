// Standalone HSM simulator: `node harness/sim/hsm/main.ts [--config file.json]`, settings also from
// POSSTORM_HSM_* environment variables (settings.ts). Prints `posstorm-hsm ready port=<p> admin=<a>` once
// listening; exits 2 on a bad setting, 0 after SIGTERM/SIGINT.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { startHsm } from "./server.ts";
import { resolveHsmConfig } from "./settings.ts";

const NAME = "posstorm-hsm";

function readConfigFile(path: string): { path: string; values: Record<string, unknown> } {
  let values: unknown;
  try {
    values = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new Error(`cannot read config file ${path}: ${(error as Error).message}`);
  }
  if (typeof values !== "object" || values === null || Array.isArray(values)) {
    throw new Error(`config file ${path} must hold a JSON object of settings`);
  }
  return { path, values: values as Record<string, unknown> };
}

try {
  const { values } = parseArgs({ options: { config: { type: "string" } }, allowPositionals: false });
  const config = resolveHsmConfig({
    ...(values.config ? { file: readConfigFile(values.config) } : {}),
    env: process.env,
  });
  const hsm = await startHsm(config, { log: (line) => console.log(`${NAME}: ${line}`) });
  console.log(`${NAME} ready port=${hsm.port} admin=${hsm.adminPort}`);
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(0);
    stopping = true;
    console.log(`${NAME}: ${signal}, closing`);
    setTimeout(() => process.exit(0), 5000).unref();
    void hsm.close().finally(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
} catch (error) {
  console.error(`${NAME}: ${(error as Error).message}`);
  process.exitCode = 2;
}
