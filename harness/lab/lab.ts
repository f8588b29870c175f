import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { LinkName } from "../chaos/faults.ts";
import { connectToxiproxy, type ToxiproxyControl } from "../chaos/toxiproxy.ts";
import { DEFAULT_LAB_KEY_HEX } from "../protocol/index.ts";
import { type LabJson, writeLabJson } from "../run-folder/index.ts";
import { findTool } from "../shared/tools.ts";
import { LAB_IMAGE, type LabProgram, programEntry, TOXIPROXY_IMAGE } from "./images.ts";
import { freePort, LOOPBACK, waitForPort } from "./ports.ts";
import { type StartedService, startContainer } from "./runtime/containers.ts";
import { startProcess } from "./runtime/local.ts";
import { toxiproxyEnv as labToxiproxyEnv } from "./toxiproxy.ts";

// The lab: the switch and its backends, each link behind a Toxiproxy proxy.
//
//   terminals ──► [edge] ──► switch ──► [hsm] ──────► HSM simulator
//                              ├──► [issuer-a] ──► issuer simulator a
//                              └──► [issuer-b] ──► issuer simulator b
//
// Every program listens on 127.0.0.1 on ports allocated here and gets its settings as environment
// variables (POSSTORM_<PROGRAM>_<SETTING>), the same in both runtimes.

export type Runtime = "containers" | "local";

export interface Endpoint {
  host: string;
  port: number;
}
export const address = (e: Endpoint) => `${e.host}:${e.port}`;

/**
 * Which switch the lab runs. `reference`: posstorm's own (image in `containers`, process in `local`).
 * `command` / `image`: a user's switch; its command, arguments and environment may use placeholders
 * that map its backend addresses to the lab's links: {{switch.port}}, {{switch.adminPort}},
 * {{link.hsm}}, {{link.issuer-a}}, … (host:port of the proxy in front of that backend),
 * {{issuers}} (`a=host:port,b=host:port`), {{labKeyHex}}.
 */
export type SwitchSource =
  | { kind: "reference" }
  | { kind: "command"; command: string[]; env?: Record<string, string> }
  | { kind: "image"; image: string; command?: string[]; env?: Record<string, string> };

/** Settings of a lab program by name, as its config spec names them (see harness/sim/<program>/README.md). */
export type Settings = Record<string, string | number | boolean | string[]>;

export interface LabOptions {
  runtime: Runtime;
  /**
   * A switch already running: the lab is Toxiproxy with the `edge` link in front of it and nothing else (no
   * backends, no switch of posstorm's).
   */
  target?: Endpoint;
  /** Your switch's metrics page (placeholders as in SwitchSource), scraped as the `switch` role. */
  switchMetricsUrl?: string;
  /** A terminal list with the terminals' own TMKs (the profile's terminal.keysFile): the HSM uses it. */
  terminalKeysFile?: string;
  /** Logs go to <runDir>/logs/<role>.log; the lab's addresses to <runDir>/lab.json. */
  runDir: string;
  /** Lab session label of every container; default lab-<time>. */
  session?: string;
  /** 32 hex digits: terminal master keys derive from it (harness/protocol/crypto/terminalKeys.ts). */
  labKeyHex?: string;
  switchSource?: SwitchSource;
  switchSettings?: Settings;
  hsmSettings?: Settings;
  /** Issuer name → its settings; default two issuers, `a` and `b`. */
  issuers?: Record<string, Settings>;
  /** Card BIN prefix → issuer name; default 62 → a, 4 → b. */
  routes?: Record<string, string>;
  /** Terminal fleet the switch accepts; default POS*10000 (POS00001 … POS10000). */
  fleet?: string[];
  startupTimeoutMs?: number;
}

