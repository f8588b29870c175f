#!/usr/bin/env node
// `npm run bench [-- suite…]`: runs the registered benchmark suites one after the other on this machine and
// writes docs/benchmarks.md (machine, date, command, one section per suite). To add a suite, append an entry to
// `suites` whose run() returns a Section.

import { readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { agentsSection, benchAgents } from "../bench/agents.bench.ts";
import { benchCodec } from "../bench/codec.bench.ts";
import { benchFleetRate, benchOpen, benchStorm, type RateFigure } from "../bench/fleet.bench.ts";
import { ceilingSection, openSection, rateSection, stormSection } from "../bench/fleet-sections.ts";
import { benchFleetClosed, benchNodeOpen } from "../bench/like-for-like.ts";
import { closedSection, nodeOpenSection } from "../bench/like-for-like-sections.ts";
import { benchNodeCeiling, type NodeFigure } from "../bench/node-ceiling.ts";
import { benchReport, type RenderFigures } from "../bench/report.bench.ts";
import { benchSwitch, type Via } from "../bench/switch.bench.ts";
import { connectToxiproxy } from "../harness/chaos/toxiproxy.ts";
import { freePort } from "../harness/lab/ports.ts";
import { startToxiproxy } from "../harness/lab/toxiproxy.ts";

/** One suite's part of docs/benchmarks.md: a table and the words around it. */
export interface Section {
  title: string;
  /** What was measured and how, above the table. */
  intro: string;
  columns: string[];
  rows: string[][];
  /** Lines below the table. */
  notes?: string[];
}

export interface BenchSuite {
  name: string;
  run(): Promise<Section>;
}

const repo = join(dirname(fileURLToPath(import.meta.url)), "..");
const OUTPUT = join(repo, "docs", "benchmarks.md");

const perSecond = (value: number) => Math.round(value).toLocaleString("en-US");
const micros = (value: number) => value.toFixed(2);
const progress = (line: string) => console.error(`  ${line}`);
/** The fleet-rate result of this invocation, for node-ceiling's ratio and fleet-open's rate. */
let fleetRate: RateFigure | undefined;
/** The node-ceiling result of this invocation, for fleet-open's rate. */
let nodeCeiling: NodeFigure | undefined;

export const suites: BenchSuite[] = [
  {
    name: "codec-node",
    async run() {
      const durationMs = 2000;
      const figures = benchCodec({ durationMs, warmupMs: 500 });
      return {
        title: "ISO 8583 codec in Node (harness/protocol)",
        intro:
          `0200 purchase round trips on one thread, ${durationMs / 1000} s per case after a 0.5 s warm-up ` +
          "(bench/codec.bench.ts, workloads in harness/protocol/testing/saleRoundTrip.ts). A round " +
          "trip encodes a frame (length, TPDU, header, 16 fields; F64 when MAC'd), decodes it, verifies the MAC " +
          "and compares the values; STAN and amount change every time. The UnionPay ECB MAC uses a single-length " +
          "MAK, X9.19 a double-length one. Goal: at least 100,000 MAC'd round trips/s.",
        columns: [
          "case",
          "round trips/s (wall clock)",
          "round trips per CPU second",
          "CPU µs per round trip",
          "frame bytes",
        ],
        rows: figures.map((f) => [
          f.case,
          perSecond(f.roundTripsPerSecond),
          perSecond(f.roundTripsPerCpuSecond),
          micros(f.microsecondsPerRoundTrip),
          String(f.frameBytes),
        ]),
        notes: [
          "Round trips per CPU second divide by the CPU time the process used (GC threads included), so they " +
            "stay close to the single-core figure when other processes share the machine; wall-clock figures " +
            "drop with the load average shown above.",
        ],
      };
    },
  },
  {
    name: "switch",
    async run() {
      const terminals = 200;
      const seconds = 5;
      const viaToxiproxy: Via = async (switchPort) => {
        const toxiproxy = await startToxiproxy({ session: `bench-${Date.now()}` });
        const port = await freePort();
        await connectToxiproxy(toxiproxy.apiUrl).createProxy({
          name: "edge",
          listen: `127.0.0.1:${port}`,
          upstream: `127.0.0.1:${switchPort}`,
        });
        return { port, close: () => toxiproxy.stop() };
      };
      const direct = await benchSwitch({ terminals, seconds });
      const proxied = await benchSwitch({ terminals, seconds, via: viaToxiproxy });
      const row = (path: string, f: typeof direct) => [
        path,
        perSecond(f.purchasesPerSecond),
        f.p50Ms.toFixed(2),
        f.p99Ms.toFixed(2),
        f.switchCpuMsPer1000.toFixed(1),
        perSecond(f.purchasesPerSwitchCpuSecond),
        Object.entries(f.codes)
          .map(([code, n]) => `${code}: ${n}`)
          .join(", "),
      ];
      return {
        title: "Reference switch (harness/sim/switch)",
        intro:
          `${terminals} signed-in terminals on long connections send MAC'd purchases back to back (one outstanding ` +
          `each) for ${seconds} s after a 1 s warm-up; the switch runs as its own process (main.ts), the HSM and ` +
          "the issuer answer at once (bench/switch.bench.ts). Direct: terminals connect to the switch; " +
          "through Toxiproxy: to an `edge` proxy (the Toxiproxy image, no toxic) in front of it. The switch's CPU " +
          "comes from /proc. Goal: at least 10,000 purchases/s direct on one core.",
        columns: [
          "path",
          "purchases/s (wall clock)",
          "p50 ms",
          "p99 ms",
          "switch CPU ms per 1,000 purchases",
          "purchases per switch CPU second",
          "F39 of all 0210s",
        ],
        rows: [row("direct", direct), row("through Toxiproxy", proxied)],
        notes: [
          "The terminals, HSM and issuer share the 2 cores with the switch, so the wall-clock rate is bounded by " +
            "the load generator as much as by the switch; purchases per switch CPU second is the one-core figure.",
        ],
      };
    },
  },
  {
    name: "fleet-storm",
    async run() {
      return stormSection(await benchStorm({ progress }));
    },
  },
  {
    name: "fleet-rate",
    async run() {
      fleetRate = await benchFleetRate({ progress });
      return rateSection(fleetRate);
    },
  },
  {
    name: "node-ceiling",
    async run() {
      nodeCeiling = await benchNodeCeiling({ progress });
      return ceilingSection(nodeCeiling, fleetRate);
    },
  },
  {
    name: "fleet-closed",
    async run() {
      return closedSection(await benchFleetClosed({ progress }), nodeCeiling);
    },
  },
  {
    name: "node-open",
    async run() {
      return nodeOpenSection(await benchNodeOpen({ progress }), fleetRate);
    },
  },
  {
    name: "agents",
    async run() {
      return agentsSection(await benchAgents({ progress }));
    },
  },
  {
    name: "fleet-open",
    async run() {
      // 1,000/s, or 90% of the Node ceiling measured in this invocation when that is lower (in 50s).
      const ceiling = nodeCeiling?.maxPerSecond ?? 0;
      const ratePerS =
        ceiling > 0 && ceiling * 0.9 < 1000 ? Math.max(50, Math.floor((ceiling * 0.9) / 50) * 50) : 1000;
      return openSection(await benchOpen({ ratePerS, durationS: 30, progress }));
    },
  },
  {
    name: "report",
    async run() {
      const seconds = 600;
      const opsPerS = 2000;
      const f = await benchReport({ seconds, opsPerS, progress });
      const r = f.run;
      const megabytes = (bytes: number) =>
        bytes >= 1e6
          ? `${(bytes / 1e6).toLocaleString("en-US", { maximumFractionDigits: 1 })} MB`
          : `${Math.ceil(bytes / 1e3)} kB`;
      const row = (label: string, x: RenderFigures | undefined) =>
        x ? [label, x.wallS.toFixed(2), x.cpuS.toFixed(2), x.maxRssMiB.toFixed(0)] : [label, "", "", ""];
      const [fromRaw, steps, fromSeries] = f.renders;
      const [rawNoLedgers, seriesNoLedgers] = f.withoutLedgers;
      const total = Object.values(f.disk).reduce((a, b) => a + b, 0);
      const ledgerBytes = Object.entries(f.disk)
        .filter(([file]) => file.includes(".ledger."))
        .reduce((a, [, n]) => a + n, 0);
      const s = r.samples;
      const outcomes = Object.entries(r.outcomes)
        .sort(([, a], [, b]) => b - a)
        .map(([outcome, n]) => `${outcome} ${n.toLocaleString("en-US")}`)
        .join(", ");
      return {
        title: "Report generation: a 10-minute run at 2,000 operations/s",
        intro:
          `A synthetic run folder as \`posstorm run\` leaves it (bench/report.bench.ts \`writeSyntheticRun\`): ` +
          `${(r.operations / 1e6).toFixed(1)} M operations over ${seconds} s at ${perSecond(opsPerS)}/s (open model, ` +
          "20,000 terminals in 2 segments; 95 % purchases, 4 % sign-ins, reversals) as the fleet engine's raw " +
          "samples in samples.ndjson.gz (harness/fleet/samples.ts: one JSON line per operation with its intended " +
          "start, outcome, F39, latency from the intended start, lateness and TID, and per event: sessions, " +
          "reversals queued, retried, settled or abandoned, unsettled purchases with TID, STAN, batch and reason), " +
          "in the order the operations end, gzipped at level 3 as runFleet stores them, every batch also parsed and " +
          "fed to the streaming aggregator (Aggregator.addSample) as `posstorm run` does; run.json's loadStartedAt " +
          "is their time zero. 98.8 % approved, 0.8 % declined (each an unsettled purchase too), a few connect " +
          "timeouts, resets and closes. Fault window 300–360 s: issuer a (3 purchases in 4) answers in 2 s, or for " +
          "40 % after the 30 s response timeout; each such purchase owes a reversal (unsettled, reason 98), sent " +
          "and approved later (issuer a's backlog drains over 10 s after the fault). Four programs scraped every " +
          "second; the issuers' ledgers as collect() stores them (every purchase they saw, one JSON entry per line, " +
          "gzipped). Then `posstorm report` (renderRun: series, ledgers, 9 SLOs incl. windows, recovery and " +
          "one-sided, verdict.json, summary.md, junit.xml, report.html) in a Node process of its own per row: wall " +
          "time, CPU (process.cpuUsage) and the kernel's peak RSS of that process (resourceUsage().maxRSS). The " +
          "step rows run renderRun's steps one by one in one process (peak RSS so far).",
        columns: ["report", "wall s", "CPU s", "peak RSS MiB"],
        rows: [
          row(
            "from samples.ndjson.gz (`posstorm report --reaggregate`, or a folder without series.json)",
            fromRaw,
          ),
          ...(steps?.steps ?? []).map((step) => [
            `… ${step.step}`,
            step.wallS.toFixed(3),
            "",
            step.maxRssMiB.toFixed(0),
          ]),
          row(
            "from series.json (`posstorm report`; the end of `posstorm run`, which aggregates the samples as they arrive)",
            fromSeries,
          ),
          row("from samples.ndjson.gz, without the ledgers", rawNoLedgers),
          row("from series.json, without the ledgers", seriesNoLedgers),
        ],
        notes: [
          `samples.ndjson.gz: ${(s.records / 1e6).toFixed(2)} M records (${(r.operations / 1e6).toFixed(2)} M ` +
            `operations, ${((s.records - r.operations) / 1e3).toFixed(0)} k events), ${megabytes(s.bytes)} of NDJSON ` +
            `(${(s.bytes / s.records).toFixed(0)} B per record), stored as **${megabytes(s.gzipBytes)} gzipped: ` +
            `${(s.gzipBytes / r.operations).toFixed(1)} B per operation**. Writing the samples to the gzip stream, ` +
            "parsing them, counting them by outcome and feeding the aggregator, as `posstorm run`'s main thread does " +
            `with what the segments send, took ${r.recordS.toFixed(1)} s for the ${seconds} s of load ` +
            `(${((r.recordS / seconds) * 100).toFixed(1)} % of a core; waits for the gzip stream included), of ` +
            `which ${r.aggregateS.toFixed(1)} s parsing, counting and aggregating. Outcomes: ${outcomes}.`,
          `Disk after the report: ${Object.entries(f.disk)
            .sort(([, a], [, b]) => b - a)
            .map(([file, n]) => `${file} ${megabytes(n)}`)
            .join(", ")}; ${megabytes(total)} in all.`,
          ...(ledgerBytes > 0
            ? [
                `The issuers' ledgers (${(r.ledgerEntries / 1e6).toFixed(2)} M entries) are ${megabytes(ledgerBytes)} ` +
                  `of the ${megabytes(total)}. \`reconcileRun\` streams them (gunzip, one line at a time) and keeps ` +
                  "each issuer's tallies and only the entries an unsettled purchase names " +
                  `(${r.unsettled.toLocaleString("en-US")} here): with them the report peaks at ` +
                  `${fromSeries?.maxRssMiB.toFixed(0) ?? "?"} MiB from series.json and ` +
                  `${fromRaw?.maxRssMiB.toFixed(0) ?? "?"} MiB from the raw samples, without them at ` +
                  `${seriesNoLedgers?.maxRssMiB.toFixed(0) ?? "?"} and ${rawNoLedgers?.maxRssMiB.toFixed(0) ?? "?"} MiB; ` +
                  `reading them costs ${fromSeries && seriesNoLedgers ? (fromSeries.wallS - seriesNoLedgers.wallS).toFixed(1) : "?"} s.`,
              ]
            : []),
        ],
      };
    },
  },
];

function machine(): [string, string][] {
  const model = (() => {
    try {
      return /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim();
    } catch {
      return undefined;
    }
  })();
  return [
    ["CPU", model ?? cpus()[0]?.model ?? "unknown"],
    ["cores", String(cpus().length)],
    ["memory", `${(totalmem() / 2 ** 30).toFixed(1)} GiB`],
    ["Node", process.version],
    ["OS", `${process.platform} ${process.arch}, kernel ${release()}`],
    ["load average (1 min) at start", loadavg()[0]!.toFixed(2)],
  ];
}

function table(columns: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.map((cell) => cell.replace(/\|/g, "\\|")).join(" | ")} |`;
  return [line(columns), line(columns.map(() => "---")), ...rows.map(line)].join("\n");
}

/** One suite's markdown, between markers so a later run of other suites keeps it. */
export function renderSection(name: string, date: Date, host: [string, string][], section: Section): string {
  const parts = [`<!-- suite:${name} -->`, `## ${section.title}`, "", section.intro];
  if (section.columns.length > 0) parts.push("", table(section.columns, section.rows));
  if (section.notes?.length) parts.push("", ...section.notes);
  parts.push(
    "",
    `Measured ${date.toISOString().replace(/\.\d+Z$/, "Z")} with \`npm run bench -- ${name}\` on: ` +
      host.map(([k, v]) => `${k} ${v}`).join("; ") +
      ".",
    `<!-- /suite:${name} -->`,
  );
  return parts.join("\n");
}

