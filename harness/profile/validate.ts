import { isNetworkProfileName, NETWORK_PROFILES, validateTimeline } from "../chaos/index.ts";
import { softwareMixProblems } from "../fleet/schedule.ts";
import { validateGameDay, validateSlos } from "../slo/index.ts";
import type { Profile } from "./define.ts";

// Profiles are TypeScript, so most mistakes are compile errors; this catches the rest at load time
// (a profile written in JavaScript, values out of range, faults past the end of the load) and names the
// path of each problem: `fleet.terminals: 0 must be >= 1`.

export class ProfileError extends Error {
  override readonly name = "ProfileError";
  readonly problems: string[];
  constructor(source: string, problems: string[]) {
    super(`${source}: ${problems.length} problem(s):\n  ${problems.join("\n  ")}`);
    this.problems = problems;
  }
}

type Check = (path: string, value: unknown) => string | undefined;

const num =
  (opts: { min?: number; max?: number; int?: boolean } = {}): Check =>
  (path, value) => {
    if (typeof value !== "number" || !Number.isFinite(value))
      return `${path}: ${JSON.stringify(value)} is not a number`;
    if (opts.int && !Number.isInteger(value)) return `${path}: ${value} is not a whole number`;
    if (opts.min !== undefined && value < opts.min) return `${path}: ${value} must be >= ${opts.min}`;
    if (opts.max !== undefined && value > opts.max) return `${path}: ${value} must be <= ${opts.max}`;
    return undefined;
  };

const oneOf =
  (...allowed: string[]): Check =>
  (path, value) =>
    typeof value === "string" && allowed.includes(value)
      ? undefined
      : `${path}: ${JSON.stringify(value)} must be one of ${allowed.join(", ")}`;

export function validateProfile(profile: unknown, source: string): asserts profile is Profile {
  const problems: string[] = [];
  const check = (path: string, value: unknown, rule: Check) => {
    const problem = rule(path, value);
    if (problem) problems.push(problem);
  };
  if (typeof profile !== "object" || profile === null) {
    throw new ProfileError(source, ["the default export must be defineProfile({...})"]);
  }
  const p = profile as Record<string, unknown>;
  if (typeof p.name !== "string" || !/^[a-z0-9][a-z0-9-]*$/.test(p.name)) {
    problems.push(`name: ${JSON.stringify(p.name)} must be lower-case letters, digits and dashes`);
  }
  check("durationS", p.durationS, num({ min: 1, max: 7 * 24 * 3600 }));

  const fleet = p.fleet as Record<string, unknown> | undefined;
  if (!fleet || typeof fleet !== "object") problems.push("fleet: missing");
  else if (fleet.model === "population") {
    check("fleet.terminals", fleet.terminals, num({ min: 1, int: true }));
    if (fleet.vus !== undefined) check("fleet.vus", fleet.vus, num({ min: 1, int: true }));
    const signIn = (fleet.signIn ?? {}) as Record<string, unknown>;
    check("fleet.signIn.curve", signIn.curve, oneOf("uniform", "normal"));
    check("fleet.signIn.windowS", signIn.windowS, num({ min: 0 }));
    if (
      typeof signIn.windowS === "number" &&
      typeof p.durationS === "number" &&
      signIn.windowS > p.durationS
    ) {
      problems.push(
        `fleet.signIn.windowS: ${signIn.windowS}s is longer than the load (durationS ${p.durationS}s)`,
      );
    }
    const purchases = (fleet.purchases ?? {}) as Record<string, unknown>;
    check("fleet.purchases.perTerminal", purchases.perTerminal, num({ min: 0, int: true }));
    const think = (purchases.thinkTimeS ?? {}) as Record<string, unknown>;
    check("fleet.purchases.thinkTimeS.mean", think.mean, num({ min: 0 }));
    check("fleet.purchases.thinkTimeS.jitter", think.jitter, num({ min: 0 }));
  } else if (fleet.model === "open") {
    check("fleet.operation", fleet.operation, oneOf("signin", "purchase"));
    const stages = fleet.stages;
    if (!Array.isArray(stages) || stages.length === 0)
      problems.push("fleet.stages: needs at least one stage");
    else {
      stages.forEach((stage: Record<string, unknown>, i) => {
        check(`fleet.stages[${i}].durationS`, stage.durationS, num({ min: 1 }));
        check(`fleet.stages[${i}].ratePerS`, stage.ratePerS, num({ min: 0 }));
      });
    }
    if (fleet.preAllocatedVUs !== undefined) {
      check("fleet.preAllocatedVUs", fleet.preAllocatedVUs, num({ min: 1, int: true }));
    }
    check("fleet.maxVUs", fleet.maxVUs, num({ min: 1, int: true }));
  } else if (fleet.model === "closed") {
    check("fleet.operation", fleet.operation, oneOf("signin", "purchase"));
    check("fleet.vus", fleet.vus, num({ min: 1, int: true }));
    if (fleet.terminals !== undefined) check("fleet.terminals", fleet.terminals, num({ min: 1, int: true }));
  } else {
    problems.push(`fleet.model: ${JSON.stringify(fleet.model)} must be one of population, open, closed`);
  }

  const terminal = (p.terminal ?? {}) as Record<string, unknown>;
  for (const key of ["connectTimeoutMs", "responseTimeoutMs", "echoIntervalMs", "idleTimeoutMs"]) {
    if (terminal[key] !== undefined) check(`terminal.${key}`, terminal[key], num({ min: 1, int: true }));
  }
  if (terminal.mode !== undefined) check("terminal.mode", terminal.mode, oneOf("short", "long"));
  for (const key of ["tpdu", "header", "replyField60", "adoptBatch", "replyField63"]) {
    if (terminal[key] !== undefined && typeof terminal[key] !== "boolean")
      problems.push(`terminal.${key}: ${JSON.stringify(terminal[key])} must be true or false`);
  }
  if (terminal.field60Parts !== undefined && terminal.field60Parts !== 3 && terminal.field60Parts !== 5)
    problems.push(`terminal.field60Parts: ${JSON.stringify(terminal.field60Parts)} must be 3 or 5`);
  if (terminal.stanAtSignIn !== undefined)
    check("terminal.stanAtSignIn", terminal.stanAtSignIn, oneOf("continue", "restart"));
  if (terminal.software !== undefined)
    problems.push(...softwareMixProblems(terminal.software, "terminal.software"));
  if (terminal.count !== undefined) check("terminal.count", terminal.count, num({ min: 1, int: true }));
  const retry = (terminal.retry ?? {}) as Record<string, unknown>;
  if (retry.policy !== undefined)
    check("terminal.retry.policy", retry.policy, oneOf("none", "fixed", "exponential", "immediate"));
  if (Array.isArray(terminal.cards)) {
    terminal.cards.forEach((card: Record<string, unknown>, i) => {
      if (typeof card.pan !== "string" || !/^\d{12,19}$/.test(card.pan)) {
        problems.push(`terminal.cards[${i}].pan: must be 12 to 19 digits as a string`);
      }
      check(`terminal.cards[${i}].weight`, card.weight, num({ min: 0 }));
    });
  }

  const lab = (p.lab ?? {}) as Record<string, unknown>;
  if (lab.runtime !== undefined) check("lab.runtime", lab.runtime, oneOf("containers", "local"));

  if (p.chaos !== undefined) {
    if (!Array.isArray(p.chaos)) problems.push("chaos: must be a list of faults");
    else
      problems.push(...validateTimeline(p.chaos, typeof p.durationS === "number" ? p.durationS : undefined));
  }
  const network = p.network as Record<string, unknown> | undefined;
  if (network !== undefined && !isNetworkProfileName(String(network.profile))) {
    problems.push(
      `network.profile: ${JSON.stringify(network.profile)} must be one of ${Object.keys(NETWORK_PROFILES).join(", ")}`,
    );
  }
  if (p.slos !== undefined) problems.push(...validateSlos(p.slos));
  problems.push(...validateGameDay(p.gameDay));
  const metrics = p.switchMetrics as Record<string, unknown> | undefined;
  if (metrics !== undefined) {
    if (typeof metrics.url !== "string" || !/^https?:\/\//.test(metrics.url))
      problems.push(
        `switchMetrics.url: ${JSON.stringify(metrics.url)} must be an http:// address of a metrics page`,
      );
    if (
      metrics.chart !== undefined &&
      (!Array.isArray(metrics.chart) ||
        !metrics.chart.every((m) => typeof m === "string" && /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})?$/.test(m)))
    )
      problems.push("switchMetrics.chart: must be a list of Prometheus metric names");
    if (metrics.cores !== undefined) check("switchMetrics.cores", metrics.cores, num({ min: 0.1 }));
  }
  if (p.target !== undefined) problems.push(...targetProblems(p));
  if (problems.length > 0) throw new ProfileError(source, problems);
}

