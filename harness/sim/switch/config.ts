import { readFileSync } from "node:fs";
import {
  DEFAULT_LAB_KEY_HEX,
  fromHex,
  type MacAlgorithm,
  parseTerminalKeys,
  type TerminalKey,
  TerminalKeysError,
} from "../../protocol/index.ts";
import { ConfigError, type ConfigSpec, type LoadSources, loadConfig } from "../common/config.ts";

// The reference switch's settings as data (README.md beside this file lists them). Maps and the fleet are
// lists of strings so that an environment variable can carry them (`62=issuer-a,4=issuer-b`); a JSON file, a
// `startSwitch` call or PUT /config may also give them as objects, normalized by `normalizeSwitchInput`.

export const PROGRAM = "switch";

export const switchSpec = {
  host: {
    type: "string",
    default: "127.0.0.1",
    env: "POSSTORM_SWITCH_HOST",
    help: "terminal listener address",
  },
  port: {
    type: "int",
    default: 0,
    min: 0,
    max: 65535,
    env: "POSSTORM_SWITCH_PORT",
    help: "terminal listener port (0 = a free port)",
  },
  listenBacklog: {
    type: "int",
    default: 4096,
    min: 1,
    max: 65535,
    env: "POSSTORM_SWITCH_LISTEN_BACKLOG",
    help: "connections accepted by the kernel and not yet by the switch; more are dropped as SYNs (the kernel caps it at net.core.somaxconn)",
  },
  adminPort: {
    type: "int",
    default: 0,
    min: 0,
    max: 65535,
    env: "POSSTORM_SWITCH_ADMIN_PORT",
    help: "admin HTTP port: /healthz, /metrics, /config (0 = a free port)",
  },
  hsm: {
    type: "string",
    default: "127.0.0.1:1500",
    env: "POSSTORM_SWITCH_HSM",
    help: "HSM host:port (the lab points it at the `hsm` Toxiproxy proxy)",
  },
  hsmPoolSize: {
    type: "int",
    default: 2,
    min: 1,
    max: 64,
    env: "POSSTORM_SWITCH_HSM_POOL_SIZE",
    runtime: true,
    help: "persistent connections to the HSM; requests are pipelined on each",
  },
  issuers: {
    type: "string[]",
    default: [],
    env: "POSSTORM_SWITCH_ISSUERS",
    help: "issuer links, `name=host:port` each (object form {name: host:port} in JSON)",
  },
  routes: {
    type: "string[]",
    default: [],
    env: "POSSTORM_SWITCH_ROUTES",
    runtime: true,
    help: "card BIN prefix → issuer link, `prefix=name` each (object form {prefix: name}); longest prefix wins",
  },
  fleet: {
    type: "string[]",
    default: [],
    env: "POSSTORM_SWITCH_FLEET",
    runtime: true,
    help: "terminals allowed: `PREFIX*COUNT` ranges (POS*10000 = POS00001..POS10000) or 8-character TIDs; empty = any TID",
  },
  labKeyHex: {
    type: "string",
    default: DEFAULT_LAB_KEY_HEX,
    env: "POSSTORM_SWITCH_LAB_KEY_HEX",
    help: "lab key (32 hex digits) the terminal master keys derive from (deriveTmk)",
  },
  terminalKeysFile: {
    type: "string",
    default: "",
    env: "POSSTORM_SWITCH_TERMINAL_KEYS_FILE",
    help: "a terminal list (tid, tmk, kcv: harness/protocol/crypto/terminalList.ts): TMKs from it, not from the lab key",
  },
  macAlgorithm: {
    type: "string",
    default: "cup-ecb",
    oneOf: ["cup-ecb", "x9.19", "x9.19-ascii"],
    env: "POSSTORM_SWITCH_MAC_ALGORITHM",
    help: "F64 algorithm of terminal messages",
  },
  minSoftwareVersion: {
    type: "string",
    default: "",
    env: "POSSTORM_SWITCH_MIN_SOFTWARE_VERSION",
    runtime: true,
    help: "the oldest terminal software (the header's 6-digit software version) served; older is answered 40; empty = any",
  },
  keyLayouts: {
    type: "string[]",
    default: ["001", "003", "004"],
    env: "POSSTORM_SWITCH_KEY_LAYOUTS",
    runtime: true,
    help: "the sign-in key layouts (60.3 of the 0800: 001, 003, 004) the switch serves; another is answered 12",
  },
  acquirerId: {
    type: "string",
    default: "00010000",
    env: "POSSTORM_SWITCH_ACQUIRER_ID",
    help: "F32 the switch puts in replies that lack it (1-11 digits)",
  },
  issuerTimeoutMs: {
    type: "int",
    default: 30_000,
    min: 1,
    env: "POSSTORM_SWITCH_ISSUER_TIMEOUT_MS",
    runtime: true,
    help: "time from receiving a purchase or reversal to answering 98 when the issuer has not replied",
  },
  hsmTimeoutMs: {
    type: "int",
    default: 5_000,
    min: 1,
    env: "POSSTORM_SWITCH_HSM_TIMEOUT_MS",
    runtime: true,
    help: "wait for the HSM's working keys before answering a sign-in A7",
  },
  idleTimeoutMs: {
    type: "int",
    default: 180_000,
    min: 1,
    env: "POSSTORM_SWITCH_IDLE_TIMEOUT_MS",
    runtime: true,
    help: "a terminal connection silent this long is closed",
  },
  tpdu: {
    type: "boolean",
    default: true,
    env: "POSSTORM_SWITCH_TPDU",
    runtime: true,
    help: "replies carry the 5-byte TPDU (the dialect; requests are read with or without it)",
  },
  header: {
    type: "boolean",
    default: true,
    env: "POSSTORM_SWITCH_HEADER",
    runtime: true,
    help: "replies carry the 6-byte header (the dialect; requests are read with or without it)",
  },
  assignBatch: {
    type: "string",
    default: "",
    env: "POSSTORM_SWITCH_ASSIGN_BATCH",
    runtime: true,
    help: "the batch (6 digits) the 0810 assigns, and purchases must then carry (77 otherwise, with it in 60.2); empty = the terminal's own",
  },
  purchaseReplyField60: {
    type: "boolean",
    default: true,
    env: "POSSTORM_SWITCH_PURCHASE_REPLY_FIELD60",
    runtime: true,
    help: "0210 replies carry F60 (60.1 type, 60.2 batch); false: the dialect leaves it out",
  },
  field60Parts: {
    type: "string",
    default: "",
    oneOf: ["", "3", "5"],
    env: "POSSTORM_SWITCH_FIELD60_PARTS",
    runtime: true,
    help: "F60 of 0210/0410 replies: 3 = 60.1-60.3, 5 = through 60.4 read capability and 60.5 IC condition (the request's, else 0); empty = the request's F60",
  },
  purchaseReplyField63: {
    type: "string",
    default: "",
    env: "POSSTORM_SWITCH_PURCHASE_REPLY_FIELD63",
    runtime: true,
    help: "approved 0210 replies carry F63 with 63.1, this card organisation code (3 letters, e.g. CUP); empty = no F63",
  },
  batchPerSignIn: {
    type: "boolean",
    default: false,
    env: "POSSTORM_SWITCH_BATCH_PER_SIGN_IN",
    runtime: true,
    help: "every approved sign-in opens a new batch, given in the 0810's 60.2 and required like assignBatch (terminals that restart STAN at sign-in)",
  },
  tpduAddress: {
    type: "string",
    default: "",
    env: "POSSTORM_SWITCH_TPDU_ADDRESS",
    runtime: true,
    help: "the switch's NII (4 digits): replies carry it as the TPDU source; empty = the request's destination",
  },
  headerVersion: {
    type: "string",
    default: "",
    env: "POSSTORM_SWITCH_HEADER_VERSION",
    runtime: true,
    help: "the header version replies carry (2 digits); empty = the request's",
  },
  shedding: {
    type: "boolean",
    default: false,
    env: "POSSTORM_SWITCH_SHEDDING",
    runtime: true,
    help: "bound the work in flight and the queue; beyond both, answer 96 at once",
  },
  maxInFlight: {
    type: "int",
    default: 1_000,
    min: 1,
    env: "POSSTORM_SWITCH_MAX_IN_FLIGHT",
    runtime: true,
    help: "with shedding: sign-ins and purchases waiting for the HSM or an issuer at once",
  },
  maxQueue: {
    type: "int",
    default: 1_000,
    min: 0,
    env: "POSSTORM_SWITCH_MAX_QUEUE",
    runtime: true,
    help: "with shedding: requests waiting for an in-flight slot",
  },
  safRetryMs: {
    type: "int",
    default: 5_000,
    min: 1,
    env: "POSSTORM_SWITCH_SAF_RETRY_MS",
    runtime: true,
    help: "interval between attempts of a store-and-forward reversal until the issuer answers it",
  },
  issuerPoolSize: {
    type: "int",
    default: 4,
    min: 1,
    max: 256,
    env: "POSSTORM_SWITCH_ISSUER_POOL_SIZE",
    runtime: true,
    help: "persistent connections per issuer link, requests multiplexed by TID + STAN",
  },
} as const satisfies ConfigSpec;

