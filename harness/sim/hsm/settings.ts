import { DEFAULT_LAB_KEY_HEX } from "../../protocol/index.ts";
import { ConfigError, type ConfigSpec, type LoadSources, loadConfig } from "../common/config.ts";

export const PROGRAM = "hsm";

/** The HSM simulator's settings; `runtime` ones change through PUT /config. */
export const hsmSettings = {
  host: { type: "string", default: "127.0.0.1", env: "POSSTORM_HSM_HOST", help: "listen address" },
  port: {
    type: "int",
    default: 0,
    min: 0,
    max: 65535,
    env: "POSSTORM_HSM_PORT",
    help: "host command port (0 = a free port)",
  },
  adminPort: {
    type: "int",
    default: 0,
    min: 0,
    max: 65535,
    env: "POSSTORM_HSM_ADMIN_PORT",
    help: "admin HTTP port (0 = a free port)",
  },
  labKeyHex: {
    type: "string",
    default: DEFAULT_LAB_KEY_HEX,
    env: "POSSTORM_HSM_LAB_KEY_HEX",
    help: "lab key, 32 hex digits: TMK = deriveTmk(labKey, TID)",
  },
  terminalKeysFile: {
    type: "string",
    default: "",
    env: "POSSTORM_HSM_TERMINAL_KEYS_FILE",
    help: "a terminal list (tid, tmk, kcv: harness/protocol/crypto/terminalList.ts): TMKs from it, not from the lab key; a TID not in it gets error 15",
  },
  capacityPerSecond: {
    type: "number",
    default: 0,
    min: 0,
    env: "POSSTORM_HSM_CAPACITY_PER_SECOND",
    runtime: true,
    help: "calls started per second (token bucket of one call; 0 = unlimited)",
  },
  serviceTimeMs: {
    type: "number",
    default: 1,
    min: 0,
    max: 600_000,
    env: "POSSTORM_HSM_SERVICE_TIME_MS",
    runtime: true,
    help: "time one call keeps a worker busy, in ms",
  },
  workers: {
    type: "int",
    default: 4,
    min: 1,
    max: 10_000,
    env: "POSSTORM_HSM_WORKERS",
    runtime: true,
    help: "calls served at the same time",
  },
  maxQueue: {
    type: "int",
    default: 1000,
    min: 0,
    env: "POSSTORM_HSM_MAX_QUEUE",
    runtime: true,
    help: "calls waiting beyond which a new call is answered 90 (busy) at once",
  },
  maxFrameBytes: {
    type: "int",
    default: 4096,
    min: 16,
    max: 65535,
    env: "POSSTORM_HSM_MAX_FRAME_BYTES",
    help: "largest request accepted, in bytes; a larger length closes the connection",
  },
} satisfies ConfigSpec;

export interface HsmConfig {
  host: string;
  port: number;
  adminPort: number;
  /** 32 hex digits (a 16-byte 3DES key). */
  labKeyHex: string;
  /** A terminal list file: TMKs from it instead of deriveTmk(labKey, TID) ("" = derive). */
  terminalKeysFile: string;
  /** Calls started per second; 0 = unlimited. */
  capacityPerSecond: number;
  serviceTimeMs: number;
  workers: number;
  maxQueue: number;
  maxFrameBytes: number;
}

/** What startHsm takes: any subset of the settings (the rest default). */
export type HsmOptions = Partial<HsmConfig>;

/** Resolves the settings (defaults ← file ← env ← overrides) or throws one ConfigError naming every bad value. */
export function resolveHsmConfig(sources: LoadSources): HsmConfig {
  const config = loadConfig(PROGRAM, hsmSettings, sources) as unknown as HsmConfig;
  if (!/^[0-9A-Fa-f]{32}$/.test(config.labKeyHex)) {
    throw new ConfigError(PROGRAM, [
      `labKeyHex (from ${sourceOf("labKeyHex", sources)}) must be 32 hex digits, got ${config.labKeyHex.length} characters` +
        (/^[0-9A-Fa-f]*$/.test(config.labKeyHex) ? "" : " with non-hex ones"),
    ]);
  }
  return config;
}

function sourceOf(name: keyof typeof hsmSettings, sources: LoadSources): string {
  if (sources.overrides && name in sources.overrides) return "overrides";
  if (sources.env?.[hsmSettings[name].env] !== undefined) return `env ${hsmSettings[name].env}`;
  if (sources.file && name in sources.file.values) return sources.file.path;
  return "default";
}
