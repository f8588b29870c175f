import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { onShutdown } from "../shared/shutdown.ts";
import { findTool } from "../shared/tools.ts";
import { journalAdd, journalForget, journalRemove } from "./journal.ts";
import { ChaosError } from "./toxiproxy.ts";

// Kernel faults: random packet drops and SYN drops with nftables, and `ss -K` connection kills.
//
// Every rule lives in a table of posstorm's own, `inet posstorm`, one base chain per fault hooked at
// `output`. Loopback packets pass the output hook exactly once (output → lo → input), so a rule there
// drops each packet once; a rule in input *and* output would drop twice. Rules match only `oifname
// "lo"` and the link's proxy port: `dport` = client → proxy (upstream), `sport` = proxy → client
// (downstream). The table is removed when its last fault clears, on Ctrl-C, and by clearKernelFaults().

export const NFT_FAMILY = "inet";
export const NFT_TABLE = "posstorm";

export interface KernelDrop {
  kind: "packet-loss" | "syn-drop";
  /** Link name, for the chain name and messages. */
  link: string;
  /** The link's proxy listen port on 127.0.0.1. */
  port: number;
  /** 0..100; resolution 0.01%. */
  lossPercent: number;
  /** packet-loss: either or both; syn-drop: upstream (SYNs go client → server). */
  directions: ("upstream" | "downstream")[];
}

export interface KernelRule {
  readonly chain: string;
  readonly drop: KernelDrop;
}

/** The kernel seam: the timeline and the CLI use it; unit tests pass a fake. */
export interface KernelControl {
  addDrop(drop: KernelDrop): Promise<KernelRule>;
  /** Removes the fault's chain (and the table when it was the last); returns the packets it dropped. */
  removeDrop(rule: KernelRule): Promise<{ droppedPackets: number }>;
  /** Aborts every established TCP connection to or from `port` on loopback (`ss -K`). */
  killConnections(port: number): Promise<{ killed: number }>;
}

export function chainName(drop: Pick<KernelDrop, "kind" | "link" | "directions">): string {
  const dir = drop.directions.length === 2 ? "both" : drop.directions[0];
  return `${drop.kind}_${drop.link}_${dir}`.replace(/[^A-Za-z0-9_]/g, "_");
}

/** The nft script that adds a drop: a base chain at the output hook with one rule per direction. */
export function nftAddScript(drop: KernelDrop): string {
  const chain = chainName(drop);
  const basis = Math.round(drop.lossPercent * 100);
  const random = basis >= 10_000 ? "" : ` numgen random mod 10000 < ${basis}`;
  const comment = ` comment "posstorm ${drop.kind} ${drop.link} ${drop.lossPercent}%"`;
  const rules =
    drop.kind === "syn-drop"
      ? [`oifname "lo" tcp dport ${drop.port} tcp flags & (syn | ack) == syn${random} counter drop${comment}`]
      : drop.directions.map(
          (d) =>
            `oifname "lo" tcp ${d === "upstream" ? "dport" : "sport"} ${drop.port}${random} counter drop${comment}`,
        );
  return [
    `add table ${NFT_FAMILY} ${NFT_TABLE}`,
    `create chain ${NFT_FAMILY} ${NFT_TABLE} ${chain} { type filter hook output priority 0; policy accept; }`,
    ...rules.map((rule) => `add rule ${NFT_FAMILY} ${NFT_TABLE} ${chain} ${rule}`),
    "",
  ].join("\n");
}

// ---- processes ------------------------------------------------------------------------------------

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program with `input` on stdin; rejects after `timeoutMs` (the child killed). */
export function run(
  command: string,
  args: string[],
  input: string | undefined,
  timeoutMs: number,
): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new ChaosError(`${command} ${args.join(" ")}: no exit after ${timeoutMs}ms`, {}));
    }, timeoutMs);
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(new ChaosError(`${command}: ${error.message}`, {}, error));
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(input ?? "");
  });
}

/**
 * A system program: `$POSSTORM_<NAME>` when set (tests point it at a missing file to play a machine without
 * it), else PATH, else /usr/sbin, /sbin, /usr/bin, /bin (root's programs are not on every user's PATH).
 */
export function findSystemTool(name: "nft" | "ss", env: NodeJS.ProcessEnv = process.env): string | undefined {
  const overrideVar = `POSSTORM_${name.toUpperCase()}`;
  if (env[overrideVar]) return findTool(name, { env, overrideVar }).path;
  const found = findTool(name, { env }).path;
  if (found) return found;
  for (const dir of ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]) {
    try {
      accessSync(`${dir}/${name}`, constants.X_OK);
      return `${dir}/${name}`;
    } catch {
      // next
    }
  }
  return undefined;
}

