// What every lab program's main.ts does: `node main.ts [--config file.json]`, settings from the JSON
// file and POSSTORM_<PROGRAM>_* variables, one `posstorm-<name> ready port=<p> admin=<a>` line once
// listening, exit 2 on a bad setting or a failed start, exit 0 after SIGTERM/SIGINT.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { LoadSources } from "./config.ts";

export interface RunningProgram {
  port: number;
  adminPort: number;
  close(): Promise<void>;
}

export interface ProgramDefinition<C> {
  /** `switch`, `hsm`, `issuer`: the ready line says `posstorm-<name>`. */
  name: string;
  /** Resolves the configuration; throws ConfigError with every bad value. */
  load(sources: LoadSources): C;
  start(config: C, log: (line: string) => void): Promise<RunningProgram>;
}

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

export async function runProgram<C>(
  definition: ProgramDefinition<C>,
  argv = process.argv.slice(2),
): Promise<void> {
  const label = `posstorm-${definition.name}`;
  const log = (line: string) => console.log(`${label}: ${line}`);
  let running: RunningProgram;
  try {
    const { values } = parseArgs({
      args: argv,
      options: { config: { type: "string" } },
      allowPositionals: false,
    });
    const config = definition.load({
      ...(values.config ? { file: readConfigFile(values.config) } : {}),
      env: process.env,
    });
    running = await definition.start(config, log);
  } catch (error) {
    console.error(`${label}: ${(error as Error).message}`);
    process.exitCode = 2;
    return;
  }
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}, closing`);
    setTimeout(() => process.exit(0), 5_000).unref();
    void running.close().finally(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  console.log(`${label} ready port=${running.port} admin=${running.adminPort}`);
}
