import { targetAllowance } from "../fleet/agents/test-hosts.ts";
import type { FleetControl } from "../fleet/index.ts";
import { type ConfigApi, changeConfig, httpConfigApi, putVerified, type Settings } from "./admin-config.ts";
import {
  describeFault,
  type Fault,
  FLOOD_HOLD_OPEN_S,
  faultDirections,
  faultTarget,
  isToxicFault,
  type LinkName,
  POWER_OFF_MS,
  type ToxicFault,
} from "./faults.ts";
import { startFlood } from "./flood.ts";
import { type JournalEntry, journalAdd, journalRemove } from "./journal.ts";
import { type KernelControl, nftKernel } from "./kernel.ts";
import { ChaosError, type Toxic, type ToxiproxyControl, toxicName } from "./toxiproxy.ts";

// Applying one fault and clearing it again. `applyFault` either returns a handle of a fault that is in
// effect (and verified) or throws after undoing what it had done; `handle.clear()` undoes it.

/** What a fault needs from the running lab. Tests pass fakes. */
export interface ChaosContext {
  toxiproxy: Pick<ToxiproxyControl, "addToxic" | "removeToxic" | "setEnabled" | "getProxy"> &
    /** When known, each change is journalled (journal.ts) so that a crashed process's faults can be undone. */
    Partial<Pick<ToxiproxyControl, "apiUrl">>;
  /** Each link's proxy listen address (StartedLab.links fits). */
  links: Partial<Record<LinkName, { listen: { host: string; port: number } }>>;
  /** Admin API base URL by role: `switch`, `hsm`, `issuer-a`, … (StartedLab.admin fits). */
  admin: Record<string, string>;
  /** Restarts a lab service (`switch`), staying down `downMs` in between; the lab wires it. */
  restartService?: (role: string, opts: { downMs: number }) => Promise<void>;
  /** Default: nftables and ss on this machine. */
  kernel?: KernelControl;
  /** Default: fetch with a 5 s timeout per call. */
  config?: ConfigApi;
  /** Bound on a service restart (downMs excluded); default 60 s. */
  restartTimeoutMs?: number;
  /** The run's own fleet, for fleet-side faults (power loss); absent outside a run. */
  fleet?: Pick<FleetControl, "conditions" | "set">;
}

export interface AppliedFault {
  readonly fault: Fault;
  /** Measured facts of the apply, e.g. `{ killedConnections: 12 }`. */
  readonly facts: Record<string, number | string>;
  /** Undoes the fault (a no-op for instant faults); measured facts of the clear. */
  clear(): Promise<Record<string, number | string>>;
}

function toxicsOf(fault: ToxicFault): Toxic[] {
  const { link: _link, direction: _direction, ...rest } = fault;
  return faultDirections(fault)!.map((direction) => ({ ...rest, direction }) as Toxic);
}

function listenPort(ctx: ChaosContext, link: LinkName): number {
  return listenAt(ctx, link).port;
}

function listenAt(ctx: ChaosContext, link: LinkName): { host: string; port: number } {
  const endpoint = ctx.links[link]?.listen;
  if (!endpoint) {
    throw new ChaosError(
      `no link ${link} in this lab (links: ${Object.keys(ctx.links).join(", ") || "none"})`,
      {
        proxy: link,
      },
    );
  }
  return endpoint;
}

function adminUrl(ctx: ChaosContext, role: string): string {
  const url = ctx.admin[role];
  if (!url) {
    throw new ChaosError(
      `no admin API for ${role} in this lab (roles: ${Object.keys(ctx.admin).join(", ") || "none"})`,
      {},
    );
  }
  return url;
}

async function withTimeout<T>(what: string, timeoutMs: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new ChaosError(`${what}: not done after ${timeoutMs}ms`, {})),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

const nothing = async () => ({});

/** Applies `fault` and verifies it took; on failure, undoes any part already applied and throws. */
/**
 * `toxicPrefix` names this fault's toxics apart (`condition_latency_downstream`), so a whole-run condition and
 * a fault of the same kind can be on one link at once.
 */
