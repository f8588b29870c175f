import { type ChaosContext, connectToxiproxy, type LinkName, type ToxiproxyControl } from "../chaos/index.ts";
import { hasRunFile, type LabJson, RUN_FILES, readLabJson, runFile } from "../run-folder/index.ts";
import type { StartedLab } from "./lab.ts";
import { assertLoopback } from "./ports.ts";

// The one way to a lab's chaos controls: a lab this process started (with restarts), or one another process
// runs, found by its lab.json or its Toxiproxy address (no restarts: the process that started it owns them).

/** The chaos controls of a lab started in this process. */
export function chaosContextOf(lab: StartedLab): ChaosContext {
  return {
    toxiproxy: lab.toxiproxy,
    links: lab.links,
    admin: lab.admin,
    restartService: (role, { downMs }) => lab.restart(role, { downMs }),
  };
}

export interface ReachedLab {
  /** Where the lab was found, for messages. */
  source: string;
  toxiproxy?: ToxiproxyControl;
  ctx?: ChaosContext;
}

function loopbackUrl(url: string): string {
  assertLoopback(new URL(url).hostname);
  return url.replace(/\/+$/, "");
}

/**
 * A lab another process runs: from the lab.json in `labDir`, and/or a Toxiproxy API address (which wins for
 * the proxies; their listen addresses are then asked of Toxiproxy). Loopback addresses only.
 */
export async function reachLab(where: { labDir?: string; toxiproxyUrl?: string }): Promise<ReachedLab> {
  let file: Partial<LabJson> = {};
  let source = "";
  if (where.labDir) {
    if (!hasRunFile(where.labDir, "lab"))
      throw new Error(`--lab ${where.labDir}: no ${RUN_FILES.lab} there (posstorm lab up writes one)`);
    file = readLabJson(where.labDir); // a broken one: an error naming the file and what is wrong
    source = runFile(where.labDir, "lab");
  }
  const url = where.toxiproxyUrl ?? file.toxiproxy;
  if (!url) return { source: source || "no lab" };
  const toxiproxy = connectToxiproxy(loopbackUrl(url));
  let links: Record<string, { listen: { host: string; port: number } }> | undefined = file.links;
  if (!links || where.toxiproxyUrl) {
    // The proxies know where they listen.
    links = Object.fromEntries(
      (await toxiproxy.listProxies()).map((p) => {
        const at = p.listen.lastIndexOf(":");
        return [p.name, { listen: { host: p.listen.slice(0, at), port: Number(p.listen.slice(at + 1)) } }];
      }),
    );
  }
  const admin = Object.fromEntries(
    Object.entries(file.admin ?? {}).map(([role, u]) => [role, loopbackUrl(u)]),
  );
  return {
    source: source ? `${source} (Toxiproxy ${toxiproxy.apiUrl})` : `Toxiproxy ${toxiproxy.apiUrl}`,
    toxiproxy,
    ctx: { toxiproxy, links: links as Record<LinkName, { listen: { host: string; port: number } }>, admin },
  };
}
