import { rmSync } from "node:fs";
import { processIsDead } from "../shared/process.ts";
import { type JournalFile, readJournals } from "./journal.ts";
import { clearKernelFaults, NFT_FAMILY, NFT_TABLE } from "./kernel.ts";
import { kernelTablePresent } from "./kernel-probes.ts";
import { connectToxiproxy } from "./toxiproxy.ts";

// Faults left behind by a process that died without clearing them (SIGKILL, a crash): its journal
// (journal.ts) and posstorm's nftables table. Containers are the lab's business (lab/runtime/containers.ts);
// `posstorm lab down` and `posstorm doctor` put both together.

export interface FaultLeftovers {
  /** `table inet posstorm` exists; undefined when nft is missing or not permitted (then none can be left). */
  nftTable: boolean | undefined;
  /** Live processes whose journal holds nftables chains: the table is in use, not left over. */
  liveNftOwners: number[];
  /** Journals of processes that are gone, with the faults they never cleared. */
  dead: JournalFile[];
}

export async function findFaultLeftovers(): Promise<FaultLeftovers> {
  const journals = readJournals();
  return {
    nftTable: await kernelTablePresent(),
    liveNftOwners: journals
      .filter((j) => !processIsDead(j.pid) && j.entries.some((e) => e.kind === "nft"))
      .map((j) => j.pid),
    dead: journals.filter((j) => processIsDead(j.pid)),
  };
}

/** Lines for the doctor and `lab down`: what is left over, empty when nothing is. */
export function describeFaultLeftovers(found: FaultLeftovers, opts: { all?: boolean } = {}): string[] {
  const lines: string[] = [];
  if (found.nftTable && (opts.all || found.liveNftOwners.length === 0)) {
    lines.push(`nftables table ${NFT_FAMILY} ${NFT_TABLE} (kernel packet drops on loopback ports)`);
  }
  for (const journal of found.dead) {
    const faults = journal.entries.filter((e) => e.kind !== "nft");
    if (faults.length === 0) continue;
    const what = faults.map((e) =>
      e.kind === "toxic" ? `toxic ${e.toxic} on ${e.proxy}` : `${e.proxy} down`,
    );
    lines.push(`faults of dead process ${journal.pid}: ${what.join(", ")}`);
  }
  return lines;
}

/**
 * Undoes what dead processes left: their toxics are removed and their disabled proxies enabled on every
 * Toxiproxy that still answers (one that is gone took them with it), and posstorm's nftables table is
 * deleted unless a live process holds a chain in it (`all`: deleted anyway). Returns a line per action.
 */
export async function clearFaultLeftovers(opts: { all?: boolean } = {}): Promise<string[]> {
  const found = await findFaultLeftovers();
  const done: string[] = [];
  for (const journal of found.dead) {
    for (const entry of journal.entries) {
      if (entry.kind === "nft") continue;
      const toxiproxy = connectToxiproxy(entry.apiUrl, 3_000);
      try {
        await toxiproxy.version();
      } catch {
        continue; // that Toxiproxy is gone, and its toxics with it
      }
      try {
        if (entry.kind === "toxic") {
          const toxics = await toxiproxy.listToxics(entry.proxy);
          if (!toxics.includes(entry.toxic)) continue;
          await toxiproxy.removeToxic(entry.proxy, entry.toxic);
          done.push(
            `removed toxic ${entry.toxic} on ${entry.proxy} (${entry.apiUrl}), left by process ${journal.pid}`,
          );
        } else if (!(await toxiproxy.getProxy(entry.proxy)).enabled) {
          await toxiproxy.setEnabled(entry.proxy, true);
          done.push(`enabled proxy ${entry.proxy} (${entry.apiUrl}), left down by process ${journal.pid}`);
        }
      } catch (error) {
        done.push(`could not undo ${entry.kind} on ${entry.proxy}: ${(error as Error).message}`);
      }
    }
    rmSync(journal.file, { force: true });
  }
  if (found.nftTable && (opts.all || found.liveNftOwners.length === 0)) {
    const cleared = await clearKernelFaults();
    if (cleared.status === "removed") done.push(`removed nftables table ${NFT_FAMILY} ${NFT_TABLE}`);
  }
  return done;
}
