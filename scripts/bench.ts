#!/usr/bin/env node
// `npm run bench [-- suite…]`: runs the registered benchmark suites one after the other on this machine and
// writes docs/benchmarks.md (machine, date, command, one section per suite). To add a suite, append an entry to
// `suites` whose run() returns a Section.

import { readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { benchCodec } from "../harness/protocol/codec.bench.ts";
import { benchCodecInK6 } from "../harness/protocol/codec.k6.bench.ts";

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

export function renderBenchmarks(date: Date, host: [string, string][], sections: Section[]): string {
  const parts = [
    "# Benchmarks",
    "",
    `Measured ${date.toISOString().replace(/\.\d+Z$/, "Z")} with \`npm run bench\` (scripts/bench.ts), which writes this file. ` +
      "Suites run one after the other, single-threaded; other load on the machine lowers the figures.",
    "",
    table(["machine", ""], host),
  ];
  for (const section of sections) {
    parts.push("", `## ${section.title}`, "", section.intro);
    if (section.columns.length > 0) parts.push("", table(section.columns, section.rows));
    if (section.notes?.length) parts.push("", ...section.notes);
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
  const host = machine();
  const sections: Section[] = [];
  for (const suite of selected) {
    console.error(`bench: ${suite.name} …`);
    try {
      sections.push(await suite.run());
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      console.error(`bench: ${suite.name} failed: ${reason}`);
      sections.push({ title: suite.name, intro: `Not measured: ${reason}`, columns: [], rows: [] });
      process.exitCode = 1;
    }
  }
  writeFileSync(OUTPUT, renderBenchmarks(new Date(), host, sections));
  console.error(`bench: wrote ${OUTPUT}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main(process.argv.slice(2));