export type SettingName = keyof typeof switchSpec;

/** Resolved settings (what GET /config shows). */
export interface SwitchConfig {
  host: string;
  port: number;
  /** The terminal listener's accept queue (listen(2) backlog). */
  listenBacklog: number;
  adminPort: number;
  hsm: string;
  hsmPoolSize: number;
  issuers: string[];
  routes: string[];
  fleet: string[];
  labKeyHex: string;
  /** A terminal list file: TMKs from it instead of deriveTmk(labKey, TID) ("" = derive). */
  terminalKeysFile: string;
  macAlgorithm: MacAlgorithm;
  /** The oldest terminal software version (header, 6 digits) served; "" = any. */
  minSoftwareVersion: string;
  /** Sign-in key layouts (60.3) served; others are answered 12. */
  keyLayouts: string[];
  acquirerId: string;
  issuerTimeoutMs: number;
  hsmTimeoutMs: number;
  idleTimeoutMs: number;
  /** Replies carry the TPDU / the header (the switch's dialect); requests are read in any envelope. */
  tpdu: boolean;
  header: boolean;
  /** Replies' TPDU source (the switch's NII) and header version; "" = as the request's. */
  tpduAddress: string;
  headerVersion: string;
  /** 0210 replies carry F60 (the dialect). */
  purchaseReplyField60: boolean;
  /** The batch a sign-in assigns ("" = the terminal's own, echoed). */
  assignBatch: string;
  /** F60 of financial replies: "3" or "5" parts; "" = the request's. */
  field60Parts: "" | "3" | "5";
  /** 63.1 of approved 0210s (card organisation); "" = no F63. */
  purchaseReplyField63: string;
  /** Each approved sign-in opens a new batch (0810 60.2), then required like assignBatch. */
  batchPerSignIn: boolean;
  shedding: boolean;
  maxInFlight: number;
  maxQueue: number;
  safRetryMs: number;
  issuerPoolSize: number;
}

