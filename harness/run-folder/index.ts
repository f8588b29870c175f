import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Phase, TimelineEntry, TimelineResult } from "../chaos/index.ts";
import type { AgentFacts, GeneratorVerdict, OutcomeCounts, ThreadPriority } from "../fleet/index.ts";
import type { RunPlan } from "../fleet/plan.ts";
import type { CompareSettings, GameDay, Slo } from "../slo/index.ts";

// The run folder: what a run leaves on disk, with its file names, shapes, reads and writes. Every other
// module reaches a run folder's files through here; none spells a file name.
//
//   <reports>/<run id>/
//     run.json            facts: status, times, versions, lab addresses, what the timeline did, the fleet's facts
//                         and outcome counts (RunJson)
//     plan.json           the compiled run: the fleet's plan, the timeline and its phases, SLOs, compare and lab
//                         settings (PlanJson)
//     lab.json            the lab's addresses (LabJson; `posstorm lab up` writes one too)
//     samples.ndjson.gz   one line per operation or event (harness/fleet/samples.ts; the README's schema)
//     series.json         the aggregated per-second series (harness/report/series.ts)
//     fleet-watch.json    the generator's self-watch, one entry per segment and second
//     server-metrics.jsonl the lab programs' metrics, scraped once a second (harness/report/scrape.ts)
//     collected/          each lab program's final metrics, the issuers' ledgers (harness/lab/collect.ts)

export const RUN_FILES = {
  run: "run.json",
  plan: "plan.json",
  lab: "lab.json",
  samples: "samples.ndjson.gz",
  series: "series.json",
  fleetWatch: "fleet-watch.json",
  serverSamples: "server-metrics.jsonl",
} as const;

export type RunFile = keyof typeof RUN_FILES;

/** What the lab programs leave after a run: their final metrics and the issuers' ledgers. */
export const COLLECTED_DIR = "collected";

/**
 * An issuer's ledger in `collected/`: `issuer-<name>.ledger.ndjson.gz` (GET /ledger?format=ndjson gzipped, one
 * entry per line), or `issuer-<name>.ledger.json` in run folders of older versions (GET /ledger's document).
 */
export const LEDGER_FILE_SUFFIX = ".ledger.ndjson.gz";
export const OLD_LEDGER_FILE_SUFFIX = ".ledger.json";

/** Where a run stores the ledger of the lab program `issuer` (`issuer-a`), relative to the run folder. */
export const ledgerFileOf = (issuer: string) => join(COLLECTED_DIR, `${issuer}${LEDGER_FILE_SUFFIX}`);

/** Where a run stores a lab program's final metrics, relative to the run folder. */
export const finalMetricsFileOf = (role: string) => join(COLLECTED_DIR, `${role}.metrics.prom`);

/** The path of one of a run folder's files. */
export const runFile = (dir: string, file: RunFile) => join(dir, RUN_FILES[file]);

/** A run folder's file that is missing or does not parse: names the file and what is wrong. */
export class RunFolderError extends Error {
  override name = "RunFolderError";
}

/** What run.json keeps of the fleet: how it ran, whether it kept up, what it wrote. */
export interface FleetFacts {
  engine: string;
  segments: number;
  socketsOpened: number;
  threads: string;
  /** Each segment's thread's scheduling (SCHED_FIFO 1 where permitted: harness/fleet/thread-priority.ts). */
  threadPriority?: (ThreadPriority | null)[];
  graceS: number;
  generator: GeneratorVerdict;
  watch: {
    file: string;
    scheduleLagP99Ms: number | null;
    scheduleLagP99MaxMs: number;
    loopDelayP99MaxMs: number;
    dropped: number;
  };
  /** CPU of the whole harness process from load start to the fleet's end. */
  cpu: { userMs: number; systemMs: number; averageCores: number };
  samples: { file: string; records: number; bytes: number; gzipBytes: number };
}

/** lab.json: where a started lab listens. */
export interface LabJson {
  runtime: string;
  session: string;
  edge: { host: string; port: number };
  links: Record<string, { listen: { host: string; port: number }; upstream: { host: string; port: number } }>;
  admin: Record<string, string>;
  /** Metrics page URL by role (lab programs, Toxiproxy, your switch); absent in lab.json of older versions. */
  metrics?: Record<string, string>;
  toxiproxy: string;
  services: { role: string; id: string }[];
}

