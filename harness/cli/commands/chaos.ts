import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Argv, CommandModule } from "yargs";
import {
  type AppliedFault,
  applyFault,
  clearKernelFaults,
  describeFault,
  FAULT_KINDS,
  type Fault,
  type FaultKind,
  INCIDENTS,
  isIncidentId,
  isNetworkProfileName,
  type LinkName,
  NETWORK_PROFILES,
  networkProfile,
  SWITCH_RUNTIME_SETTINGS,
  startTimeline,
  type TimelineEntry,
  validateFault,
} from "../../chaos/index.ts";
import { type ReachedLab, reachLab } from "../../lab/controls.ts";
import { newestLabDir, readRunJson } from "../../run-folder/index.ts";
import { REPO_ROOT } from "../../shared/repo.ts";

const REPORTS = join(REPO_ROOT, "reports");

// ---- arguments → faults (pure, unit-tested) -------------------------------------------------------

export interface FaultArgs {
  fault?: string;
  link?: string;
  direction?: string;
  toxicity?: number;
  "latency-ms"?: number;
  "jitter-ms"?: number;
  "rate-kbps"?: number;
  "delay-ms"?: number;
  "timeout-ms"?: number;
  "average-size-bytes"?: number;
  "size-variation-bytes"?: number;
  "delay-us"?: number;
  bytes?: number;
  probability?: number;
  damage?: string;
  fraction?: number;
  "off-ms"?: number;
  "loss-percent"?: number;
  method?: string;
  issuer?: string;
  "median-ms"?: number;
  "p99-ms"?: number;
  "response-mix"?: string;
  "capacity-per-second"?: number;
  "connections-per-second"?: number;
  "hold-open-s"?: number;
  set?: string[];
  "down-ms"?: number;
}

/** Fault field → its command-line flag. */
const FLAGS: Record<string, keyof FaultArgs> = {
  link: "link",
  direction: "direction",
  toxicity: "toxicity",
  latencyMs: "latency-ms",
  jitterMs: "jitter-ms",
  rateKBps: "rate-kbps",
  delayMs: "delay-ms",
  timeoutMs: "timeout-ms",
  averageSizeBytes: "average-size-bytes",
  sizeVariationBytes: "size-variation-bytes",
  delayUs: "delay-us",
  bytes: "bytes",
  probability: "probability",
  damage: "damage",
  fraction: "fraction",
  offMs: "off-ms",
  lossPercent: "loss-percent",
  method: "method",
  issuer: "issuer",
  medianMs: "median-ms",
  p99Ms: "p99-ms",
  responseMix: "response-mix",
  capacityPerSecond: "capacity-per-second",
  connectionsPerSecond: "connections-per-second",
  holdOpenS: "hold-open-s",
  settings: "set",
  downMs: "down-ms",
};

/** `--issuer a` or `--issuer issuer-a` → `issuer-a`. */
const issuerRole = (text: string) =>
  (text.startsWith("issuer-") ? text : `issuer-${text}`) as `issuer-${string}`;

const takesLink = (kind: FaultKind) => ["toxiproxy", "kernel", "harness"].includes(FAULT_KINDS[kind].layer);

function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** `00:90,91:10` (or JSON) → `{"00": 90, "91": 10}`. */
export function parseResponseMix(text: string): unknown {
  if (text.trim().startsWith("{")) return parseValue(text);
  return Object.fromEntries(
    text
      .split(",")
      .filter((part) => part.trim() !== "")
      .map((part) => {
        const [code = "", weight = ""] = part.split(":").map((s) => s.trim());
        return [code, weight === "" ? Number.NaN : Number(weight)];
      }),
  );
}

/** `--set issuerTimeoutMs=5000 --set shedding=true` → settings; `fleet` takes a comma list. */
export function parseSettings(pairs: readonly string[]): Record<string, unknown> {
  const settings: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0)
      throw new Error(
        `--set ${pair}: expected name=value (runtime settings: ${SWITCH_RUNTIME_SETTINGS.join(", ")})`,
      );
    const name = pair.slice(0, eq);
    const text = pair.slice(eq + 1);
    const value = parseValue(text);
    settings[name] = name === "fleet" && typeof value === "string" ? value.split(",") : value;
  }
  return settings;
}