/** The fleet as a prefix and a count: `{ prefix: "POS", count: 10000 }` = POS00001..POS10000. */
export interface FleetRange {
  prefix: string;
  count: number;
}

/** What `startSwitch` takes: any subset of the settings, maps and fleet also as objects. */
export type SwitchConfigInput = Partial<Omit<SwitchConfig, "issuers" | "routes" | "fleet">> & {
  /** `{ "issuer-a": "127.0.0.1:9101" }` or `["issuer-a=127.0.0.1:9101"]`. */
  issuers?: string[] | Record<string, string>;
  /** `{ "62": "issuer-a" }` or `["62=issuer-a"]`. */
  routes?: string[] | Record<string, string>;
  fleet?: string[] | string | FleetRange;
};

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Turns the object forms of `issuers`, `routes` and `fleet` into their list form; leaves the rest alone. */
export function normalizeSwitchInput(values: Record<string, unknown>): Record<string, unknown> {
  const out = { ...values };
  for (const name of ["issuers", "routes"] as const) {
    const v = out[name];
    if (isPlainObject(v)) out[name] = Object.entries(v).map(([k, x]) => `${k}=${String(x)}`);
  }
  const fleet = out.fleet;
  if (typeof fleet === "string") out.fleet = [fleet];
  else if (isPlainObject(fleet) && "prefix" in fleet && "count" in fleet) {
    out.fleet = [`${String(fleet.prefix)}*${String(fleet.count)}`];
  }
  return out;
}

export interface Address {
  host: string;
  port: number;
}

/** Settings parsed into the shapes the switch uses. */
export interface CompiledConfig {
  hsm: Address;
  issuers: Map<string, Address>;
  /** Longest prefix first. */
  routes: { prefix: string; issuer: string }[];
  fleet: Fleet;
  labKey: Uint8Array;
  /** The terminals' own keys (terminalKeysFile); undefined: derive them from the lab key. */
  terminalKeys?: TerminalKey[];
}

/** Which TIDs belong to the fleet. */
export class Fleet {
  readonly any: boolean;
  readonly #tids = new Set<string>();
  readonly #ranges: { prefix: string; width: number; count: number }[] = [];

  constructor(entries: readonly string[], problems: string[]) {
    this.any = entries.length === 0;
    for (const entry of entries) {
      const star = entry.indexOf("*");
      if (star < 0) {
        if (entry.length !== 8)
          problems.push(`fleet entry ${JSON.stringify(entry)} is not an 8-character TID`);
        else this.#tids.add(entry);
        continue;
      }
      const prefix = entry.slice(0, star);
      const count = Number(entry.slice(star + 1));
      const width = 8 - prefix.length;
      if (width < 1 || !Number.isInteger(count) || count < 1 || String(count).length > width) {
        problems.push(
          `fleet entry ${JSON.stringify(entry)} must be PREFIX*COUNT with COUNT ≥ 1 fitting the ${Math.max(width, 0)} digits after the prefix`,
        );
        continue;
      }
      this.#ranges.push({ prefix, width, count });
    }
  }

