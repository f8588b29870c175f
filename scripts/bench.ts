#!/usr/bin/env node
// `npm run bench [-- suite…]`: runs the registered benchmark suites one after the other on this machine and
// writes docs/benchmarks.md (machine, date, command, one section per suite). To add a suite, append an entry to
// `suites` whose run() returns a Section.

import { readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { connectToxiproxy } from "../harness/chaos/toxiproxy.ts";
import { freePort } from "../harness/lab/ports.ts";
import { startToxiproxy } from "../harness/lab/toxiproxy.ts";
import { benchCodec } from "../harness/protocol/codec.bench.ts";
import { benchCodecInK6 } from "../harness/protocol/codec.k6.bench.ts";
import { benchSwitch, type Via } from "../harness/sim/switch/switch.bench.ts";

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
          "(harness/protocol/codec.bench.ts, workloads in harness/protocol/testing/saleRoundTrip.ts). A round " +
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
    name: "codec-k6",
    async run() {
      const { k6Version, durationSeconds, figures } = await benchCodecInK6(5);
      return {
        title: "ISO 8583 codec inside k6 (one VU)",
        intro:
          `The same round trips inside the k6 binary (${k6Version}; sobek JavaScript engine, no JIT), one VU for ` +
          `${durationSeconds} s per case (harness/k6/smoke/codec-roundtrip.ts, figures from k6's summary). The first ` +
          "row is what one terminal VU spends on the codec per purchase; the others loop 20 round trips per " +
          "iteration to measure the codec rather than k6's per-iteration overhead.",
        notes: [
          "The engine interprets JavaScript, so the codec costs about 100 times more CPU than in Node: budget " +
            "the first row's figure per k6 core when sizing a terminal fleet (a MAC'd purchase also needs its " +
            "reply decoded and verified).",
        ],
        columns: ["case", "round trips per iteration", "iterations/s", "round trips/s", "µs per round trip"],
        rows: figures.map((f) => [
          f.case,
          String(f.roundTripsPerIteration),
          perSecond(f.iterationsPerSecond),
          perSecond(f.roundTripsPerSecond),
          micros(f.microsecondsPerRoundTrip),
        ]),
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
          "the issuer answer at once (harness/sim/switch/switch.bench.ts). Direct: terminals connect to the switch; " +
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