/** The fault the flags describe; throws naming every bad flag (`--latency-ms: -5 must be >= 0`). */
export function faultFromArgs(args: FaultArgs): Fault {
  const kind = args.fault;
  if (!kind || !(kind in FAULT_KINDS)) {
    throw new Error(
      `--fault ${kind ?? "(missing)"}: not a fault kind (${Object.keys(FAULT_KINDS).join(", ")})`,
    );
  }
  const raw: Record<string, unknown> = { kind };
  if (takesLink(kind as FaultKind)) raw.link = args.link ?? "edge";
  for (const [field, flag] of Object.entries(FLAGS)) {
    if (field === "link") continue;
    const value = args[flag];
    if (value === undefined) continue;
    if (field === "issuer") raw.issuer = issuerRole(String(value));
    else if (field === "responseMix") raw.responseMix = parseResponseMix(String(value));
    else if (field === "settings") raw.settings = parseSettings(value as string[]);
    else raw[field] = value;
  }
  const problems = validateFault(raw, "fault").map((p) =>
    p
      .replace(/^fault\.(\w+)/, (_, field: string) => `--${FLAGS[field] ?? field}`)
      .replace(/^fault\b/, "--fault"),
  );
  if (problems.length > 0) throw new Error(problems.join("; "));
  return raw as Fault;
}

// ---- the lab to act on ----------------------------------------------------------------------------

export type Target = ReachedLab;

/** The lab from --lab, --toxiproxy, or the newest lab.json under reports/. */
export function resolveTarget(args: { lab?: string; toxiproxy?: string }): Promise<Target> {
  const labDir = args.lab ?? (args.toxiproxy ? undefined : newestLabDir(REPORTS));
  return reachLab({
    ...(labDir ? { labDir } : {}),
    ...(args.toxiproxy ? { toxiproxyUrl: args.toxiproxy } : {}),
  });
}

/** A running run's live view: from its id (under reports/) or its folder; throws when it is not running. */
export function liveUrlOf(run: string, reportsDir = REPORTS): string {
  const dir = existsSync(join(run, "run.json")) ? run : join(reportsDir, run);
  let facts: ReturnType<typeof readRunJson>;
  try {
    facts = readRunJson(dir);
  } catch {
    throw new Error(`--run ${run}: no run.json in ${dir}`);
  }
  if (facts.status !== "running" || !facts.live)
    throw new Error(
      `--run ${run}: the run is ${facts.status}, not running: faults by hand need a running run`,
    );
  return facts.live.url;
}

/** Sends one request to a run's live view; its JSON answer, or an error naming what the run said. */
async function callRun(url: string, method: string, body?: unknown): Promise<Record<string, unknown>> {
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers: { "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    throw new Error(
      `${url}: the run's live view does not answer (${(error as Error).message}); has it ended?`,
    );
  }
  const answer = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok && response.status !== 502)
    throw new Error(`${url}: ${String(answer.error ?? response.status)}`);
  return answer;
}

type EntryLine = { name: string; status: string; description: string; error?: string };
const entryLine = (e: EntryLine) =>
  `  ${e.name}: ${e.status}, ${e.description}${e.error ? ` (${e.error})` : ""}`;

/** `chaos apply --run`: the fault or incident goes to the run, which applies it and records it as manual. */
async function applyToRun(argv: ApplyArgs): Promise<void> {
  if (argv.preset !== undefined)
    throw new Error("--run takes --fault or --incident (a preset is a whole-run condition)");
  const url = liveUrlOf(argv.run!);
  const forS = argv.for === undefined ? {} : { forS: argv.for };
  const request =
    argv.incident !== undefined
      ? {
          incident: argv.incident,
          ...forS,
          ...(argv.link ? { link: argv.link } : {}),
          ...(argv.issuer ? { issuer: issuerRole(argv.issuer) } : {}),
        }
      : { fault: faultFromArgs(argv), ...forS };
  const answer = await callRun(`${url}/faults`, "POST", request);
  const entries = (answer.entries ?? []) as EntryLine[];
  console.log(`run ${argv.run} (${url}):`);
  for (const e of entries) console.log(entryLine(e));
  if (entries.some((e) => e.status !== "active")) throw new Error("not every fault could be applied");
  console.log(
    argv.for === undefined
      ? `left applied; \`posstorm chaos clear --run ${argv.run} [--name <name>]\` clears it`
      : `cleared by the run after ${argv.for} s`,
  );
}

