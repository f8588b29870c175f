import { join } from "node:path";
import type { Argv, CommandModule } from "yargs";
import { clearFaultLeftovers } from "../../chaos/index.ts";
import { address, type Runtime, startLab } from "../../lab/lab.ts";
import { listManaged, removeManaged } from "../../lab/runtime/containers.ts";
import { removeTestHosts } from "../../lab/test-hosts.ts";
import { runStamp } from "../../run/stamp.ts";
import { type LabJson, newestLabDir, readLabJson } from "../../run-folder/index.ts";
import { REPO_ROOT } from "../../shared/repo.ts";

const REPORTS = join(REPO_ROOT, "reports");

interface UpArgs {
  runtime: Runtime;
  for: number;
  issuers: string[];
  "issuer-timeout-ms": number | undefined;
}

const up: CommandModule<object, UpArgs> = {
  command: "up",
  describe: "Start the reference lab (switch, HSM, issuers, every link behind Toxiproxy) until Ctrl-C",
  builder: (y) =>
    y
      .option("runtime", { choices: ["containers", "local"] as const, default: "containers" as Runtime })
      .option("for", { type: "number", default: 3600, describe: "stop by itself after this many seconds" })
      .option("issuers", { type: "array", string: true, default: ["a", "b"], describe: "issuer names" })
      .option("issuer-timeout-ms", { type: "number", describe: "switch → issuer timeout, ms" }),
  handler: async (argv) => {
    const runDir = join(REPORTS, `lab-${runStamp(new Date())}`);
    const lab = await startLab({
      runtime: argv.runtime,
      runDir,
      issuers: Object.fromEntries(argv.issuers.map((name) => [name, {}])),
      switchSettings: argv["issuer-timeout-ms"] ? { issuerTimeoutMs: argv["issuer-timeout-ms"] } : {},
    });
    console.log(`lab up (${lab.runtime}), session ${lab.session}; logs in ${runDir}/logs`);
    console.log(`terminals connect to ${address(lab.edge)} (proxy edge)`);
    for (const [name, link] of Object.entries(lab.links)) {
      console.log(`  link ${name.padEnd(9)} ${address(link.listen)} → ${address(link.upstream)}`);
    }
    for (const [role, url] of Object.entries(lab.admin)) console.log(`  admin ${role.padEnd(8)} ${url}`);
    console.log(`  toxiproxy ${lab.toxiproxy.apiUrl}`);
    console.log(`stops after ${argv.for}s or on Ctrl-C`);
    await new Promise((resolve) => setTimeout(resolve, argv.for * 1000));
    await lab.stop();
  },
};

/** The newest lab.json under reports/, if any. */
function newestLab(): { dir: string; lab: LabJson } | undefined {
  const dir = newestLabDir(REPORTS);
  return dir ? { dir, lab: readLabJson(dir) } : undefined;
}

const status: CommandModule<object, object> = {
  command: "status",
  describe: "List posstorm's containers and the health of the newest lab's programs",
  handler: async () => {
    const containers = await listManaged();
    if (containers.length === 0) console.log("no posstorm containers");
    for (const c of containers) {
      console.log(
        `${c.id.slice(0, 12)}  ${c.role.padEnd(10)}  ${c.state.padEnd(8)}  session ${c.session}  owner pid ${c.ownerPid}`,
      );
    }
    const newest = newestLab();
    if (!newest) return;
    console.log(`\nnewest lab: ${newest.dir}`);
    for (const [role, url] of Object.entries(newest.lab.admin)) {
      const health = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) })
        .then((r) => (r.ok ? "healthy" : `HTTP ${r.status}`))
        .catch(() => "not answering");
      console.log(`  ${role.padEnd(9)} ${url}  ${health}`);
    }
  },
};

const down: CommandModule<object, { stale: boolean }> = {
  command: "down",
  describe:
    "Remove what posstorm left running: its containers, its nftables table, the toxics and disabled proxies " +
    "of processes that died, the test hosts' network namespaces (all, or --stale: only what no live posstorm " +
    "process owns; test hosts stay)",
  builder: (y) =>
    y.option("stale", {
      type: "boolean",
      default: false,
      describe:
        "only what a dead process left (a crashed or killed run); a running lab keeps its containers and faults",
    }),
  handler: async (argv) => {
    const removed = await removeManaged(argv.stale ? { stale: true } : { all: true });
    console.log(
      `removed ${removed.length} container(s)${removed.length ? `: ${removed.map((c) => c.role).join(", ")}` : ""}`,
    );
    const faults = await clearFaultLeftovers({ all: !argv.stale });
    for (const line of faults) console.log(line);
    if (faults.length === 0) console.log("no faults left over");
    if (!argv.stale) {
      const hosts = await removeTestHosts();
      if (hosts.length > 0) console.log(`removed ${hosts.length} test host(s): ${hosts.join(", ")}`);
    }
  },
};

export const labCommand: CommandModule = {
  command: "lab <command>",
  describe: "Start, inspect or remove the lab",
  builder: (y: Argv) => y.command(up).command(status).command(down).demandCommand(1),
  handler: () => undefined,
};