export async function applyFault(
  fault: Fault,
  ctx: ChaosContext,
  opts: { toxicPrefix?: string } = {},
): Promise<AppliedFault> {
  const done = (clear: AppliedFault["clear"], facts: AppliedFault["facts"] = {}): AppliedFault => ({
    fault,
    facts,
    clear,
  });

  const apiUrl = ctx.toxiproxy.apiUrl;
  const toxicEntry = (proxy: string, toxic: string): JournalEntry | undefined =>
    apiUrl === undefined ? undefined : { kind: "toxic", apiUrl, proxy, toxic };
  const note = (entry: JournalEntry | undefined) => entry && journalAdd(entry);
  const unnote = (entry: JournalEntry | undefined) => entry && journalRemove(entry);

  if (isToxicFault(fault)) {
    const added: string[] = [];
    const removeAll = async () => {
      const failures: string[] = [];
      for (const name of [...added].reverse()) {
        try {
          await ctx.toxiproxy.removeToxic(fault.link, name);
          unnote(toxicEntry(fault.link, name));
          added.splice(added.indexOf(name), 1);
        } catch (error) {
          failures.push((error as Error).message);
        }
      }
      if (failures.length > 0) {
        throw new ChaosError(`clear ${describeFault(fault)}: ${failures.join("; ")}`, { proxy: fault.link });
      }
      return {};
    };
    try {
      for (const toxic of toxicsOf(fault)) {
        const named = opts.toxicPrefix ? { ...toxic, name: `${opts.toxicPrefix}${toxicName(toxic)}` } : toxic;
        const name = await ctx.toxiproxy.addToxic(fault.link, named);
        note(toxicEntry(fault.link, name));
        added.push(name);
      }
    } catch (error) {
      await removeAll().catch(() => undefined);
      throw error;
    }
    return done(removeAll);
  }

  switch (fault.kind) {
    case "down": {
      const downEntry: JournalEntry | undefined =
        apiUrl === undefined ? undefined : { kind: "down", apiUrl, proxy: fault.link };
      note(downEntry);
      try {
        await ctx.toxiproxy.setEnabled(fault.link, false);
      } catch (error) {
        await ctx.toxiproxy.setEnabled(fault.link, true).then(
          () => unnote(downEntry),
          () => undefined,
        );
        throw error;
      }
      return done(async () => {
        await ctx.toxiproxy.setEnabled(fault.link, true);
        unnote(downEntry);
        return {};
      });
    }

    case "packet-loss":
    case "syn-drop": {
      const kernel = ctx.kernel ?? nftKernel();
      const rule = await kernel.addDrop({
        kind: fault.kind,
        link: fault.link,
        port: listenPort(ctx, fault.link),
        lossPercent: fault.lossPercent ?? 100,
        directions: fault.kind === "syn-drop" ? ["upstream"] : faultDirections(fault)!,
      });
      return done(async () => kernel.removeDrop(rule));
    }

    case "connection-kill": {
      if (fault.method === "ss-kill") {
        const kernel = ctx.kernel ?? nftKernel();
        const { killed } = await kernel.killConnections(listenPort(ctx, fault.link));
        return done(nothing, { killedConnections: killed });
      }
      const state = await ctx.toxiproxy.getProxy(fault.link);
      if (!state.enabled) return done(nothing, { note: "proxy already disabled: no connection to kill" });
      try {
        await ctx.toxiproxy.setEnabled(fault.link, false);
      } finally {
        // Re-enabled even when disabling failed half way; one retry, then the error names it.
        await ctx.toxiproxy
          .setEnabled(fault.link, true)
          .catch(() => ctx.toxiproxy.setEnabled(fault.link, true));
      }
      return done(nothing);
    }

    case "connection-flood": {
      const { host, port } = listenAt(ctx, fault.link);
      if (targetAllowance(host, false) === null) {
        throw new ChaosError(
          `${describeFault(fault)}: ${fault.link} listens on ${host}, outside loopback and posstorm's own test hosts; posstorm floods nothing else`,
          { proxy: fault.link },
        );
      }
      const flood = startFlood({
        host,
        port,
        perSecond: fault.connectionsPerSecond,
        holdMs: (fault.holdOpenS ?? FLOOD_HOLD_OPEN_S) * 1000,
      });
      return done(async () => {
        const { firstError, ...counts } = flood.stop();
        return { ...counts, ...(firstError ? { firstError } : {}) };
      });
    }

    case "issuer-slow":
    case "issuer-errors":
    case "hsm-capacity":
    case "switch-config": {
      const role = faultTarget(fault);
      const url = adminUrl(ctx, role);
      const api = ctx.config ?? httpConfigApi();
      const patch: Settings =
        fault.kind === "issuer-slow"
          ? { medianMs: fault.medianMs, p99Ms: fault.p99Ms }
          : fault.kind === "issuer-errors"
            ? { responseMix: fault.responseMix }
            : fault.kind === "hsm-capacity"
              ? { capacityPerSecond: fault.capacityPerSecond }
              : { ...fault.settings };
      let previous: Settings;
      try {
        previous = await changeConfig(api, role, url, patch);
      } catch (error) {
        throw error instanceof ChaosError
          ? error
          : new ChaosError(`${describeFault(fault)}: ${(error as Error).message}`, {}, error);
      }
      return done(
        async () => {
          await putVerified(api, role, url, previous);
          return {};
        },
        { previous: JSON.stringify(previous) },
      );
    }

    case "switch-restart": {
      if (!ctx.restartService) {
        throw new ChaosError(
          "switch-restart needs restartService in the chaos context (the lab provides it)",
          {},
        );
      }
      const downMs = fault.downMs ?? 0;
      const started = performance.now();
      await withTimeout(
        "restart switch",
        downMs + (ctx.restartTimeoutMs ?? 60_000),
        ctx.restartService("switch", { downMs }),
      );
      return done(nothing, { restartMs: Math.round(performance.now() - started) });
    }

    case "power-loss": {
      const fleet = ctx.fleet;
      if (!fleet) {
        throw new ChaosError(
          "power-loss acts on the run's own terminals: apply it in a profile's chaos or to a rehearsal, not to a bare lab",
          {},
        );
      }
      fleet.set({
        ...fleet.conditions,
        powerLoss: { fraction: fault.fraction, offMs: fault.offMs ?? POWER_OFF_MS },
      });
      return done(async () => {
        const { powerLoss: _gone, ...rest } = fleet.conditions;
        fleet.set(rest);
        return {};
      });
    }
  }
}
