import { dirname, isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import {
  networkProfile,
  type Phase,
  phasesOf,
  type TimelineEntry,
  validateTimeline,
} from "../chaos/index.ts";
import {
  DEFAULT_TERMINAL,
  type FleetModel,
  RUN_PLAN_VERSION,
  type RunPlan,
  type TerminalSettings,
} from "../fleet/plan.ts";
import { checkPlan } from "../fleet/plan-check.ts";
import { readTerminalKeys, TerminalKeysError } from "../fleet/terminal-keys.ts";
import { DEFAULT_LAB_KEY_HEX } from "../protocol/index.ts";
import type { PlanJson } from "../run-folder/index.ts";
import { REPO_ROOT } from "../shared/repo.ts";
import type { CompareSettings, GameDay, Slo } from "../slo/index.ts";
import type { Profile } from "./define.ts";
import { ProfileError, validateProfile } from "./validate.ts";

const LOOPBACK_PLACEHOLDER = { host: "127.0.0.1", port: 1 };

/**
 * Loads a profile file (a path, or a name under profiles/: `smoke` → profiles/smoke.ts) and validates
 * its default export.
 */
export async function loadProfile(
  nameOrPath: string,
): Promise<{ profile: Profile; file: string; compiled: CompiledRun }> {
  const file = /[/.]/.test(nameOrPath)
    ? isAbsolute(nameOrPath)
      ? nameOrPath
      : resolve(process.cwd(), nameOrPath)
    : resolve(REPO_ROOT, "profiles", `${nameOrPath}.ts`);
  let module: { default?: unknown };
  try {
    module = (await import(pathToFileURL(file).href)) as { default?: unknown };
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND"
        ? "no such file"
        : (error as Error).message;
    throw new ProfileError(file, [`cannot load the profile: ${reason}`]);
  }
  const profile = module.default;
  validateProfile(profile, file);
  const compiled = compileRun(profile, file);
  // What the terminals would refuse (combinations the profile's own checks leave open) is refused
  // here too, before a lab starts. The target is checked where it is known.
  const { problems } = checkPlan(fleetPlanOf(runPlanOf(compiled, { runId: "check" }), LOOPBACK_PLACEHOLDER));
  if (problems.length > 0)
    throw new ProfileError(
      file,
      problems.map((p) => p.replace(/^plan\./, "")),
    );
  // The network preset and the faults together: what the timeline would refuse once the lab is up.
  if (profile.network) {
    const clashes = validateTimeline(compiled.timeline, profile.durationS, "timeline");
    if (clashes.length > 0)
      throw new ProfileError(
        file,
        clashes.map((c) => withPresetNames(c, profile)),
      );
  }
  return { profile, file, compiled };
}

/** A profile compiled once: everything a run of it needs but its id and the switch's address. */
export interface CompiledRun {
  profile: { name: string; file: string; description?: string };
  durationS: number;
  terminal: TerminalSettings;
  fleet: FleetModel;
  /** Terminals the fleet uses. */
  terminals: number;
  /** The whole-run network preset's entries, then the profile's faults. */
  timeline: TimelineEntry[];
  phases: Phase[];
  slos?: Slo[];
  gameDay?: GameDay;
  compare?: CompareSettings;
  /** SLOs judge the load from this second on (a capacity step's warm-up); default 0. */
  judgeFromS?: number;
  lab?: Profile["lab"];
  /** A switch already running: the lab is Toxiproxy in front of it, nothing else. */
  target?: Profile["target"];
  /** Your switch's metrics page and the metrics to chart. */
  switchMetrics?: Profile["switchMetrics"];
}

export function compileRun(profile: Profile, file: string): CompiledRun {
  const terminal = withKeysFile(terminalSettings(profile), profile, file);
  const timeline = timelineOf(profile);
  return {
    profile: {
      name: profile.name,
      file,
      ...(profile.description ? { description: profile.description } : {}),
    },
    durationS: profile.durationS,
    terminal,
    fleet: profile.fleet,
    terminals:
      profile.fleet.model === "population"
        ? profile.fleet.terminals
        : (profile.fleet.terminals ?? terminal.count),
    timeline,
    phases: phasesOf(timeline, profile.durationS),
    ...(profile.slos ? { slos: profile.slos } : {}),
    ...(profile.gameDay ? { gameDay: profile.gameDay } : {}),
    ...(profile.compare ? { compare: profile.compare } : {}),
    ...(profile.lab ? { lab: profile.lab } : {}),
    ...(profile.target ? { target: profile.target } : {}),
    ...(profile.switchMetrics ? { switchMetrics: profile.switchMetrics } : {}),
  };
}

/** plan.json of a compiled run: with its id, and once the lab is up its target. */
export function runPlanOf(
  compiled: CompiledRun,
  opts: { runId: string; target?: { host: string; port: number }; labKeyHex?: string },
): PlanJson {
  return {
    version: RUN_PLAN_VERSION,
    runId: opts.runId,
    ...(opts.target ? { target: opts.target } : {}),
    labKeyHex: opts.labKeyHex ?? DEFAULT_LAB_KEY_HEX,
    terminal: compiled.terminal,
    fleet: compiled.fleet,
    durationS: compiled.durationS,
    profile: compiled.profile,
    timeline: compiled.timeline,
    phases: compiled.phases,
    ...(compiled.slos ? { slos: compiled.slos } : {}),
    ...(compiled.gameDay ? { gameDay: compiled.gameDay } : {}),
    ...(compiled.compare ? { compare: compiled.compare } : {}),
    ...(compiled.judgeFromS ? { judgeFromS: compiled.judgeFromS } : {}),
    ...(compiled.lab ? { lab: compiled.lab } : {}),
    ...(compiled.switchMetrics ? { switchMetrics: compiled.switchMetrics } : {}),
  };
}

/** The fleet's part of plan.json (what runFleet runs), with the switch's address. */
export function fleetPlanOf(plan: PlanJson, target: { host: string; port: number }): RunPlan {
  return {
    version: plan.version,
    runId: plan.runId,
    target,
    labKeyHex: plan.labKeyHex,
    terminal: plan.terminal,
    fleet: plan.fleet,
    durationS: plan.durationS,
  };
}

/** The whole-run network preset as timeline entries (conditions, not fault windows), then the profile's faults. */
export function timelineOf(profile: Profile): TimelineEntry[] {
  const preset: TimelineEntry[] = profile.network
    ? networkProfile(profile.network.profile, profile.network.link ?? "edge", {
        toxicity: profile.network.toxicity,
      }).map((fault, i) => ({
        name: `network-${profile.network!.profile}-${i + 1}`,
        at: 0,
        for: profile.durationS,
        fault,
        condition: true,
      }))
    : [];
  return [...preset, ...(profile.chaos ?? [])];
}

/** `timeline[n]` of timelineOf's list as the profile's author wrote it: `chaos[m]` or `network (… preset)`. */
function withPresetNames(problem: string, profile: Profile): string {
  const presets = timelineOf(profile).length - (profile.chaos?.length ?? 0);
  return problem.replace(/timeline\[(\d+)\]/g, (_, n: string) =>
    Number(n) < presets ? `network (${profile.network!.profile} preset)` : `chaos[${Number(n) - presets}]`,
  );
}

/** The terminal settings of a profile: its overrides on the defaults (PROTOCOL.md's timeouts). */
export function terminalSettings(profile: Profile): TerminalSettings {
  const { retry, ...rest } = profile.terminal ?? {};
  const terminals =
    profile.fleet.model === "population" ? profile.fleet.terminals : (profile.fleet.terminals ?? 0);
  return {
    ...DEFAULT_TERMINAL,
    ...rest,
    count: Math.max(rest.count ?? DEFAULT_TERMINAL.count, terminals),
    retry: { ...DEFAULT_TERMINAL.retry, ...retry },
  };
}

/**
 * Terminal settings with the profile's keysFile (relative to the profile) read and checked: its path made
 * absolute, the terminal count its rows. A bad file is a ProfileError naming lines and TIDs, never keys.
 */
function withKeysFile(terminal: TerminalSettings, profile: Profile, file: string): TerminalSettings {
  if (!terminal.keysFile) return terminal;
  const keysFile = isAbsolute(terminal.keysFile)
    ? terminal.keysFile
    : resolve(dirname(file), terminal.keysFile);
  let rows: number;
  try {
    rows = readTerminalKeys(keysFile).length;
  } catch (error) {
    if (error instanceof TerminalKeysError)
      throw new ProfileError(
        file,
        error.problems.map((p) => `terminal.keysFile (${keysFile}): ${p}`),
      );
    throw error;
  }
  const wanted = profile.fleet.terminals;
  if (wanted !== undefined && wanted > rows)
    throw new ProfileError(file, [
      `fleet.terminals: ${wanted}, but terminal.keysFile lists ${rows} terminal(s)`,
    ]);
  return { ...terminal, keysFile, count: rows };
}

/**
 * The switch's fleet setting that admits exactly the plan's terminals (`POS*10000`). With a terminal list the
 * lab gives the switch the list itself instead (terminalKeysFile), which admits its TIDs.
 */
export function switchFleet(terminal: TerminalSettings): string[] {
  if (terminal.firstTid !== 1) {
    return Array.from({ length: terminal.count }, (_, i) => {
      const digits = 8 - terminal.tidPrefix.length;
      return `${terminal.tidPrefix}${String(terminal.firstTid + i).padStart(digits, "0")}`;
    });
  }
  return [`${terminal.tidPrefix}*${terminal.count}`];
}