  has(tid: string): boolean {
    if (this.any || this.#tids.has(tid)) return true;
    for (const r of this.#ranges) {
      if (!tid.startsWith(r.prefix)) continue;
      let n = 0;
      for (let i = r.prefix.length; i < 8; i++) {
        const d = tid.charCodeAt(i) - 48;
        if (d < 0 || d > 9) {
          n = -1;
          break;
        }
        n = n * 10 + d;
      }
      if (tid.length === 8 && n >= 1 && n <= r.count) return true;
    }
    return false;
  }
}

function parseAddress(setting: string, text: string, problems: string[]): Address {
  const colon = text.lastIndexOf(":");
  const host = text.slice(0, colon);
  const port = Number(text.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
    problems.push(`${setting} ${JSON.stringify(text)} is not host:port`);
  }
  return { host, port };
}

function pairs(setting: string, entries: readonly string[], problems: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (const entry of entries) {
    const eq = entry.indexOf("=");
    if (eq <= 0) problems.push(`${setting} entry ${JSON.stringify(entry)} is not key=value`);
    else out.push([entry.slice(0, eq).trim(), entry.slice(eq + 1).trim()]);
  }
  return out;
}

/** Parses the structured settings; throws one ConfigError listing every problem. */
export function compileConfig(config: SwitchConfig): CompiledConfig {
  const problems: string[] = [];
  const hsm = parseAddress("hsm", config.hsm, problems);
  const issuers = new Map<string, Address>();
  for (const [name, address] of pairs("issuers", config.issuers, problems)) {
    issuers.set(name, parseAddress(`issuers.${name}`, address, problems));
  }
  const routes: { prefix: string; issuer: string }[] = [];
  for (const [prefix, issuer] of pairs("routes", config.routes, problems)) {
    if (!/^\d{1,11}$/.test(prefix))
      problems.push(`routes: BIN prefix ${JSON.stringify(prefix)} is not 1-11 digits`);
    if (!issuers.has(issuer)) {
      problems.push(
        `routes: ${prefix} goes to ${JSON.stringify(issuer)}, which is not an issuer link (known: ${[...issuers.keys()].join(", ") || "none"})`,
      );
    }
    routes.push({ prefix, issuer });
  }
  routes.sort((a, b) => b.prefix.length - a.prefix.length);
  const fleet = new Fleet(config.fleet, problems);
  if (!/^[0-9a-fA-F]{32}$/.test(config.labKeyHex))
    problems.push("labKeyHex must be 32 hex digits (16 bytes)");
  if (!/^\d{1,11}$/.test(config.acquirerId)) problems.push("acquirerId must be 1-11 digits");
  if (config.tpduAddress && !/^\d{4}$/.test(config.tpduAddress))
    problems.push("tpduAddress must be 4 digits");
  if (config.headerVersion && !/^\d{2}$/.test(config.headerVersion))
    problems.push("headerVersion must be 2 digits");
  if (config.minSoftwareVersion && !/^\d{6}$/.test(config.minSoftwareVersion))
    problems.push("minSoftwareVersion must be 6 digits (the header's software version)");
  for (const layout of config.keyLayouts)
    if (!["001", "003", "004"].includes(layout))
      problems.push(`keyLayouts: ${JSON.stringify(layout)} is not 001, 003 or 004`);
  if (config.purchaseReplyField63 && !/^[A-Z]{3}$/.test(config.purchaseReplyField63))
    problems.push("purchaseReplyField63 must be 3 capital letters (63.1, e.g. CUP)");
  if (config.assignBatch && config.batchPerSignIn)
    problems.push("assignBatch and batchPerSignIn: choose one (a fixed batch, or a new one per sign-in)");
  let terminalKeys: TerminalKey[] | undefined;
  if (config.terminalKeysFile) {
    try {
      const text = readFileSync(config.terminalKeysFile, "utf8");
      terminalKeys = parseTerminalKeys(text, config.terminalKeysFile);
    } catch (error) {
      problems.push(
        error instanceof TerminalKeysError
          ? `terminalKeysFile: ${error.problems.join("; ")}`
          : `terminalKeysFile: cannot read ${config.terminalKeysFile}`,
      );
    }
  }
  if (problems.length > 0) throw new ConfigError(PROGRAM, problems);
  return {
    hsm,
    issuers,
    routes,
    fleet,
    labKey: fromHex(config.labKeyHex),
    ...(terminalKeys ? { terminalKeys } : {}),
  };
}

/** Resolves defaults ← file ← environment ← overrides and checks the structured settings. */
export function loadSwitchConfig(sources: LoadSources): SwitchConfig {
  const normalized: LoadSources = {
    ...sources,
    file: sources.file && { path: sources.file.path, values: normalizeSwitchInput(sources.file.values) },
    overrides: sources.overrides && normalizeSwitchInput(sources.overrides),
  };
  const config = loadConfig(PROGRAM, switchSpec, normalized) as unknown as SwitchConfig;
  compileConfig(config);
  return config;
}