// ---- subcommands ----------------------------------------------------------------------------------

export function listText(): string {
  const lines: string[] = ["Fault kinds (toxicity = fraction of connections, not of messages):"];
  for (const [kind, info] of Object.entries(FAULT_KINDS)) {
    lines.push(
      `  ${kind.padEnd(16)} ${info.layer.padEnd(9)} ${info.summary}${info.fields ? ` [${info.fields}]` : ""}`,
    );
  }
  lines.push("", "Network presets (--preset, on --link):");
  for (const p of Object.values(NETWORK_PROFILES)) lines.push(`  ${p.name.padEnd(16)} ${p.summary}`);
  lines.push("", "Incidents (--incident with --for <s>):");
  for (const i of Object.values(INCIDENTS)) {
    lines.push(`  ${i.id.padEnd(19)} ${i.title}${i.needsRoot ? " (root)" : ""}: ${i.description}`);
  }
  return lines.join("\n");
}

const list: CommandModule<object, object> = {
  command: "list",
  describe: "Print the fault kinds, network presets and incidents",
  handler: () => {
    console.log(listText());
  },
};

interface ApplyArgs extends FaultArgs {
  run?: string;
  lab?: string;
  toxiproxy?: string;
  preset?: string;
  incident?: string;
  for?: number;
  "packet-loss": boolean;
}

function entriesOf(args: ApplyArgs): { entries: TimelineEntry[]; faults: Fault[] } {
  const chosen = [args.fault, args.preset, args.incident].filter((x) => x !== undefined);
  if (chosen.length !== 1) throw new Error("give exactly one of --fault, --preset or --incident");
  const link = (args.link ?? "edge") as LinkName;
  if (args.incident !== undefined) {
    if (!isIncidentId(args.incident)) {
      throw new Error(`--incident ${args.incident}: unknown (${Object.keys(INCIDENTS).join(", ")})`);
    }
    if (args.for === undefined) throw new Error("--incident needs --for <seconds>");
    const incident = INCIDENTS[args.incident];
    const opts = {
      ...(args.link ? { link } : {}),
      ...(args.issuer ? { issuer: issuerRole(args.issuer) } : {}),
    };
    const entries = incident.entries(0, args.for, opts);
    return { entries, faults: entries.map((e) => e.fault) };
  }
  let faults: Fault[];
  if (args.preset !== undefined) {
    if (!isNetworkProfileName(args.preset)) {
      throw new Error(`--preset ${args.preset}: unknown (${Object.keys(NETWORK_PROFILES).join(", ")})`);
    }
    faults = networkProfile(args.preset, link, {
      packetLoss: args["packet-loss"],
      ...(args.toxicity !== undefined ? { toxicity: args.toxicity } : {}),
    });
  } else {
    faults = [faultFromArgs(args)];
  }
  const problems = faults.flatMap((f, i) => validateFault(f, `fault[${i}]`));
  if (problems.length > 0) throw new Error(problems.join("; "));
  const inProcess = faults.find((f) => FAULT_KINDS[f.kind].layer === "harness");
  if (inProcess && args.for === undefined)
    throw new Error(
      `--fault ${inProcess.kind} runs in this process, which must stay while it lasts: give --for <seconds> (Ctrl-C ends it sooner)`,
    );
  return { entries: faults.map((fault) => ({ at: 0, for: args.for ?? 0, fault })), faults };
}

