import { ConfigError, type ConfigSpec, type LoadSources, loadConfig } from "../common/config.ts";
import { formatResponseMix, parseResponseMix, type ResponseMix } from "./model.ts";

export const PROGRAM = "issuer";

/** The issuer simulator's settings; `runtime` ones change through PUT /config (slow issuer, error mix). */
export const issuerSettings = {
  host: { type: "string", default: "127.0.0.1", env: "POSSTORM_ISSUER_HOST", help: "listen address" },
  port: {
    type: "int",
    default: 0,
    min: 0,
    max: 65535,
    env: "POSSTORM_ISSUER_PORT",
    help: "ISO 8583 port (0 = a free port)",
  },
  adminPort: {
    type: "int",
    default: 0,
    min: 0,
    max: 65535,
    env: "POSSTORM_ISSUER_ADMIN_PORT",
    help: "admin HTTP port (0 = a free port)",
  },
  name: {
    type: "string",
    default: "A",
    env: "POSSTORM_ISSUER_NAME",
    help: "the issuer's name in the lab (issuer-a → A): logs, /healthz, the default issuerId",
  },
  issuerId: {
    type: "string",
    default: "",
    env: "POSSTORM_ISSUER_ISSUER_ID",
    help: "institution code in F32 of every reply, 1-11 digits (empty = derived from name: A → 99010000)",
  },
  medianMs: {
    type: "number",
    default: 80,
    min: 0,
    max: 3_600_000,
    env: "POSSTORM_ISSUER_MEDIAN_MS",
    runtime: true,
    help: "median service time of an 0200/0400, in ms",
  },
  p99Ms: {
    type: "number",
    default: 400,
    min: 0,
    max: 3_600_000,
    env: "POSSTORM_ISSUER_P99_MS",
    runtime: true,
    help: "99th percentile of the service time, in ms (log-normal; at or below medianMs = constant)",
  },
  workers: {
    type: "int",
    default: 32,
    min: 1,
    max: 100_000,
    env: "POSSTORM_ISSUER_WORKERS",
    runtime: true,
    help: "requests served at the same time; the rest queue",
  },
  responseMix: {
    type: "string",
    default: "00:1",
    env: "POSSTORM_ISSUER_RESPONSE_MIX",
    runtime: true,
    help: 'F39 of 0210s: code → weight, as "00:95,51:5" or a JSON object {"00": 95, "51": 5}',
  },
  seed: {
    type: "int",
    default: 1,
    min: 0,
    max: 0xffffffff,
    env: "POSSTORM_ISSUER_SEED",
    help: "seed of the random source (service times, response codes, auth codes)",
  },
  maxFrameBytes: {
    type: "int",
    default: 8192,
    min: 64,
    max: 65535,
    env: "POSSTORM_ISSUER_MAX_FRAME_BYTES",
    help: "largest frame accepted, in bytes; a larger length closes the connection",
  },
} satisfies ConfigSpec;

export interface IssuerConfig {
  host: string;
  port: number;
  adminPort: number;
  name: string;
  /** F32 of every reply: 1-11 digits (resolved: never empty). */
  issuerId: string;
  medianMs: number;
  p99Ms: number;
  workers: number;
  /** Compact form, `00:95,51:5`. */
  responseMix: string;
  seed: number;
  maxFrameBytes: number;
}

/** What startIssuer takes: any subset of the settings; `responseMix` may be an object. */
export type IssuerOptions = Partial<Omit<IssuerConfig, "responseMix">> & {
  responseMix?: string | ResponseMix;
};

/** The default issuerId of a name: `99` + each letter's alphabet position (2 digits), zero-padded to 8 digits. */
export function issuerIdFor(name: string): string {
  if (/^\d{1,11}$/.test(name)) return name;
  let digits = "99";
  for (const char of name.toUpperCase()) {
    const code = char.charCodeAt(0);
    const position = code >= 65 && code <= 90 ? code - 64 : code % 100;
    digits += String(position).padStart(2, "0");
  }
  return digits.slice(0, 11).padEnd(8, "0");
}

/**
 * Resolves the settings (defaults ← file ← env ← overrides) or throws one ConfigError naming every bad value.
 * A responseMix object (from a file or overrides) is stored in its compact form.
 */
export function resolveIssuerConfig(sources: LoadSources): IssuerConfig {
  const compact = (values: Record<string, unknown> | undefined) => {
    if (!values || typeof values.responseMix !== "object" || values.responseMix === null) return values;
    const mix = parseResponseMix(values.responseMix);
    return typeof mix === "string" ? values : { ...values, responseMix: formatResponseMix(mix) };
  };
  const normalized: LoadSources = {
    ...sources,
    ...(sources.file ? { file: { path: sources.file.path, values: compact(sources.file.values)! } } : {}),
    ...(sources.overrides ? { overrides: compact(sources.overrides)! } : {}),
  };
  const config = loadConfig(PROGRAM, issuerSettings, normalized) as unknown as IssuerConfig;
  const problems: string[] = [];
  const mix = parseResponseMix(config.responseMix);
  if (typeof mix === "string") {
    problems.push(
      `responseMix = ${JSON.stringify(config.responseMix)} (from ${sourceOf("responseMix", sources)}) ${mix}`,
    );
  } else {
    config.responseMix = formatResponseMix(mix);
  }
  if (config.issuerId === "") config.issuerId = issuerIdFor(config.name);
  else if (!/^\d{1,11}$/.test(config.issuerId)) {
    problems.push(
      `issuerId = ${JSON.stringify(config.issuerId)} (from ${sourceOf("issuerId", sources)}) must be 1-11 digits (F32)`,
    );
  }
  if (problems.length > 0) throw new ConfigError(PROGRAM, problems);
  return config;
}

function sourceOf(name: keyof typeof issuerSettings, sources: LoadSources): string {
  if (sources.overrides && name in sources.overrides) return "overrides";
  if (sources.env?.[issuerSettings[name].env] !== undefined) return `env ${issuerSettings[name].env}`;
  if (sources.file && name in sources.file.values) return sources.file.path;
  return "default";
}
