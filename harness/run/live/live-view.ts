import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type EntryRecord, INCIDENTS } from "../../chaos/index.ts";
import { timeoutsOf } from "../../fleet/index.ts";
import type { LiveCounts } from "../../fleet/live.ts";
import { chartData, faultWindows, type RunSeries } from "../../report/index.ts";
import { livePage } from "./live-page.ts";
import { ManualFaultError, type ManualFaults, type ManualRequest } from "./manual-faults.ts";

// The live view of a run: a page, its data as JSON, and the same figures as Prometheus text, served on
// 127.0.0.1 while the run goes (its address in run.json `live.url` and printed at start). Faults can be
// applied and cleared by hand through it, and the emergency stop clears every fault now.
//
//   GET  /                 the live page (charts updated once a second, buttons for the incident library)
//   GET  /state            what the page draws: totals, chart data so far, the timeline with manual entries
//   GET  /metrics          Prometheus text (docs/live-view.md lists the names and labels)
//   POST /faults           {"incident": id, "forS"?: s} or {"fault": {...}, "name"?, "forS"?}: applied now
//   DELETE /faults/<name>  clears one fault applied by hand
//   POST /emergency-stop   clears every fault, planned and manual, now (the load goes on)
//   POST /end              a rehearsal only: ends the load by hand (faults cleared), then the run reports

/** What the live view reads from the run that serves it. */
export interface LiveSource {
  runId: string;
  profile: string;
  durationS: number;
  /** Load start (ms since the epoch), once known. */
  loadStartMs(): number | undefined;
  /** The aggregator's series so far, once the load started. */
  series(): RunSeries | undefined;
  /** The planned timeline's records so far. */
  planned(): EntryRecord[];
  /** Each lab program's last scrape. */
  lab(): Record<string, Record<string, number>>;
  /** True once the fleet ended. */
  ended(): boolean;
  manual: ManualFaults;
  /** A rehearsal's end by hand (faults cleared, load stopped, then the report); absent for other runs. */
  end: (() => void) | undefined;
  /** Clears every fault now; the names cleared. */
  emergencyStop(): Promise<string[]>;
}

/** Lab metrics shown on the page and exported again, by role. */
const LAB_KEYS = [
  "switch_in_flight",
  "switch_queue_depth",
  "switch_sessions",
  "switch_pending_reversals",
  "hsm_utilisation",
  "hsm_queue_depth",
  "issuer_in_flight",
  "issuer_queue_depth",
  "process_cpu_seconds_total",
  "process_resident_memory_bytes",
];

export function liveState(source: LiveSource, live: LiveCounts) {
  const start = source.loadStartMs();
  const elapsedS = start === undefined ? 0 : Math.max(0, (Date.now() - start) / 1000);
  const timeline = [...source.planned(), ...source.manual.records()];
  // Active faults are shaded up to now.
  const windows = faultWindows(
    timeline.map((r) =>
      r.appliedAt && !r.clearedAt ? { ...r, forS: elapsedS - r.appliedAt.sinceStartS } : r,
    ),
    [],
  );
  const series = source.series();
  const c = live.counts;
  const lab: Record<string, Record<string, number>> = {};
  for (const [role, metrics] of Object.entries(source.lab())) {
    lab[role] = Object.fromEntries(
      [...Object.entries(metrics)].filter(([k]) => LAB_KEYS.includes(k.replace(/\{.*$/, ""))),
    );
  }
  return {
    runId: source.runId,
    profile: source.profile,
    durationS: source.durationS,
    elapsedS: Math.round(elapsedS * 10) / 10,
    started: start !== undefined,
    ended: source.ended(),
    signedIn: live.signedIn,
    reversalsOwed: c.reversals.queued - c.reversals.settled - c.reversals.abandoned,
    operations: c.ops,
    timeouts: timeoutsOf(c),
    dropped: c.dropped,
    charts: series ? chartData(series, windows) : { x: [], faults: windows, charts: [] },
    timeline,
    activeManual: source.manual.activeNames(),
    endable: source.end !== undefined && !source.ended(),
    lab,
    incidents: Object.values(INCIDENTS).map((i) => ({ id: i.id, title: i.title, needsRoot: i.needsRoot })),
  };
}

const label = (value: string) => value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

/** The live figures as Prometheus text (exposition format 0.0.4). */
export function liveMetrics(source: LiveSource, live: LiveCounts): string {
  const c = live.counts;
  const out: string[] = [];
  const metric = (name: string, type: string, help: string, rows: [Record<string, string>, number][]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of rows) {
      const text = Object.entries(labels)
        .map(([k, v]) => `${k}="${label(v)}"`)
        .join(",");
      out.push(`${name}${text ? `{${text}}` : ""} ${value}`);
    }
  };
  const run = { run: source.runId };
  const ops: [Record<string, string>, number][] = [];
  for (const [op, byOutcome] of Object.entries(c.ops))
    for (const [outcome, byCode] of Object.entries(byOutcome ?? {}))
      for (const [code, n] of Object.entries(byCode)) ops.push([{ ...run, op, outcome, code }, n]);
  metric("posstorm_operations_total", "counter", "operations ended, by operation, outcome and F39 code", ops);
  const start = source.loadStartMs();
  metric("posstorm_load_elapsed_seconds", "gauge", "seconds since load start", [
    [run, start === undefined ? 0 : Math.max(0, (Date.now() - start) / 1000)],
  ]);
  metric("posstorm_load_ended", "gauge", "1 once the fleet has ended", [[run, source.ended() ? 1 : 0]]);
  metric("posstorm_terminals_signed_in", "gauge", "terminals with a session now", [[run, live.signedIn]]);
  metric("posstorm_reversals_total", "counter", "reversals queued, settled and abandoned", [
    [{ ...run, event: "queued" }, c.reversals.queued],
    [{ ...run, event: "settled" }, c.reversals.settled],
    [{ ...run, event: "abandoned" }, c.reversals.abandoned],
  ]);
  metric("posstorm_reversals_owed", "gauge", "reversals the terminals still owe", [
    [run, c.reversals.queued - c.reversals.settled - c.reversals.abandoned],
  ]);
  metric("posstorm_dropped_arrivals_total", "counter", "open-model arrivals that found no free terminal", [
    [run, c.dropped],
  ]);
  const timeline = [...source.planned(), ...source.manual.records()];
  metric(
    "posstorm_fault_active",
    "gauge",
    "1 while a fault is in effect, by entry name, kind, target and origin",
    timeline
      .filter((r) => r.appliedAt !== undefined)
      .map((r) => [
        { ...run, name: r.name, kind: r.kind, target: r.target, origin: r.origin ?? "planned" },
        r.clearedAt ? 0 : 1,
      ]),
  );
  const lab: [Record<string, string>, number][] = [];
  for (const [role, metrics] of Object.entries(source.lab()))
    for (const [key, value] of Object.entries(metrics)) {
      const name = key.replace(/\{.*$/, "");
      if (LAB_KEYS.includes(name) && !key.includes("{")) lab.push([{ ...run, role, metric: name }, value]);
    }
  metric("posstorm_lab_metric", "gauge", "each lab program's key metrics, last scrape", lab);
  return `${out.join("\n")}\n`;
}

export interface LiveServer {
  url: string;
  close(): Promise<void>;
}

async function body(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 65_536) throw new ManualFaultError("request body over 64 KiB");
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  try {
    return text ? JSON.parse(text) : {};
  } catch {
    throw new ManualFaultError("request body is not JSON");
  }
}