const apply: CommandModule<object, ApplyArgs> = {
  command: "apply",
  describe:
    "Apply a fault, a network preset or an incident to a running lab; with --for, clear it after that many seconds (Ctrl-C clears too)",
  builder: (y) =>
    y
      .option("run", {
        type: "string",
        describe:
          "a running run (its id under reports/, or its folder): the run applies the fault, records it in its timeline (manual) and clears it at --for or when it ends",
      })
      .option("lab", {
        type: "string",
        describe: "lab folder holding lab.json (default: the newest under reports/)",
      })
      .option("toxiproxy", {
        type: "string",
        describe: "Toxiproxy API URL (links are read from its proxies)",
      })
      .option("fault", { type: "string", describe: `fault kind: ${Object.keys(FAULT_KINDS).join(", ")}` })
      .option("preset", {
        type: "string",
        describe: `network preset: ${Object.keys(NETWORK_PROFILES).join(", ")}`,
      })
      .option("incident", { type: "string", describe: `incident: ${Object.keys(INCIDENTS).join(", ")}` })
      .option("for", {
        type: "number",
        describe: "seconds to keep it, then clear (default: leave it applied)",
      })
      .option("link", { type: "string", describe: "link: edge, hsm, issuer-<name> (default edge)" })
      .option("direction", {
        choices: ["upstream", "downstream", "both"],
        describe: "upstream = client → server",
      })
      .option("toxicity", {
        type: "number",
        describe: "fraction 0..1 of connections (not messages) affected",
      })
      .option("latency-ms", { type: "number" })
      .option("jitter-ms", { type: "number" })
      .option("rate-kbps", { type: "number", describe: "bandwidth, KB/s (1 KB = 1000 bytes)" })
      .option("delay-ms", { type: "number", describe: "slow_close delay" })
      .option("timeout-ms", { type: "number", describe: "timeout / reset_peer" })
      .option("average-size-bytes", { type: "number" })
      .option("size-variation-bytes", { type: "number" })
      .option("delay-us", { type: "number", describe: "slicer delay between chunks, µs" })
      .option("bytes", { type: "number", describe: "limit_data" })
      .option("probability", { type: "number", describe: "corrupt: fraction 0..1 of frames damaged" })
      .option("damage", {
        choices: ["flip", "truncate", "length", "mix"],
        describe: "corrupt: a flipped byte, a cut frame, a short length prefix, or any (default)",
      })
      .option("fraction", { type: "number", describe: "power-loss: fraction 0..1 of purchases cut" })
      .option("off-ms", { type: "number", describe: "power-loss: how long a terminal stays off" })
      .option("loss-percent", { type: "number", describe: "packet-loss / syn-drop, 0..100" })
      .option("method", { choices: ["proxy-cycle", "ss-kill"], describe: "connection-kill" })
      .option("issuer", { type: "string", describe: "issuer-slow / issuer-errors: a or issuer-a" })
      .option("median-ms", { type: "number" })
      .option("p99-ms", { type: "number" })
      .option("response-mix", { type: "string", describe: "issuer-errors: 00:90,91:10" })
      .option("capacity-per-second", { type: "number", describe: "hsm-capacity" })
      .option("connections-per-second", { type: "number", describe: "connection-flood" })
      .option("hold-open-s", { type: "number", describe: "connection-flood (default 60)" })
      .option("set", { type: "array", string: true, describe: "switch-config: name=value (repeat)" })
      .option("down-ms", { type: "number", describe: "switch-restart" })
      .option("packet-loss", {
        type: "boolean",
        default: true,
        describe: "presets: include kernel packet loss",
      }),
  handler: async (argv) => {
    if (argv.run !== undefined) return applyToRun(argv);
    const { entries, faults } = entriesOf(argv);
    const target = await resolveTarget(argv);
    if (!target.ctx) {
      throw new Error(
        "no lab to act on: pass --lab <dir> or --toxiproxy <url> (posstorm lab up writes lab.json)",
      );
    }
    console.log(`lab: ${target.source}`);
    if (argv.for === undefined) {
      const applied: AppliedFault[] = [];
      try {
        for (const fault of faults) {
          const done = await applyFault(fault, target.ctx);
          applied.push(done);
          const facts = Object.entries(done.facts).map(([k, v]) => `${k}=${v}`);
          console.log(`applied ${describeFault(fault)}${facts.length ? `  (${facts.join(", ")})` : ""}`);
        }
      } catch (error) {
        for (const done of applied.reverse()) await done.clear().catch(() => undefined);
        throw error;
      }
      console.log("left applied; `posstorm chaos clear` removes toxics and kernel drops");
      return;
    }
    const timeline = startTimeline(entries, target.ctx, { loadDurationS: argv.for });
    console.log(`applying for ${argv.for}s (Ctrl-C clears):`);
    for (const r of timeline.records()) console.log(`  ${r.name}: ${r.description}`);
    const result = await timeline.done;
    let failed = false;
    for (const r of result.entries) {
      const when = `${r.appliedAt ? `applied +${r.appliedAt.sinceStartS.toFixed(2)}s` : "not applied"}, ${r.clearedAt ? `cleared +${r.clearedAt.sinceStartS.toFixed(2)}s` : "not cleared"}`;
      const facts = Object.entries(r.facts).map(([k, v]) => `${k}=${v}`);
      console.log(`  ${r.name}: ${r.status} (${when})${facts.length ? ` ${facts.join(", ")}` : ""}`);
      if (r.error) console.log(`    error: ${r.error}`);
      if (r.clearError) console.log(`    clear error: ${r.clearError}`);
      failed ||= r.status !== "cleared";
    }
    if (failed) process.exitCode = 2;
  },
};