/**
 * A switch already running: posstorm proxies only the terminals' link to it (`edge`). Faults elsewhere need
 * backends posstorm started and the switch pointed at their proxies.
 */
function targetProblems(p: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const target = p.target as Record<string, unknown>;
  if (typeof target.host !== "string" || target.host === "")
    problems.push("target.host: must be a host name or address");
  if (
    typeof target.port !== "number" ||
    !Number.isInteger(target.port) ||
    target.port < 1 ||
    target.port > 65535
  )
    problems.push(`target.port: ${JSON.stringify(target.port)} must be a port number`);
  const lab = (p.lab ?? {}) as Record<string, unknown>;
  for (const key of ["issuers", "hsm", "switch", "switchSource", "routes"]) {
    if (lab[key] !== undefined)
      problems.push(
        `lab.${key}: a profile with \`target\` starts no switch and no backends (only Toxiproxy in front of the target)`,
      );
  }
  const entries = Array.isArray(p.chaos) ? (p.chaos as { fault?: Record<string, unknown> }[]) : [];
  entries.forEach((entry, i) => {
    const fault = entry?.fault;
    if (!fault || typeof fault !== "object") return;
    const on = typeof fault.link === "string" ? fault.link : undefined;
    if (on !== undefined && on !== "edge" && !on.startsWith("agent-"))
      problems.push(
        `chaos[${i}].fault.link: ${on} is not proxied with \`target\`: posstorm proxies only edge (terminals → your switch). For backend faults, start your switch with lab.switchSource and map its backends to {{link.${on}}} (docs/your-switch.md)`,
      );
    // Fleet-side faults (power loss) act on posstorm's own terminals: fine against any switch.
    if (on === undefined && typeof fault.kind === "string" && fault.kind !== "power-loss")
      problems.push(
        `chaos[${i}].fault.kind: ${fault.kind} acts on a lab program, and a profile with \`target\` starts none (docs/your-switch.md)`,
      );
  });
  const network = p.network as Record<string, unknown> | undefined;
  if (network?.link !== undefined && network.link !== "edge")
    problems.push(`network.link: ${String(network.link)} is not proxied with \`target\`: only edge is`);
  return problems;
}