const uid = () => (typeof process.getuid === "function" ? process.getuid() : -1);

/** The Debian package of each system program the kernel faults run. */
export const SYSTEM_TOOL_PACKAGE = { nft: "nftables", ss: "iproute2" } as const;

function requireTool(name: "nft" | "ss", forWhat: string): string {
  const path = findSystemTool(name);
  if (!path) {
    const pkg = SYSTEM_TOOL_PACKAGE[name];
    throw new ChaosError(
      `${forWhat} needs \`${name}\` (${pkg}), not found on PATH or in /usr/sbin, /sbin; ` +
        `run bash scripts/setup.sh (it installs ${pkg}), or apt-get install ${pkg}`,
      {},
    );
  }
  return path;
}

/** A failed program run as a ChaosError: missing privileges named as such. */
export function explain(what: string, ran: Ran): ChaosError {
  const detail = ran.stderr.trim() || ran.stdout.trim() || `exit ${ran.code}`;
  if (/Operation not permitted|Permission denied/i.test(detail)) {
    return new ChaosError(
      `${what}: needs root or CAP_NET_ADMIN (running as uid ${uid()}): ${detail.split("\n")[0]}`,
      {},
    );
  }
  return new ChaosError(`${what}: ${detail}`, {});
}

// Kernel changes are global: serialize them within the process.
let queue: Promise<unknown> = Promise.resolve();
function serial<T>(work: () => Promise<T>): Promise<T> {
  const next = queue.then(work, work);
  queue = next.catch(() => undefined);
  return next;
}

let unregisterShutdown: (() => void) | undefined;
function armShutdown(): void {
  unregisterShutdown ??= onShutdown(async () => {
    await clearKernelFaults();
  });
}
function disarmShutdown(): void {
  unregisterShutdown?.();
  unregisterShutdown = undefined;
}

interface NftJson {
  nftables: {
    chain?: { name: string };
    rule?: { chain: string; expr: { counter?: { packets: number } }[] };
  }[];
}

async function nftJson(nft: string, args: string[], timeoutMs: number): Promise<NftJson | undefined> {
  const ran = await run(nft, ["-j", ...args], undefined, timeoutMs);
  if (ran.code !== 0) {
    if (/No such file or directory/.test(ran.stderr)) return undefined;
    throw explain(`nft ${args.join(" ")}`, ran);
  }
  return JSON.parse(ran.stdout) as NftJson;
}