function send(res: ServerResponse, status: number, type: string, text: string): void {
  res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
  res.end(text);
}
const json = (res: ServerResponse, status: number, value: unknown) =>
  send(res, status, "application/json; charset=utf-8", JSON.stringify(value));

/** Serves the live view on 127.0.0.1 (`port` 0: a free one). */
export async function startLiveServer(
  source: LiveSource,
  live: LiveCounts,
  opts: { port?: number; log?: (line: string) => void } = {},
): Promise<LiveServer> {
  const log = opts.log ?? (() => undefined);
  const page = livePage(source.runId);
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const route = `${req.method} ${url.pathname}`;
    const handle = async () => {
      if (route === "GET /") return send(res, 200, "text/html; charset=utf-8", page);
      if (route === "GET /favicon.ico") return send(res, 204, "image/x-icon", "");
      if (route === "GET /state") return json(res, 200, liveState(source, live));
      if (route === "GET /metrics")
        return send(res, 200, "text/plain; version=0.0.4; charset=utf-8", liveMetrics(source, live));
      if (route === "POST /faults") {
        const request = (await body(req)) as ManualRequest;
        const entries = await source.manual.apply(request);
        for (const e of entries)
          log(`fault by hand: ${e.name}: ${e.status}${e.error ? ` (${e.error})` : ""}`);
        return json(res, entries.every((e) => e.status === "active") ? 201 : 502, { entries });
      }
      if (req.method === "DELETE" && url.pathname.startsWith("/faults/")) {
        const name = decodeURIComponent(url.pathname.slice("/faults/".length));
        const cleared = await source.manual.clear(name);
        if (!cleared) return json(res, 404, { error: `no fault applied by hand named ${name}` });
        log(`fault cleared by hand: ${name}`);
        return json(res, 200, { entry: cleared });
      }
      if (route === "POST /end") {
        if (!source.end)
          return json(res, 409, { error: "only a rehearsal ends by hand; Ctrl-C interrupts a run" });
        source.end();
        return json(res, 202, { ending: true });
      }
      if (route === "POST /emergency-stop") {
        const cleared = await source.emergencyStop();
        log(`emergency stop: ${cleared.length ? cleared.join(", ") : "no fault was in effect"} cleared`);
        return json(res, 200, { cleared });
      }
      return json(res, 404, { error: `no ${route} here` });
    };
    handle().catch((error: unknown) => {
      const bad = error instanceof ManualFaultError;
      if (!res.headersSent)
        json(res, bad ? 400 : 500, { error: error instanceof Error ? error.message : String(error) });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
