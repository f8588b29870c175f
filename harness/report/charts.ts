import { percentileMs } from "./histogram.ts";
import { rateSeries, TIMEOUT_KINDS } from "./indicators.ts";
import type { PhaseWindow } from "./phases.ts";
import { operationsOf, perSlot, type RunSeries } from "./series.ts";

// The report's charts as data: one shared x axis (seconds since load start, one point per slot) and the
// series of each chart, computed from the run series. The HTML renderer only draws them.

export interface ChartLine {
  label: string;
  values: (number | null)[];
  /** Join points across missing values (scraped series). */
  spanGaps?: boolean;
}

export interface Chart {
  id: string;
  title: string;
  /** Y axis label. */
  unit: string;
  lines: ChartLine[];
  /** Why the chart is empty or partial. */
  note?: string;
}

export interface FaultWindow {
  name: string;
  /** Seconds since load start, as applied and cleared. */
  startS: number;
  endS: number;
  target?: string;
}

export interface ChartData {
  /** Slot start, seconds since load start. */
  x: number[];
  faults: FaultWindow[];
  charts: Chart[];
}

const round = (x: number, digits = 3) => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

/** Fault windows to shade: each applied timeline entry (apply → clear), or the fault phases without a timeline. */
export function faultWindows(
  entries: readonly {
    name: string;
    target: string;
    atS: number;
    forS: number;
    appliedAt?: { sinceStartS: number };
    clearedAt?: { sinceStartS: number };
    condition?: boolean;
  }[],
  phases: readonly PhaseWindow[],
): FaultWindow[] {
  if (entries.length === 0) {
    return phases
      .filter((p) => p.kind === "fault")
      .map((p) => ({
        name: p.fault ?? p.name,
        startS: round(p.startS),
        endS: round(p.endS),
        ...(p.target ? { target: p.target } : {}),
      }));
  }
  return entries
    .filter((e) => e.appliedAt !== undefined && !e.condition)
    .map((e) => {
      const startS = e.appliedAt!.sinceStartS;
      return {
        name: e.name,
        startS: round(startS),
        endS: round(e.clearedAt?.sinceStartS ?? startS + e.forS),
        target: e.target,
      };
    });
}