/** The real kernel: nftables and ss, each call bounded by `timeoutMs`. */
export function nftKernel(opts: { timeoutMs?: number } = {}): KernelControl {
  const timeoutMs = opts.timeoutMs ?? 5_000;

  const chainsOfTable = async (nft: string) => {
    const json = await nftJson(nft, ["list", "table", NFT_FAMILY, NFT_TABLE], timeoutMs);
    return (json?.nftables ?? []).flatMap((item) => (item.chain ? [item.chain.name] : []));
  };

  return {
    addDrop: (drop) =>
      serial(async () => {
        const what = `${drop.kind} ${drop.lossPercent}% on ${drop.link} (port ${drop.port})`;
        const nft = requireTool("nft", what);
        // Journalled first: a process killed while nft runs may leave the chain behind.
        journalAdd({ kind: "nft", chain: chainName(drop) });
        const ran = await run(nft, ["-f", "-"], nftAddScript(drop), timeoutMs);
        if (ran.code !== 0) {
          journalRemove({ kind: "nft", chain: chainName(drop) });
          if (/File exists/.test(ran.stderr)) {
            throw new ChaosError(`${what}: chain ${chainName(drop)} already exists in table ${NFT_TABLE}`, {
              proxy: drop.link,
            });
          }
          throw explain(what, ran);
        }
        armShutdown();
        const chain = chainName(drop);
        if (!(await chainsOfTable(nft)).includes(chain)) {
          throw new ChaosError(`${what}: chain ${chain} missing after nft accepted it`, { proxy: drop.link });
        }
        return { chain, drop };
      }),

    removeDrop: (rule) =>
      serial(async () => {
        const what = `remove ${rule.drop.kind} on ${rule.drop.link}`;
        const nft = requireTool("nft", what);
        const listed = await nftJson(nft, ["list", "chain", NFT_FAMILY, NFT_TABLE, rule.chain], timeoutMs);
        let droppedPackets = 0;
        for (const item of listed?.nftables ?? []) {
          for (const expr of item.rule?.expr ?? []) droppedPackets += expr.counter?.packets ?? 0;
        }
        if (listed) {
          const script = [
            `flush chain ${NFT_FAMILY} ${NFT_TABLE} ${rule.chain}`,
            `delete chain ${NFT_FAMILY} ${NFT_TABLE} ${rule.chain}`,
            "",
          ].join("\n");
          const ran = await run(nft, ["-f", "-"], script, timeoutMs);
          if (ran.code !== 0) throw explain(what, ran);
        }
        const left = await chainsOfTable(nft);
        if (left.includes(rule.chain)) {
          throw new ChaosError(`${what}: chain ${rule.chain} still present after deleting it`, {
            proxy: rule.drop.link,
          });
        }
        journalRemove({ kind: "nft", chain: rule.chain });
        if (left.length === 0) await deleteTable(nft, timeoutMs);
        return { droppedPackets };
      }),

    killConnections: (port) =>
      serial(async () => {
        const what = `kill connections on port ${port}`;
        const ss = requireTool("ss", what);
        const filter = [`( sport = :${port} or dport = :${port} )`, "dst", "127.0.0.0/8"];
        const list = async () => {
          const ran = await run(ss, ["-H", "-tn", "state", "established", ...filter], undefined, timeoutMs);
          if (ran.code !== 0) throw explain(`ss (${what})`, ran);
          return new Set(
            ran.stdout
              .split("\n")
              .map((line) => line.trim().split(/\s+/))
              .filter((cols) => cols.length >= 4)
              .map((cols) => `${cols[2]} ${cols[3]}`),
          );
        };
        const before = await list();
        const ran = await run(
          ss,
          ["-K", "-H", "-tn", "state", "established", ...filter],
          undefined,
          timeoutMs,
        );
        if (ran.code !== 0) throw explain(`ss -K (${what})`, ran);
        const after = await list();
        const survivors = [...before].filter((key) => after.has(key));
        if (survivors.length > 0) {
          throw new ChaosError(
            `${what}: ${survivors.length} of ${before.size} connections still established after ss -K ` +
              `(needs root and a kernel with CONFIG_INET_DIAG_DESTROY; uid ${uid()})`,
            {},
          );
        }
        return { killed: before.size };
      }),
  };
}

async function deleteTable(nft: string, timeoutMs: number): Promise<void> {
  // `add` first so that `delete` never fails on a missing table (nft 1.0.6 has no `destroy`).
  const script = `add table ${NFT_FAMILY} ${NFT_TABLE}\ndelete table ${NFT_FAMILY} ${NFT_TABLE}\n`;
  const ran = await run(nft, ["-f", "-"], script, timeoutMs);
  if (ran.code !== 0) throw explain(`delete table ${NFT_FAMILY} ${NFT_TABLE}`, ran);
  journalForget("nft");
  disarmShutdown();
}

export type KernelClearOutcome =
  | { status: "removed" }
  | { status: "absent" }
  /** nft is missing or not permitted: this user cannot have left rules behind either. */
  | { status: "unavailable"; reason: string };

/**
 * Removes posstorm's nftables table and every drop in it: at startup (leftovers of a killed run), by
 * `posstorm chaos clear`, and on Ctrl-C.
 */
export function clearKernelFaults(opts: { timeoutMs?: number } = {}): Promise<KernelClearOutcome> {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  return serial(async () => {
    const nft = findSystemTool("nft");
    if (!nft) return { status: "unavailable", reason: "nft (nftables) is not installed" };
    const ran = await run(nft, ["list", "tables", NFT_FAMILY], undefined, timeoutMs);
    if (ran.code !== 0) {
      const error = explain("nft list tables", ran);
      if (/root or CAP_NET_ADMIN/.test(error.message))
        return { status: "unavailable", reason: error.message };
      throw error;
    }
    if (!new RegExp(`^table ${NFT_FAMILY} ${NFT_TABLE}$`, "m").test(ran.stdout)) {
      disarmShutdown();
      return { status: "absent" };
    }
    await deleteTable(nft, timeoutMs);
    const check = await run(nft, ["list", "tables", NFT_FAMILY], undefined, timeoutMs);
    if (new RegExp(`^table ${NFT_FAMILY} ${NFT_TABLE}$`, "m").test(check.stdout)) {
      throw new ChaosError(`table ${NFT_FAMILY} ${NFT_TABLE} still present after deleting it`, {});
    }
    return { status: "removed" };
  });
}