/**
 * plan.json: the whole compiled run, written once when the run starts (without `target`) and again when the
 * lab is up (with it): the fleet's plan (RunPlan: terminals, load model, duration, target) and, from the same
 * compilation, the profile it came from, the fault timeline, its phases, the SLOs, the compare settings and
 * the lab settings. The report reads its plan from here, never from the profile.
 */
export type PlanJson = Omit<RunPlan, "target"> & {
  target?: RunPlan["target"];
  profile?: { name: string; file?: string; description?: string };
  timeline?: TimelineEntry[];
  phases?: Phase[];
  slos?: Slo[];
  compare?: CompareSettings;
  /** SLOs judge the load from this second on (a capacity step's warm-up is not judged; default 0). */
  judgeFromS?: number;
  /** A game day's steady-state hypothesis and abort conditions (the report's journal). */
  gameDay?: GameDay;
  /** Your switch's metrics page and the metrics the report charts (a switch posstorm did not write). */
  switchMetrics?: { url: string; chart?: string[]; cores?: number };
  /** The profile's lab settings, as given (for the record). */
  lab?: unknown;
};

/** run.json: the facts of one run (harness/run/run-profile.ts writes it as the run goes). */
export interface RunJson {
  runId: string;
  profile?: { name: string; file?: string; description?: string };
  /** starting, running, completed, failed, interrupted … */
  status?: string;
  startedAt?: string;
  loadStartedAt?: string;
  /** An abort condition stopped the run: which, when (seconds since load start) and what it saw. */
  abort?: { condition: string; atS: number; at: string; detail: string };
  /** A rehearsal ended by hand before its --max-s: how (Ctrl-C, the live page) and when. */
  endedByHand?: { by: string; atS: number; at: string };
  /**
   * The agents that ran the fleet's segments (`posstorm run --agents`): name, address, segments, clock offset
   * (agent − coordinator, ms; the seconds are on the coordinator's clock) and the link their load went through.
   */
  agents?: AgentFacts[];
  /** The live view while the run went (127.0.0.1): its page, /state, /metrics and the fault API. */
  live?: { url: string };
  endedAt?: string;
  error?: string;
  /** Runs of earlier versions kept their plan's phases, SLOs and compare settings here (now in plan.json). */
  phases?: Phase[];
  slos?: Slo[];
  compare?: CompareSettings;
  lab?: LabJson;
  versions?: Record<string, string>;
  /** What the timeline did: every entry with its actual times. */
  timeline?: Partial<TimelineResult>;
  fleet?: FleetFacts;
  outcomes?: OutcomeCounts;
}

function readJsonFile<T>(dir: string, file: RunFile): T {
  const path = runFile(dir, file);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new RunFolderError(`${path}: no such file`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new RunFolderError(`${path}: not JSON (${(error as Error).message})`);
  }
}

function writeJsonFile(dir: string, file: RunFile, value: unknown): void {
  writeFileSync(runFile(dir, file), `${JSON.stringify(value, null, 2)}\n`);
}

export const readRunJson = (dir: string) => readJsonFile<RunJson>(dir, "run");
export const writeRunJson = (dir: string, run: RunJson) => writeJsonFile(dir, "run", run);
export const readPlanJson = (dir: string) => readJsonFile<PlanJson>(dir, "plan");
export const writePlanJson = (dir: string, plan: PlanJson) => writeJsonFile(dir, "plan", plan);
export const readLabJson = (dir: string) => readJsonFile<LabJson>(dir, "lab");
export const writeLabJson = (dir: string, lab: LabJson) => writeJsonFile(dir, "lab", lab);

/** Whether a run folder has a file. */
export const hasRunFile = (dir: string, file: RunFile) => existsSync(runFile(dir, file));

/** The folder under `reportsDir` whose lab.json was written last (the newest lab), if any. */
export function newestLabDir(reportsDir: string): string | undefined {
  if (!existsSync(reportsDir)) return undefined;
  return readdirSync(reportsDir)
    .map((name) => join(reportsDir, name))
    .filter((dir) => hasRunFile(dir, "lab"))
    .sort((a, b) => statSync(runFile(b, "lab")).mtimeMs - statSync(runFile(a, "lab")).mtimeMs)[0];
}
