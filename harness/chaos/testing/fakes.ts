import type { ConfigApi } from "../admin-config.ts";
import type { ChaosContext } from "../apply.ts";
import type { KernelControl, KernelDrop } from "../kernel.ts";
import type { Clock } from "../timeline.ts";
import { ChaosError, type ProxyState, type Toxic, toxicName } from "../toxiproxy.ts";

// Fakes of the chaos seams for unit tests: every call is logged as one line (`add edge latency_downstream`),
// and state is kept so tests can check that everything was undone.

export interface FakeLab {
  ctx: ChaosContext;
  log: string[];
  toxics: Map<string, Set<string>>;
  enabled: Map<string, boolean>;
  drops: Set<string>;
  config: Map<string, Record<string, unknown>>;
  /** Make the next call whose log line matches fail once. */
  failNext(pattern: RegExp): void;
}

export function fakeLab(links: string[] = ["edge", "hsm", "issuer-a"]): FakeLab {
  const log: string[] = [];
  const toxics = new Map(links.map((l) => [l, new Set<string>()]));
  const enabled = new Map(links.map((l) => [l, true]));
  const drops = new Set<string>();
  const config = new Map<string, Record<string, unknown>>([
    ["switch", { issuerTimeoutMs: 30_000, shedding: false }],
    ["hsm", { capacityPerSecond: 0 }],
    ["issuer-a", { medianMs: 80, p99Ms: 400, responseMix: "00:1" }],
  ]);
  const failures: RegExp[] = [];
  const step = async (line: string) => {
    await Promise.resolve();
    log.push(line);
    const i = failures.findIndex((f) => f.test(line));
    if (i >= 0) {
      failures.splice(i, 1);
      throw new ChaosError(`injected failure: ${line}`, {});
    }
  };
  const proxy = (name: string) => {
    const set = toxics.get(name);
    if (!set) throw new ChaosError(`no proxy ${name}`, { proxy: name });
    return set;
  };
  const ports = Object.fromEntries(
    links.map((l, i) => [l, { listen: { host: "127.0.0.1", port: 20_000 + i } }]),
  );
  const kernel: KernelControl = {
    async addDrop(drop: KernelDrop) {
      const chain = `${drop.kind}_${drop.link}_${drop.directions.join("+")}`;
      await step(`nft add ${chain} port=${drop.port} loss=${drop.lossPercent}`);
      drops.add(chain);
      return { chain, drop };
    },
    async removeDrop(rule) {
      await step(`nft remove ${rule.chain}`);
      drops.delete(rule.chain);
      return { droppedPackets: 7 };
    },
    async killConnections(port) {
      await step(`ss -K ${port}`);
      return { killed: 3 };
    },
  };
  const configApi: ConfigApi = {
    async get(url) {
      await step(`GET ${url}`);
      return { ...config.get(url) };
    },
    async put(url, patch) {
      await step(`PUT ${url} ${JSON.stringify(patch)}`);
      const values = config.get(url)!;
      for (const [k, v] of Object.entries(patch)) {
        values[k] =
          k === "responseMix" && typeof v === "object"
            ? Object.entries(v as Record<string, number>)
                .sort(([a], [b]) => (a < b ? -1 : 1))
                .map(([c, w]) => `${c}:${w}`)
                .join(",")
            : v;
      }
      return { changed: Object.keys(patch), config: { ...values } };
    },
  };
  const ctx: ChaosContext = {
    toxiproxy: {
      async addToxic(name: string, toxic: Toxic) {
        const toxicId = toxicName(toxic);
        await step(`add ${name} ${toxicId}`);
        proxy(name).add(toxicId);
        return toxicId;
      },
      async removeToxic(name: string, toxic: string) {
        await step(`remove ${name} ${toxic}`);
        proxy(name).delete(toxic);
      },
      async setEnabled(name: string, on: boolean) {
        await step(`${on ? "enable" : "disable"} ${name}`);
        proxy(name);
        enabled.set(name, on);
      },
      async getProxy(name: string): Promise<ProxyState> {
        await step(`get ${name}`);
        return {
          name,
          listen: `127.0.0.1:${ports[name]!.listen.port}`,
          upstream: "127.0.0.1:1",
          enabled: enabled.get(name) ?? false,
          toxics: [...proxy(name)],
        };
      },
    },
    links: ports,
    admin: { switch: "switch", hsm: "hsm", "issuer-a": "issuer-a" },
    kernel,
    config: configApi,
    restartService: async (role, opts) => {
      await step(`restart ${role} down=${opts.downMs}`);
    },
  };
  return { ctx, log, toxics, enabled, drops, config, failNext: (p) => failures.push(p) };
}

/** A clock that moves only when told; sleepers wake in time order. */
export interface FakeClock extends Clock {
  advanceTo(ms: number): Promise<void>;
  advanceBy(ms: number): Promise<void>;
}

const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
};

export function fakeClock(start = Date.UTC(2026, 0, 1)): FakeClock {
  let now = start;
  const sleepers: { until: number; resolve: () => void }[] = [];
  const clock: FakeClock = {
    now: () => now,
    sleep: (ms, signal) =>
      new Promise<void>((resolve) => {
        if (ms <= 0 || signal.aborted) return resolve();
        const sleeper = { until: now + ms, resolve };
        sleepers.push(sleeper);
        signal.addEventListener(
          "abort",
          () => {
            const i = sleepers.indexOf(sleeper);
            if (i >= 0) sleepers.splice(i, 1);
            resolve();
          },
          { once: true },
        );
      }),
    async advanceTo(target) {
      for (;;) {
        await flush();
        sleepers.sort((a, b) => a.until - b.until);
        const next = sleepers[0];
        if (!next || next.until > target) break;
        sleepers.shift();
        now = next.until;
        next.resolve();
      }
      now = Math.max(now, target);
      await flush();
    },
    advanceBy: (ms) => clock.advanceTo(now + ms),
  };
  return clock;
}
