// Simulator configuration as data: each setting has a type, a default, bounds, the environment
// variable that sets it, and whether the admin API may change it at run time. Loading merges
// defaults ← JSON file ← environment ← explicit overrides, and every bad value gets its own error
// naming the setting, the value and where it came from.

export type SettingType = "int" | "number" | "string" | "boolean" | "string[]";

export interface Setting {
  type: SettingType;
  default: unknown;
  /** Inclusive bounds for numbers. */
  min?: number;
  max?: number;
  /** Allowed values for strings. */
  oneOf?: readonly string[];
  /** Environment variable that sets it. */
  env: string;
  /** Changeable through PUT /config while the program runs. */
  runtime?: boolean;
  help: string;
}

export type ConfigSpec = Record<string, Setting>;

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly problems: string[];
  constructor(program: string, problems: string[]) {
    super(`${program} config: ${problems.join("; ")}`);
    this.problems = problems;
  }
}

function coerce(
  name: string,
  setting: Setting,
  raw: unknown,
  source: string,
): { value?: unknown; problem?: string } {
  const bad = (why: string) => ({ problem: `${name} = ${JSON.stringify(raw)} (from ${source}) ${why}` });
  let value: unknown = raw;
  switch (setting.type) {
    case "int":
    case "number": {
      value = typeof raw === "string" && raw.trim() !== "" ? Number(raw) : raw;
      if (typeof value !== "number" || !Number.isFinite(value)) return bad("is not a number");
      if (setting.type === "int" && !Number.isInteger(value)) return bad("is not a whole number");
      if (setting.min !== undefined && value < setting.min) return bad(`must be >= ${setting.min}`);
      if (setting.max !== undefined && value > setting.max) return bad(`must be <= ${setting.max}`);
      return { value };
    }
    case "boolean":
      if (raw === "true" || raw === "1") return { value: true };
      if (raw === "false" || raw === "0") return { value: false };
      return typeof raw === "boolean" ? { value: raw } : bad("is not true or false");
    case "string":
      if (typeof raw !== "string") return bad("is not a string");
      if (setting.oneOf && !setting.oneOf.includes(raw))
        return bad(`must be one of ${setting.oneOf.join(", ")}`);
      return { value: raw };
    case "string[]": {
      value =
        typeof raw === "string"
          ? raw
              .split(",")
              .map((s) => s.trim())
              .filter(Boolean)
          : raw;
      if (!Array.isArray(value) || value.some((v) => typeof v !== "string"))
        return bad("is not a list of strings");
      return { value };
    }
  }
}

export interface LoadSources {
  /** Parsed JSON file contents and its path (for messages). */
  file?: { path: string; values: Record<string, unknown> };
  env?: Record<string, string | undefined>;
  overrides?: Record<string, unknown>;
}

/** Resolves a full configuration or throws one ConfigError listing every problem. */
export function loadConfig<S extends ConfigSpec>(
  program: string,
  spec: S,
  sources: LoadSources,
): Record<keyof S, unknown> {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [name, setting] of Object.entries(spec)) out[name] = setting.default;
  const apply = (values: Record<string, unknown>, source: (name: string) => string) => {
    for (const [name, raw] of Object.entries(values)) {
      const setting = spec[name];
      if (!setting) {
        problems.push(
          `unknown setting ${name} (from ${source(name)}); known: ${Object.keys(spec).join(", ")}`,
        );
        continue;
      }
      const { value, problem } = coerce(name, setting, raw, source(name));
      if (problem) problems.push(problem);
      else out[name] = value;
    }
  };
  if (sources.file) apply(sources.file.values, () => sources.file!.path);
  if (sources.env) {
    const fromEnv: Record<string, unknown> = {};
    for (const [name, setting] of Object.entries(spec)) {
      const raw = sources.env[setting.env];
      if (raw !== undefined) fromEnv[name] = raw;
    }
    apply(fromEnv, (name) => `env ${spec[name]!.env}`);
  }
  if (sources.overrides) apply(sources.overrides, () => "overrides");
  if (problems.length > 0) throw new ConfigError(program, problems);
  return out as Record<keyof S, unknown>;
}

/** Applies a PUT /config body: only `runtime` settings, all-or-nothing. Returns the changed names. */
export function updateConfig<S extends ConfigSpec>(
  program: string,
  spec: S,
  current: Record<keyof S, unknown>,
  body: Record<string, unknown>,
): string[] {
  const problems: string[] = [];
  const next: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(body)) {
    const setting = spec[name];
    if (!setting) {
      problems.push(`unknown setting ${name}`);
      continue;
    }
    if (!setting.runtime) {
      problems.push(`${name} cannot change at run time (restart with a new value)`);
      continue;
    }
    const { value, problem } = coerce(name, setting, raw, "PUT /config");
    if (problem) problems.push(problem);
    else next[name] = value;
  }
  if (problems.length > 0) throw new ConfigError(program, problems);
  Object.assign(current, next);
  return Object.keys(next);
}