export function chartData(
  series: RunSeries,
  faults: readonly FaultWindow[],
  /** Your switch's metrics to chart (the profile's switchMetrics.chart): gauges as they are, counters per second. */
  switchMetrics: readonly string[] = [],
): ChartData {
  const x = Array.from({ length: series.slots }, (_, i) => i * series.stepS);
  const perSecond = (values: number[]) => values.map((v) => round(v / series.stepS));
  const charts: Chart[] = [];

  const outcomes = [...new Set(Object.values(series.ops).flatMap((byOutcome) => Object.keys(byOutcome)))];
  charts.push({
    id: "throughput",
    title: "Throughput by outcome (all operations)",
    unit: "operations/s",
    lines: outcomes.sort(outcomeOrder).map((outcome) => ({
      label: outcome,
      values: perSecond(perSlot(series, series.ops, undefined, (k) => k === outcome)),
    })),
  });

  for (const op of operationsOf(series)) {
    const slots = series.latency[op] ?? [];
    const at = (p: number) => slots.map((h) => (h ? percentileMs(h, p) : null));
    charts.push({
      id: `latency-${op}`,
      title: `Latency: ${op} (per second, from HDR histograms)`,
      unit: "ms",
      lines: [
        { label: "p50", values: at(50) },
        { label: "p95", values: at(95) },
        { label: "p99", values: at(99) },
      ],
    });
  }

  charts.push({
    id: "timeout-rate",
    title: "Timeout rate by kind (all operations)",
    unit: "% of attempts",
    lines: TIMEOUT_KINDS.map((kind) => {
      const { events, attempts } = rateSeries(series, { indicator: "timeout-rate", kind });
      return {
        label: kind,
        values: events.map((e, i) => (attempts[i]! > 0 ? round((e / attempts[i]!) * 100) : null)),
      };
    }),
  });

  const codes = [...new Set(Object.values(series.codes).flatMap((byCode) => Object.keys(byCode)))].sort();
  charts.push({
    id: "codes",
    title: "Replies by response code (F39, all operations)",
    unit: "replies/s",
    lines: codes.map((code) => ({
      label: code,
      values: perSecond(perSlot(series, series.codes, undefined, (k) => k === code)),
    })),
  });

  charts.push({
    id: "signed-in",
    title: "Terminals signed in",
    unit: "terminals",
    lines: [{ label: "signed in", values: series.signedIn }],
  });

  const server = (role: string, key: string, scale = 1): (number | null)[] | undefined => {
    const values = series.server[role]?.[key];
    return values?.map((v) => (v === null ? null : round(v * scale)));
  };
  const scraped = (lines: (ChartLine | undefined)[]) => lines.filter((l): l is ChartLine => l !== undefined);
  const line = (label: string, values: (number | null)[] | undefined): ChartLine | undefined =>
    values ? { label, values, spanGaps: true } : undefined;
  const scrapes = Math.max(
    0,
    ...Object.values(series.server).flatMap((m) =>
      Object.values(m).map((v) => v.filter((x) => x !== null).length),
    ),
  );
  const serverNote =
    scrapes <= 1 ? "only the final scrape of /metrics: the run kept no per-second scrapes" : undefined;

  const late = series.server.switch?.switch_late_replies_total;
  charts.push({
    id: "switch",
    title: "Switch: in flight, queue, pending reversals, late replies",
    unit: "requests",
    lines: scraped([
      line("in flight", server("switch", "switch_in_flight")),
      line("queue depth", server("switch", "switch_queue_depth")),
      line("pending reversals", server("switch", "switch_pending_reversals")),
      line("late replies/s", late ? counterRate(late, series.stepS) : undefined),
    ]),
    ...(serverNote ? { note: serverNote } : {}),
  });

  charts.push({
    id: "hsm",
    title: "HSM utilisation and queue",
    unit: "% busy / calls",
    lines: scraped([
      line("utilisation %", server("hsm", "hsm_utilisation", 100)),
      line("queue depth", server("hsm", "hsm_queue_depth")),
      line("in flight", server("hsm", "hsm_in_flight")),
    ]),
    ...(serverNote ? { note: serverNote } : {}),
  });

  const issuers = Object.keys(series.server)
    .filter((role) => role.startsWith("issuer-"))
    .sort();
  if (issuers.length > 0) {
    charts.push({
      id: "issuers",
      title: "Issuers: in flight and queue",
      unit: "requests",
      lines: scraped(
        issuers.flatMap((role) => [
          line(`${role} in flight`, server(role, "issuer_in_flight")),
          line(`${role} queue`, server(role, "issuer_queue_depth")),
        ]),
      ),
      ...(serverNote ? { note: serverNote } : {}),
    });
  }

  const roles = Object.keys(series.server)
    .filter((role) => series.server[role]?.process_resident_memory_bytes)
    .sort();
  if (roles.length > 0) {
    charts.push({
      id: "memory",
      title: "Lab programs: resident memory",
      unit: "MiB",
      lines: scraped(
        roles.map((role) => line(role, server(role, "process_resident_memory_bytes", 1 / 2 ** 20))),
      ),
      ...(serverNote ? { note: serverNote } : {}),
    });
  }

  if (switchMetrics.length > 0) {
    const scrapedSwitch = series.server.switch ?? {};
    const lines: ChartLine[] = [];
    for (const name of switchMetrics) {
      const keys = Object.keys(scrapedSwitch).filter((k) => k === name || k.replace(/\{.*$/, "") === name);
      for (const key of keys.sort()) {
        const values = scrapedSwitch[key]!;
        lines.push(
          /_total$/.test(name)
            ? { label: `${key} /s`, values: counterRate(values, series.stepS), spanGaps: true }
            : { label: key, values: values.map((v) => (v === null ? null : round(v))), spanGaps: true },
        );
      }
    }
    charts.push({
      id: "your-switch",
      title: "Your switch's metrics",
      unit: "value (counters per second)",
      lines,
      ...(lines.length === 0
        ? { note: `none of ${switchMetrics.join(", ")} was scraped from the switch's metrics page` }
        : {}),
    });
  }

  return {
    x,
    faults: [...faults],
    charts,
  };
}

/** Per-second increase of a scraped counter (null where a scrape is missing; a reset counts from 0). */
export function counterRate(values: readonly (number | null)[], stepS: number): (number | null)[] {
  let previous: { value: number; slot: number } | undefined;
  return values.map((v, slot) => {
    if (v === null) return null;
    const out = previous
      ? Math.max(0, v >= previous.value ? v - previous.value : v) / ((slot - previous.slot) * stepS)
      : null;
    previous = { value: v, slot };
    return out === null ? null : round(out);
  });
}

const OUTCOME_ORDER = ["approved", "declined", "timeout.connect", "timeout.response", "timeout.idle"];
function outcomeOrder(a: string, b: string): number {
  const ia = OUTCOME_ORDER.indexOf(a);
  const ib = OUTCOME_ORDER.indexOf(b);
  return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
}