export interface StartedLab extends AsyncDisposable {
  readonly runtime: Runtime;
  readonly session: string;
  readonly runDir: string;
  /** Where terminals connect: the edge proxy. */
  readonly edge: Endpoint;
  /** Each link: where its proxy listens and the program behind it. */
  readonly links: Record<LinkName, { listen: Endpoint; upstream: Endpoint }>;
  /** Admin API base URL of each program by role (`switch`, `hsm`, `issuer-a`, …): config, ledgers. */
  readonly admin: Record<string, string>;
  /**
   * Metrics page URL by role: every lab program's (its admin API's /metrics), Toxiproxy's, and your switch's
   * when the profile says where (switchMetrics).
   */
  readonly metrics: Record<string, string>;
  readonly toxiproxy: ToxiproxyControl;
  readonly services: readonly StartedService[];
  /**
   * A link of its own for a fleet agent: a proxy `agent-<name>` listening on `host` (an address of this machine
   * the agent reaches) in front of `edge`, so the terminals' traffic still crosses edge and its faults, and a
   * fault on the agent's link singles out that agent's traffic.
   */
  addAgentLink(agent: string, host: string): Promise<Endpoint>;
  /** Stops a program (`switch`, `hsm`, `issuer-a`), keeps it down `downMs`, starts it again on the same ports. */
  restart(role: string, opts?: { downMs?: number }): Promise<void>;
  /** The programs that ended on their own (crashed, killed from outside), not stopped or restarting: role → how. */
  ended(): Promise<{ role: string; how: string }[]>;
  stop(): Promise<void>;
}

const DEFAULT_ISSUERS: Record<string, Settings> = { a: {}, b: {} };
const DEFAULT_ROUTES = { "62": "a", "4": "b" };

const envName = (program: LabProgram, setting: string) =>
  `POSSTORM_${program.toUpperCase()}_${setting.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase()}`;

/** A program's settings as the environment variables its config spec reads. */
export function settingsEnv(program: LabProgram, settings: Settings): Record<string, string> {
  return Object.fromEntries(
    Object.entries(settings).map(([name, value]) => [
      envName(program, name),
      Array.isArray(value) ? value.join(",") : String(value),
    ]),
  );
}

export function fillTemplate(text: string, values: Record<string, string>): string {
  return text.replace(/\{\{\s*([\w.-]+)\s*\}\}/g, (whole, key: string) => {
    const value = values[key];
    if (value === undefined) {
      throw new Error(
        `switch template: unknown placeholder ${whole}; known: ${Object.keys(values).join(", ")}`,
      );
    }
    return value;
  });
}

/** What lab.json says of a started lab: where it listens, and its containers or processes. */
export function labJsonOf(lab: StartedLab): LabJson {
  return {
    runtime: lab.runtime,
    session: lab.session,
    edge: lab.edge,
    links: lab.links,
    admin: lab.admin,
    metrics: lab.metrics,
    toxiproxy: lab.toxiproxy.apiUrl,
    services: lab.services.map((s) => ({ role: s.role, id: s.id })),
  };
}

/** Where a terminal list is mounted (read-only) in the HSM's and the switch's containers. */
const TERMINAL_KEYS_IN_CONTAINER = "/run/posstorm/terminal-keys";

/** The Toxiproxy link an agent's load goes through: `agent-<name>`, lower case, other than [a-z0-9-] as '-'. */
export function agentLinkName(agent: string): LinkName {
  return `agent-${agent.toLowerCase().replace(/[^a-z0-9-]+/g, "-")}`;
}

