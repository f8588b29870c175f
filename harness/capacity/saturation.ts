import type { RunSeries } from "../report/index.ts";
import { slotsIn } from "../report/phases.ts";

// What saturated in a step, read from the lab programs' own metrics scraped once a second during it (the
// run's server series), over the step's steady window:
//
// | resource     | busy fraction                                   | queue                      |
// | ------------ | ----------------------------------------------- | -------------------------- |
// | `hsm`        | hsm_utilisation (calls/s against capacity, or   | hsm_queue_depth            |
// |              | worker time)                                    |                            |
// | `issuer-<x>` | issuer_in_flight / issuer_workers               | issuer_queue_depth         |
// | `switch`     | process CPU against its cores: the reference    | switch_queue_depth (shedding)|
// |              | switch 1 (one Node thread), yours the profile's |                            |
// |              | switchMetrics.cores, else the machine's         |                            |
// | every program| process CPU, cores (rise of process_cpu_seconds_total per second) |  |
// | `toxiproxy`  | process CPU against the machine's cores (it runs on every core) |   |
//
// A resource is saturated when its busy fraction averages ≥ 0.9 over the window, or its queue grew through the
// window (the mean of its second half ≥ 3 and above the first half's by ≥ 1: work arrives faster than it
// leaves). The machine itself is a resource too: the lab programs' and the fleet's cores together against the
// machine's cores. The switch's in-flight count is shown but decides nothing: it grows whenever a backend
// behind the switch is the one saturated.

export const BUSY_BOUND = 0.9;
export const QUEUE_MIN = 3;

export interface ResourceReading {
  /** `hsm`, `issuer-a`, `switch`, `machine`. */
  resource: string;
  /** Mean busy fraction over the window, 0..1 (null: no such figure). */
  busy: number | null;
  /** Mean queue in the window's first and second half (null: no queue figure). */
  queue: { firstHalf: number; secondHalf: number } | null;
  /** Mean CPU over the window, cores (null: not scraped). */
  cores: number | null;
  saturated: boolean;
  /** Why it counts as saturated, or its figures when it does not: `utilisation 0.98`, `queue 0 → 210`. */
  signal: string;
}

const mean = (values: readonly number[]) =>
  values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;

const valuesAt = (values: readonly (number | null)[] | undefined, slots: readonly number[]) =>
  slots.map((s) => values?.[s]).filter((v): v is number => typeof v === "number" && Number.isFinite(v));

/** Cores from a CPU-seconds counter: its rise over the window's scraped slots, per second. */
function coresOf(
  series: RunSeries,
  counter: readonly (number | null)[] | undefined,
  slots: readonly number[],
) {
  const points = slots
    .map((s) => ({ s, v: counter?.[s] }))
    .filter((p): p is { s: number; v: number } => typeof p.v === "number");
  if (points.length < 2) return null;
  const first = points[0]!;
  const last = points[points.length - 1]!;
  const seconds = (last.s - first.s) * series.stepS;
  return seconds > 0 ? Math.max(0, (last.v - first.v) / seconds) : null;
}

function queueOf(values: readonly number[]): ResourceReading["queue"] {
  if (values.length < 2) return null;
  const half = Math.floor(values.length / 2);
  return { firstHalf: mean(values.slice(0, half))!, secondHalf: mean(values.slice(half))! };
}

const queueGrew = (q: ResourceReading["queue"]) =>
  q !== null && q.secondHalf >= QUEUE_MIN && q.secondHalf >= q.firstHalf + 1;

const fixed = (x: number, digits = 2) => +x.toFixed(digits);

function reading(
  resource: string,
  busy: number | null,
  queue: ResourceReading["queue"],
  cores: number | null,
  coreBound: number,
  shown?: string,
): ResourceReading {
  const reasons: string[] = [];
  if (busy !== null && busy >= BUSY_BOUND) reasons.push(`busy ${fixed(busy)}`);
  if (queueGrew(queue)) reasons.push(`queue ${fixed(queue!.firstHalf, 1)} → ${fixed(queue!.secondHalf, 1)}`);
  if (cores !== null && cores >= coreBound * BUSY_BOUND)
    reasons.push(`CPU ${fixed(cores)} of ${coreBound} core(s)`);
  const figures = [
    busy !== null ? `busy ${fixed(busy)}` : undefined,
    queue !== null ? `queue ${fixed(queue.firstHalf, 1)} → ${fixed(queue.secondHalf, 1)}` : undefined,
    cores !== null ? `CPU ${fixed(cores)} core(s)` : undefined,
    shown,
  ].filter(Boolean);
  return {
    resource,
    busy,
    queue,
    cores,
    saturated: reasons.length > 0,
    signal:
      reasons.length > 0
        ? [...reasons, ...(shown ? [shown] : [])].join(", ")
        : figures.join(", ") || "no figures",
  };
}