const clear: CommandModule<object, { run?: string; name?: string; lab?: string; toxiproxy?: string }> = {
  command: "clear",
  describe:
    "Remove every toxic, re-enable every proxy and remove posstorm's nftables table; with --run, the run's emergency stop (or one fault by hand: --name)",
  builder: (y) =>
    y
      .option("run", {
        type: "string",
        describe: "a running run (id or folder): its emergency stop clears every fault, planned and by hand",
      })
      .option("name", { type: "string", describe: "with --run: clear only this fault applied by hand" })
      .option("lab", {
        type: "string",
        describe: "lab folder holding lab.json (default: the newest under reports/)",
      })
      .option("toxiproxy", { type: "string", describe: "Toxiproxy API URL" }),
  handler: async (argv) => {
    if (argv.run !== undefined) {
      const url = liveUrlOf(argv.run);
      if (argv.name !== undefined) {
        const answer = await callRun(`${url}/faults/${encodeURIComponent(argv.name)}`, "DELETE");
        console.log(entryLine(answer.entry as EntryLine));
      } else {
        const answer = await callRun(`${url}/emergency-stop`, "POST");
        const cleared = (answer.cleared ?? []) as string[];
        console.log(
          `run ${argv.run}: emergency stop, ${cleared.length ? cleared.join(", ") : "no fault was in effect"} cleared`,
        );
      }
      return;
    }
    if (argv.name !== undefined) throw new Error("--name goes with --run");
    const target = await resolveTarget(argv);
    if (target.toxiproxy) {
      await target.toxiproxy.reset();
      const proxies = await target.toxiproxy.listProxies();
      const dirty = proxies.filter((p) => !p.enabled || p.toxics.length > 0);
      if (dirty.length > 0) {
        throw new Error(
          `after reset: ${dirty.map((p) => `${p.name} ${p.enabled ? "" : "disabled "}${p.toxics.join(",")}`).join("; ")}`,
        );
      }
      console.log(`toxiproxy: ${proxies.length} proxies enabled, no toxics (${target.source})`);
    } else {
      console.log("toxiproxy: no lab found (pass --lab or --toxiproxy); skipped");
    }
    const kernel = await clearKernelFaults();
    console.log(
      `kernel: ${kernel.status === "removed" ? "nftables table inet posstorm removed" : kernel.status === "absent" ? "no posstorm nftables table" : kernel.reason}`,
    );
  },
};

export const chaosCommand: CommandModule = {
  command: "chaos <command>",
  describe: "List, apply or clear faults on a running lab",
  builder: (y: Argv) => y.command(list).command(apply).command(clear).demandCommand(1),
  handler: () => undefined,
};