export async function startLab(opts: LabOptions): Promise<StartedLab> {
  const session = opts.session ?? `lab-${Date.now()}`;
  const logs = join(opts.runDir, "logs");
  mkdirSync(logs, { recursive: true });
  const timeout = opts.startupTimeoutMs ?? 30_000;
  const services: StartedService[] = [];
  /** How to start each program again (for restart), by role. */
  const starters = new Map<string, () => Promise<StartedService>>();
  const issuers = opts.issuers ?? DEFAULT_ISSUERS;
  // A terminal list for the HSM and the switch: the host path for processes, mounted read-only for containers.
  const keysFile = opts.terminalKeysFile;
  const inContainer = keysFile !== undefined && opts.runtime !== "local";
  const terminalKeys: { settings: Settings; files: Record<string, string> } = {
    settings: keysFile ? { terminalKeysFile: inContainer ? TERMINAL_KEYS_IN_CONTAINER : keysFile } : {},
    files: inContainer ? { [keysFile]: TERMINAL_KEYS_IN_CONTAINER } : {},
  };
  const labKeyHex = opts.labKeyHex ?? DEFAULT_LAB_KEY_HEX;

  const startProgram = async (
    role: string,
    program: LabProgram,
    settings: Settings,
    /** Host file → path in the container (read-only); local processes read the host path. */
    files: Record<string, string> = {},
  ) => {
    const env = settingsEnv(program, settings);
    const readyLog = new RegExp(`posstorm-${program} ready`);
    const logFile = join(logs, `${role}.log`);
    const start = () =>
      opts.runtime === "local"
        ? startProcess({
            role,
            command: [process.execPath, programEntry(program)],
            env,
            readyLog,
            logFile,
            startupTimeoutMs: timeout,
          })
        : startContainer({
            role,
            session,
            image: LAB_IMAGE,
            command: [`/app/${program}.mjs`],
            env,
            ...(Object.keys(files).length > 0 ? { files } : {}),
            readyLog,
            logFile,
            startupTimeoutMs: timeout,
          });
    starters.set(role, start);
    const service = await start();
    services.push(service);
    return service;
  };

  try {
    // Toxiproxy first: every link goes through it.
    const apiPort = await freePort();
    const toxiproxyLog = join(logs, "toxiproxy.log");
    // -runtime-metrics: its process CPU and memory on GET /metrics, scraped with the lab programs' metrics.
    const toxiproxyArgs = ["-host", LOOPBACK, "-port", String(apiPort), "-runtime-metrics"];
    // Ready when its API port accepts connections: the ready line is logged at info, below the lab's default
    // level (error: no line per connection, see toxiproxyLogLevel).
    const toxiproxyReady = { readyPort: apiPort };
    const toxiproxyEnv = labToxiproxyEnv();
    if (opts.runtime === "local") {
      const binary = findTool("toxiproxy-server").path;
      if (!binary) throw new Error("toxiproxy: toxiproxy-server not found; run bash scripts/setup.sh");
      services.push(
        await startProcess({
          role: "toxiproxy",
          command: [binary, ...toxiproxyArgs],
          env: toxiproxyEnv,
          ...toxiproxyReady,
          logFile: toxiproxyLog,
        }),
      );
    } else {
      services.push(
        await startContainer({
          role: "toxiproxy",
          session,
          image: TOXIPROXY_IMAGE,
          command: toxiproxyArgs,
          env: toxiproxyEnv,
          ...toxiproxyReady,
          logFile: toxiproxyLog,
        }),
      );
    }
    await waitForPort(apiPort, 10_000);
    const toxiproxy = connectToxiproxy(`http://${LOOPBACK}:${apiPort}`);

    const links = {} as Record<LinkName, { listen: Endpoint; upstream: Endpoint }>;
    const admin: Record<string, string> = {};
    const addLink = async (name: LinkName, upstream: Endpoint) => {
      const listen = { host: LOOPBACK, port: await freePort() };
      await toxiproxy.createProxy({ name, listen: address(listen), upstream: address(upstream) });
      links[name] = { listen, upstream };
      return listen;
    };
    const backend = async (
      role: string,
      program: LabProgram,
      settings: Settings,
      files: Record<string, string> = {},
    ) => {
      const port = await freePort();
      const adminPort = await freePort();
      await startProgram(role, program, { host: LOOPBACK, ...settings, port, adminPort }, files);
      admin[role] = `http://${LOOPBACK}:${adminPort}`;
      return { host: LOOPBACK, port };
    };

    // A switch already running (`target`): the lab is Toxiproxy and the edge link to it, nothing else.
    const source = opts.switchSource ?? { kind: "reference" };
    let switchAt: Endpoint;
    let switchValues: Record<string, string> = {};
    if (opts.target) switchAt = opts.target;
    else {
      // Backends and their links, started side by side.
      await Promise.all([
        (async () => {
          // The terminals' own keys: the HSM wraps working keys under them.
          const hsm = await backend(
            "hsm",
            "hsm",
            { labKeyHex, ...terminalKeys.settings, ...opts.hsmSettings },
            terminalKeys.files,
          );
          await addLink("hsm", hsm);
        })(),
        ...Object.entries(issuers).map(async ([name, settings]) => {
          const issuer = await backend(`issuer-${name}`, "issuer", {
            name: name.toUpperCase(),
            ...settings,
          });
          await addLink(`issuer-${name}`, issuer);
        }),
      ]);

      const switchPort = await freePort();
      const switchAdminPort = await freePort();
      const issuerLinks = Object.keys(issuers).map(
        (name) => `${name}=${address(links[`issuer-${name}`]!.listen)}`,
      );
      switchValues = {
        "switch.port": String(switchPort),
        "switch.adminPort": String(switchAdminPort),
        issuers: issuerLinks.join(","),
        labKeyHex,
        ...Object.fromEntries(
          Object.entries(links).map(([name, link]) => [`link.${name}`, address(link.listen)]),
        ),
      };
      if (source.kind === "reference") {
        admin.switch = `http://${LOOPBACK}:${switchAdminPort}`;
        await startProgram(
          "switch",
          "switch",
          {
            host: LOOPBACK,
            hsm: address(links.hsm.listen),
            issuers: issuerLinks,
            routes: Object.entries(opts.routes ?? DEFAULT_ROUTES).map(([bin, issuer]) => `${bin}=${issuer}`),
            // With a terminal list, the list is the fleet: a TID not in it has no key (empty = any TID).
            fleet: opts.fleet ?? (opts.terminalKeysFile ? [] : ["POS*10000"]),
            labKeyHex,
            ...terminalKeys.settings,
            ...opts.switchSettings,
            port: switchPort,
            adminPort: switchAdminPort,
          },
          terminalKeys.files,
        );
      } else {
        const command = (source.command ?? []).map((part) => fillTemplate(part, switchValues));
        const env = Object.fromEntries(
          Object.entries(source.env ?? {}).map(([k, v]) => [k, fillTemplate(v, switchValues)]),
        );
        const logFile = join(logs, "switch.log");
        const readyLog = /ready|listening/i;
        const start = () =>
          source.kind === "command"
            ? startProcess({ role: "switch", command, env, readyLog, logFile, startupTimeoutMs: timeout })
            : startContainer({
                role: "switch",
                session,
                image: source.image,
                command,
                env,
                readyLog,
                logFile,
                startupTimeoutMs: timeout,
              });
        starters.set("switch", start);
        services.push(await start());
        await waitForPort(switchPort, timeout);
      }
      switchAt = { host: LOOPBACK, port: switchPort };
    }
    // Metrics pages: the lab programs' admin APIs, Toxiproxy's API (-runtime-metrics), and a switch of yours
    // where switchMetrics says, or nowhere (then nothing asks it for metrics during or after a run).
    const metrics: Record<string, string> = Object.fromEntries(
      Object.entries(admin).map(([role, url]) => [role, `${url}/metrics`]),
    );
    metrics.toxiproxy = `http://${LOOPBACK}:${apiPort}/metrics`;
    if (admin.switch === undefined && opts.switchMetricsUrl)
      metrics.switch = fillTemplate(opts.switchMetricsUrl, switchValues);
    const edge = await addLink("edge", switchAt);

    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      // Newest first: the switch before its backends, Toxiproxy last.
      for (const service of [...services].reverse()) await service.stop().catch(() => undefined);
    };
    const restart = async (role: string, restartOpts: { downMs?: number } = {}) => {
      const start = starters.get(role);
      const index = services.findIndex((service) => service.role === role);
      if (!start || index < 0)
        throw new Error(`lab has no restartable program ${role}; it has ${[...starters.keys()].join(", ")}`);
      await services[index]!.stop();
      await new Promise((resolve) => setTimeout(resolve, restartOpts.downMs ?? 0));
      services[index] = await start();
    };
    const ended = async () => {
      if (stopped) return [];
      const states = await Promise.all(
        services.map(async (service) => ({
          role: service.role,
          how: await service.ended().catch((e: Error) => `state unknown: ${e.message}`),
        })),
      );
      return states.filter((s): s is { role: string; how: string } => s.how !== undefined);
    };
    const addAgentLink = async (agent: string, host: string): Promise<Endpoint> => {
      const name = agentLinkName(agent);
      if (links[name]) throw new Error(`lab: a link ${name} exists already (two agents named ${agent}?)`);
      for (let attempt = 1; ; attempt++) {
        const listen = { host, port: await freePort() };
        try {
          await toxiproxy.createProxy({ name, listen: address(listen), upstream: address(edge) });
          links[name] = { listen, upstream: edge };
          writeLabJson(opts.runDir, labJsonOf(lab));
          return listen;
        } catch (error) {
          if (attempt >= 5)
            throw new Error(`lab: cannot open link ${name} on ${host}: ${(error as Error).message}`);
        }
      }
    };
    const lab: StartedLab = {
      runtime: opts.runtime,
      addAgentLink,
      restart,
      ended,
      session,
      runDir: opts.runDir,
      edge,
      links,
      admin,
      metrics,
      toxiproxy,
      services,
      stop,
      [Symbol.asyncDispose]: stop,
    };
    writeLabJson(opts.runDir, labJsonOf(lab));
    return lab;
  } catch (error) {
    for (const service of [...services].reverse()) await service.stop().catch(() => undefined);
    throw error;
  }
}
