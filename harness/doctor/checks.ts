import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import http from "node:http";
import { promisify } from "node:util";
import { Worker } from "node:worker_threads";
import { describeFaultLeftovers, findFaultLeftovers, probeNftables, probeSs } from "../chaos/index.ts";
import { describePriority, type ThreadPriority, wantedRtPriority } from "../fleet/index.ts";
import { labInputsDigest } from "../lab/images.ts";
import { ownerIsDead } from "../lab/labels.ts";
import { canBind, LOOPBACK } from "../lab/ports.ts";
import { listManaged } from "../lab/runtime/containers.ts";
import type { CheckResult, Status } from "../shared/check.ts";
import { pinnedVersions } from "../shared/repo.ts";
import { findTool, toolsDir } from "../shared/tools.ts";

export type { CheckResult, Status };

const run = promisify(execFile);

export interface DoctorContext {
  env: NodeJS.ProcessEnv;
  versions: Record<string, string>;
}

const SETUP = "bash scripts/setup.sh";

function versionAtLeast(actual: string, minimum: string): boolean {
  const a = actual.replace(/^v/, "").split(".").map(Number);
  const b = minimum.replace(/^v/, "").split(".").map(Number);
  for (let i = 0; i < 3; i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  }
  return true;
}

async function output(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const { stdout, stderr } = await run(file, args, { env, timeout: 10_000 });
  return `${stdout}${stderr}`;
}

export async function checkNode(ctx: DoctorContext): Promise<CheckResult> {
  const min = ctx.versions.NODE_MIN!;
  const pinned = ctx.versions.NODE_VERSION!;
  const found = findTool("node", { env: ctx.env, subdir: "node/bin" });
  if (!found.path) {
    return {
      name: "node",
      status: "missing",
      version: "-",
      detail: `no node in ${found.searched.join(", ")}`,
      fix: `${SETUP} (provisions Node ${pinned} from the npm registry)`,
    };
  }
  const version = (await output(found.path, ["--version"], ctx.env).catch(() => "?")).trim();
  if (!versionAtLeast(version, min)) {
    return {
      name: "node",
      status: "missing",
      version,
      detail: `${found.path} is older than ${min}`,
      fix: `${SETUP} (provisions Node ${pinned} into ${toolsDir(ctx.env)}/node)`,
    };
  }
  return { name: "node", status: "ok", version, detail: found.path };
}

export async function checkToxiproxy(ctx: DoctorContext): Promise<CheckResult> {
  const want = ctx.versions.TOXIPROXY_VERSION!.replace(/^v/, "");
  const found = findTool("toxiproxy-server", { env: ctx.env });
  const fix = `${SETUP} (builds toxiproxy-server ${want} from scripts/toxiproxy)`;
  if (!found.path) {
    return {
      name: "toxiproxy",
      status: "missing",
      version: "-",
      detail: `toxiproxy-server not found in ${found.searched.join(", ")}`,
      fix,
    };
  }
  const version = (await output(found.path, ["-version"], ctx.env).catch(() => "?")).trim().split(" ").pop()!;
  if (version !== want) {
    return { name: "toxiproxy", status: "missing", version, detail: `${found.path} is not ${want}`, fix };
  }
  return { name: "toxiproxy", status: "ok", version, detail: found.path };
}

/** Where the Docker engine API is: DOCKER_HOST (unix:// or tcp://) or the default socket. */
export function dockerEndpoint(env: NodeJS.ProcessEnv): {
  socketPath?: string;
  host?: string;
  port?: number;
} {
  const value = env.DOCKER_HOST || "unix:///var/run/docker.sock";
  if (value.startsWith("unix://")) return { socketPath: value.slice("unix://".length) };
  const url = new URL(value.replace(/^tcp:/, "http:"));
  return { host: url.hostname, port: Number(url.port || 2375) };
}

