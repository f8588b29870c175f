#!/usr/bin/env node
// The reference switch as a program: `node harness/sim/switch/main.ts [--config file.json]`. Settings come from
// the defaults, the JSON file, then POSSTORM_SWITCH_* variables (README.md). Prints
// `posstorm-switch ready port=<port> admin=<adminPort>` once listening; SIGTERM/SIGINT close it (exit 0); a bad
// setting or a failed start exits 2.

import { readFileSync } from "node:fs";
import { ConfigError } from "../common/config.ts";
import { loadSwitchConfig } from "./config.ts";
import { startSwitch } from "./switch.ts";

const fail = (message: string): never => {
  console.error(`posstorm-switch: ${message}`);
  process.exit(2);
};

function readConfigFile(argv: string[]): { path: string; values: Record<string, unknown> } | undefined {
  const at = argv.findIndex((a) => a === "--config" || a.startsWith("--config="));
  if (at < 0) return undefined;
  const arg = argv[at]!;
  const path = arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : argv[at + 1];
  if (!path) return fail("--config needs a file path");
  let values: unknown;
  try {
    values = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    return fail(`cannot read config file ${path}: ${(error as Error).message}`);
  }
  if (typeof values !== "object" || values === null || Array.isArray(values)) {
    return fail(`config file ${path} must hold a JSON object of settings`);
  }
  return { path, values: values as Record<string, unknown> };
}

async function main(): Promise<void> {
  const unknown = process.argv
    .slice(2)
    .filter((a, i, all) => !a.startsWith("--config") && all[i - 1] !== "--config");
  if (unknown.length > 0) fail(`unknown argument ${unknown[0]}; usage: main.ts [--config file.json]`);
  let config: ReturnType<typeof loadSwitchConfig>;
  try {
    config = loadSwitchConfig({ file: readConfigFile(process.argv.slice(2)), env: process.env });
  } catch (error) {
    if (error instanceof ConfigError) return fail(error.message);
    throw error;
  }
  let running: Awaited<ReturnType<typeof startSwitch>>;
  try {
    running = await startSwitch(config);
  } catch (error) {
    return fail(`cannot start: ${(error as Error).message}`);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`posstorm-switch: ${signal}, closing`);
    const forced = setTimeout(() => process.exit(0), 5_000);
    forced.unref();
    void running.close().finally(() => process.exit(0));
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  console.log(`posstorm-switch ready port=${running.port} admin=${running.adminPort}`);
}

await main();
