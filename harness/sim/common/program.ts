// What every lab program shares. Its start function (startSwitch, startHsm, startIssuer) listens for
// traffic, then calls serveProgram to add the admin API and get one handle whose close() stops both.
// Its main.ts calls runProgram: `node main.ts [--config file.json]`, settings from the JSON file and
// POSSTORM_<PROGRAM>_* variables, one `posstorm-<name> ready port=<p> admin=<a>` line once listening,
// exit 2 on a bad setting or a failed start, exit 0 after SIGTERM/SIGINT.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { type AdminOptions, type AdminServer, startAdmin } from "./admin.ts";
import type { ConfigSpec, LoadSources } from "./config.ts";

export interface RunningProgram {
  port: number;
  adminPort: number;
  close(): Promise<void>;
}

/** A program's traffic listener, already listening (a FrameServer, or a net.Server behind this shape). */
export interface Listener {
  readonly port: number;
  /** Resolves once the listener is closed and its connections are gone. */
  close(): Promise<void>;
}

export interface ServeOptions<S extends ConfigSpec> {
  listener: Listener;
  /** The admin API started beside the listener (on `admin.port`, 0 for a free one). */
  admin: AdminOptions<S>;
  /** Stops the program's own work (queues, pools, timers, links): before the listener and the admin API close. */
  stop(): void;
}

/**
 * Starts the admin API beside a listening program. close() runs once (every call gets the same promise):
 * stop(), then the listener and the admin API close together. When the admin API cannot start, the program
 * is stopped, its listener closed, and the error thrown.
 */
export async function serveProgram<S extends ConfigSpec>(
  options: ServeOptions<S>,
): Promise<RunningProgram & AsyncDisposable> {
  const { listener, stop } = options;
  let admin: AdminServer;
  try {
    admin = await startAdmin(options.admin);
  } catch (error) {
    stop();
    await listener.close();
    throw error;
  }
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      stop();
      await Promise.all([listener.close(), admin.close()]);
    })();
    return closing;
  };
  return { port: listener.port, adminPort: admin.port, close, [Symbol.asyncDispose]: close };
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