export interface SaturationInput {
  series: RunSeries;
  /** The judged window, seconds since load start. */
  fromS: number;
  toS: number;
  /** The fleet's mean CPU over the step, cores (run.json fleet.cpu.averageCores). */
  fleetCores?: number;
  /** The machine's cores. */
  machineCores: number;
  /** Cores the switch can use: 1 for the reference switch (default), yours from switchMetrics.cores. */
  switchCores?: number;
}

/** Every resource the series has figures for, in the order hsm, issuers, switch, machine. */
export function readResources(input: SaturationInput): ResourceReading[] {
  const { series } = input;
  const slots = slotsIn(input.fromS, input.toS, series.slots, series.stepS);
  const out: ResourceReading[] = [];
  let labCores = 0;
  let labCoresKnown = false;
  const roles = Object.keys(series.server).sort((a, b) => roleRank(a) - roleRank(b) || a.localeCompare(b));
  for (const role of roles) {
    const metrics = series.server[role]!;
    const cores = coresOf(series, metrics.process_cpu_seconds_total, slots);
    if (cores !== null) {
      labCores += cores;
      labCoresKnown = true;
    }
    if (role === "hsm") {
      out.push(
        reading(
          role,
          mean(valuesAt(metrics.hsm_utilisation, slots)),
          queueOf(valuesAt(metrics.hsm_queue_depth, slots)),
          cores,
          1,
        ),
      );
    } else if (role.startsWith("issuer-")) {
      const inFlight = valuesAt(metrics.issuer_in_flight, slots);
      const workers = mean(valuesAt(metrics.issuer_workers, slots));
      const busy = workers && inFlight.length > 0 ? mean(inFlight)! / workers : null;
      out.push(reading(role, busy, queueOf(valuesAt(metrics.issuer_queue_depth, slots)), cores, 1));
    } else if (role === "switch") {
      const inFlight = queueOf(valuesAt(metrics.switch_in_flight, slots));
      const shown = inFlight
        ? `in flight ${fixed(inFlight.firstHalf, 1)} → ${fixed(inFlight.secondHalf, 1)}`
        : undefined;
      const queue = queueOf(valuesAt(metrics.switch_queue_depth, slots));
      out.push(reading(role, null, queue, cores, input.switchCores ?? 1, shown));
    } else if (cores !== null) {
      // Toxiproxy (Go) may use every core; it carries every link's bytes.
      out.push(reading(role, null, null, cores, role === "toxiproxy" ? input.machineCores : 1));
    }
  }
  if (labCoresKnown || input.fleetCores !== undefined) {
    const total = labCores + (input.fleetCores ?? 0);
    out.push(reading("machine", null, null, total, input.machineCores));
  }
  return out;
}

const roleRank = (role: string) =>
  role === "hsm" ? 0 : role.startsWith("issuer-") ? 1 : role === "switch" ? 2 : 3;

/** How saturated a reading is, to rank resources saturated in the same step. */
export function pressure(r: ResourceReading): number {
  const queue = r.queue && queueGrew(r.queue) ? 1 + Math.min(1, r.queue.secondHalf / 100) : 0;
  return Math.max(r.busy ?? 0, queue, r.resource === "machine" ? 0 : (r.cores ?? 0));
}

export interface FirstSaturation {
  resource: string;
  /** Index of the first step (by rate, ascending) where it saturated. */
  stepIndex: number;
  rate: number;
  signal: string;
}

/**
 * The resource that saturated at the lowest rate. Among those saturated in that step, the lab program ahead of
 * the machine (a program is the cause; the machine's cores are shared by all), then the most pressed one.
 */
export function firstSaturated(
  steps: readonly { index: number; rate: number; resources: readonly ResourceReading[] }[],
): FirstSaturation | undefined {
  const byRate = [...steps].sort((a, b) => a.rate - b.rate || a.index - b.index);
  for (const step of byRate) {
    const saturated = step.resources.filter((r) => r.saturated);
    if (saturated.length === 0) continue;
    const programs = saturated.filter((r) => r.resource !== "machine");
    const pick = (programs.length > 0 ? programs : saturated).sort((a, b) => pressure(b) - pressure(a))[0]!;
    return { resource: pick.resource, stepIndex: step.index, rate: step.rate, signal: pick.signal };
  }
  return undefined;
}