/** The sections already in docs/benchmarks.md, by suite name. */
function existingSections(): Map<string, string> {
  const out = new Map<string, string>();
  let text = "";
  try {
    text = readFileSync(OUTPUT, "utf8");
  } catch {
    return out;
  }
  for (const match of text.matchAll(/<!-- suite:([\w-]+) -->[\s\S]*?<!-- \/suite:\1 -->/g))
    out.set(match[1]!, match[0]);
  return out;
}

export function renderBenchmarks(sections: Map<string, string>): string {
  const parts = [
    "# Benchmarks",
    "",
    "Written by `npm run bench` (scripts/bench.ts; `npm run bench -- <suite>` reruns one suite and keeps the " +
      "others). Suites run one after the other, single-threaded; each section names its date, command and " +
      "machine. These machines are noisy: compare figures measured in one run.",
  ];
  for (const suite of suites) {
    const section = sections.get(suite.name);
    if (section) parts.push("", section);
  }
  return `${parts.join("\n")}\n`;
}

async function main(argv: string[]): Promise<void> {
  const selected = argv.length === 0 ? suites : suites.filter((suite) => argv.includes(suite.name));
  const unknown = argv.filter((name) => !suites.some((suite) => suite.name === name));
  if (unknown.length > 0) {
    console.error(`unknown suite(s): ${unknown.join(", ")}; known: ${suites.map((s) => s.name).join(", ")}`);
    process.exitCode = 2;
    return;
  }
  const sections = existingSections();
  for (const suite of selected) {
    console.error(`bench: ${suite.name} …`);
    const host = machine();
    try {
      sections.set(suite.name, renderSection(suite.name, new Date(), host, await suite.run()));
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      console.error(`bench: ${suite.name} failed: ${reason}`);
      const failed = { title: suite.name, intro: `Not measured: ${reason}`, columns: [], rows: [] };
      sections.set(suite.name, renderSection(suite.name, new Date(), host, failed));
      process.exitCode = 1;
    }
  }
  writeFileSync(OUTPUT, renderBenchmarks(sections));
  console.error(`bench: wrote ${OUTPUT}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main(process.argv.slice(2));