async function dockerGet(env: NodeJS.ProcessEnv, path: string): Promise<{ status: number; body: string }> {
  return await new Promise((resolve, reject) => {
    const request = http.get({ ...dockerEndpoint(env), path, timeout: 3_000 }, (response) => {
      let body = "";
      response.on("data", (chunk) => {
        body += chunk;
      });
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on("timeout", () => request.destroy(new Error("no answer after 3000ms")));
    request.on("error", reject);
  });
}

export async function checkEngine(ctx: DoctorContext): Promise<CheckResult> {
  const where = ctx.env.DOCKER_HOST || "unix:///var/run/docker.sock";
  try {
    const { status, body } = await dockerGet(ctx.env, "/version");
    if (status !== 200) throw new Error(`HTTP ${status}`);
    const version = (JSON.parse(body) as { Version: string }).Version;
    return { name: "docker engine", status: "ok", version, detail: where };
  } catch (error) {
    return {
      name: "docker engine",
      status: "missing",
      version: "-",
      detail: `no engine answers at ${where}: ${(error as Error).message}`,
      fix: "bash scripts/engine.sh (installs docker.io and starts dockerd as root on Debian), or set DOCKER_HOST",
    };
  }
}

export async function checkImages(ctx: DoctorContext): Promise<CheckResult[]> {
  const images = [
    ctx.env.POSSTORM_TOXIPROXY_IMAGE || ctx.versions.TOXIPROXY_IMAGE!,
    ctx.env.POSSTORM_NODE_IMAGE || ctx.versions.NODE_IMAGE!,
    ctx.env.POSSTORM_LAB_IMAGE || ctx.versions.LAB_IMAGE!,
  ];
  return await Promise.all(
    images.map(async (image): Promise<CheckResult> => {
      const name = `image ${image.split(":")[0]!.split("/").pop()}`;
      try {
        const { status, body } = await dockerGet(ctx.env, `/images/${encodeURIComponent(image)}/json`);
        if (status === 200 && image === (ctx.env.POSSTORM_LAB_IMAGE || ctx.versions.LAB_IMAGE)) {
          const env = (JSON.parse(body) as { Config?: { Env?: string[] } }).Config?.Env ?? [];
          const built = env.find((e) => e.startsWith("POSSTORM_INPUTS="))?.slice("POSSTORM_INPUTS=".length);
          if (built !== labInputsDigest()) {
            return {
              name,
              status: "missing",
              version: built ?? "-",
              detail: `${image} holds older simulator sources than this checkout`,
              fix: "bash scripts/images.sh (rebundles the switch, HSM and issuer)",
            };
          }
          return { name, status: "ok", version: built, detail: image };
        }
        if (status === 200) return { name, status: "ok", version: image.split(":")[1]!, detail: image };
        return {
          name,
          status: "missing",
          version: "-",
          detail: `${image} is not on the engine`,
          fix: "bash scripts/images.sh (builds it locally; nothing is pulled)",
        };
      } catch (error) {
        return {
          name,
          status: "missing",
          version: "-",
          detail: `cannot ask the engine for ${image}: ${(error as Error).message}`,
          fix: "start the Docker engine first (bash scripts/engine.sh)",
        };
      }
    }),
  );
}

const CAP_NET_ADMIN = 12;

function hasNetAdmin(): boolean {
  const status = readFileSync("/proc/self/status", "utf8");
  const capEff = BigInt(`0x${/CapEff:\s*([0-9a-f]+)/.exec(status)?.[1] ?? "0"}`);
  return ((capEff >> BigInt(CAP_NET_ADMIN)) & 1n) === 1n;
}

const NO_NET_ADMIN: Omit<CheckResult, "name"> = {
  status: "missing",
  version: "-",
  detail:
    "this process lacks CAP_NET_ADMIN (kernel packet drops and connection kills need root or that capability)",
  fix: "run as root, or grant CAP_NET_ADMIN (setcap / docker --cap-add NET_ADMIN)",
};

/** nftables as the packet-loss and SYN-drop faults use it: a table of the probe's own created and deleted. */
export async function checkNftables(ctx: DoctorContext): Promise<CheckResult> {
  const name = "nftables (packet loss)";
  if (!hasNetAdmin()) return { name, ...NO_NET_ADMIN };
  const probe = await probeNftables(ctx.env);
  if (!probe.ok) return { name, status: "missing", version: "-", detail: probe.detail, fix: probe.fix };
  return {
    name,
    status: "ok",
    version: probe.version,
    detail: `${probe.path} (probe table created and deleted)`,
  };
}

/** `ss -K` as the connection-kill fault uses it: a loopback connection of the probe's own, killed. */
export async function checkSs(ctx: DoctorContext): Promise<CheckResult> {
  const name = "ss (connection kill)";
  if (!hasNetAdmin()) return { name, ...NO_NET_ADMIN };
  const probe = await probeSs(ctx.env);
  if (!probe.ok) return { name, status: "missing", version: "-", detail: probe.detail, fix: probe.fix };
  return { name, status: "ok", version: probe.version, detail: `${probe.path} (probe connection killed)` };
}

const PRIORITY_MODULE = new URL("../fleet/thread-priority.ts", import.meta.url).href;

/** What a fresh worker thread gets when it raises its priority as a fleet segment's thread does. */
function probeFleetPriority(env: NodeJS.ProcessEnv): Promise<ThreadPriority | undefined> {
  const code = `import(${JSON.stringify(PRIORITY_MODULE)}).then((m) => require("node:worker_threads").parentPort.postMessage(m.raiseThreadPriority()));`;
  return new Promise((resolve, reject) => {
    const worker = new Worker(code, { eval: true, env });
    worker.once("message", (priority: ThreadPriority | undefined) => {
      resolve(priority);
      void worker.terminate();
    });
    worker.once("error", reject);
  });
}

/** Whether the fleet's threads get real-time scheduling here (harness/fleet/thread-priority.ts). */
export async function checkFleetPriority(ctx: DoctorContext): Promise<CheckResult> {
  const name = "fleet thread priority";
  const got = await probeFleetPriority(ctx.env).catch((error: unknown) => error as Error);
  if (got instanceof Error || got === undefined) {
    return {
      name,
      status: "warn",
      version: "-",
      detail:
        got instanceof Error ? `probe failed: ${got.message}` : "no /proc/thread-self: priority unknown",
    };
  }
  if (got.policy === "fifo" || wantedRtPriority(ctx.env) === 0) {
    return { name, status: "ok", version: "-", detail: `segment threads run at ${describePriority(got)}` };
  }
  return {
    name,
    status: "warn",
    version: "-",
    detail: `segment threads run at ${describePriority(got)}: real-time scheduling refused, so schedule lag grows when the lab shares the cores`,
    fix: "run as root or with CAP_SYS_NICE (chrt from util-linux on the PATH)",
  };
}

/** What a crashed or killed run left behind: containers of dead owners, the nftables table, toxics. */
export async function checkLeftovers(ctx: DoctorContext): Promise<CheckResult> {
  const name = "leftovers";
  const found: string[] = [];
  // No engine answering: no container can be left on it (the engine check says what is wrong).
  const stale =
    (await checkEngine(ctx)).status === "ok"
      ? (await listManaged()).filter((c) => ownerIsDead(c.ownerPid))
      : [];
  if (stale.length > 0) {
    found.push(`${stale.length} stale container(s) of dead runs: ${stale.map((c) => c.role).join(", ")}`);
  }
  found.push(...describeFaultLeftovers(await findFaultLeftovers()));
  if (found.length === 0) {
    return { name, status: "ok", version: "-", detail: "no stale containers, nftables table or toxics" };
  }
  return {
    name,
    status: "warn",
    version: "-",
    detail: found.join("; "),
    fix: "bin/posstorm lab down --stale (removes what dead runs left; a running lab is kept)",
  };
}

/** Ports posstorm's lab binds by default (Toxiproxy API); POSSTORM_DOCTOR_PORTS overrides, comma-separated. */
export function defaultPorts(env: NodeJS.ProcessEnv): number[] {
  return (env.POSSTORM_DOCTOR_PORTS ?? "8474").split(",").map(Number).filter(Number.isInteger);
}

export async function checkPorts(ctx: DoctorContext): Promise<CheckResult> {
  const ports = defaultPorts(ctx.env);
  if (!(await canBind(0))) {
    return {
      name: "free ports",
      status: "missing",
      version: "-",
      detail: `cannot bind any port on ${LOOPBACK}`,
      fix: "bring up the loopback interface (ip link set lo up)",
    };
  }
  const taken: number[] = [];
  for (const port of ports) if (!(await canBind(port))) taken.push(port);
  if (taken.length > 0) {
    return {
      name: "free ports",
      status: "missing",
      version: "-",
      detail: `${taken.map((p) => `${LOOPBACK}:${p}`).join(", ")} in use`,
      fix: `stop what holds ${taken.join(", ")} (ss -ltnp 'sport = :${taken[0]}'), or an old lab: posstorm lab down`,
    };
  }
  return { name: "free ports", status: "ok", version: "-", detail: `${LOOPBACK}: ${ports.join(", ")} free` };
}

export async function runChecks(env: NodeJS.ProcessEnv = process.env): Promise<CheckResult[]> {
  const ctx: DoctorContext = { env, versions: pinnedVersions() };
  const [node, toxiproxy, engine, images, nft, ss, ports, priority, leftovers] = await Promise.all([
    checkNode(ctx),
    checkToxiproxy(ctx),
    checkEngine(ctx),
    checkImages(ctx),
    checkNftables(ctx),
    checkSs(ctx),
    checkPorts(ctx),
    checkFleetPriority(ctx),
    checkLeftovers(ctx),
  ]);
  return [node, toxiproxy, engine, ...images, nft, ss, ports, priority, leftovers];
}

export function formatChecks(results: CheckResult[]): string {
  const nameWidth = Math.max(...results.map((r) => r.name.length));
  const versionWidth = Math.max(...results.map((r) => r.version.length));
  return results
    .map((r) => {
      const status = r.status === "ok" ? "ok     " : r.status === "warn" ? "WARN   " : "MISSING";
      const line = `${status}  ${r.name.padEnd(nameWidth)}  ${r.version.padEnd(versionWidth)}  ${r.detail}`;
      return r.fix ? `${line}\n         fix: ${r.fix}` : line;
    })
    .join("\n");
}
