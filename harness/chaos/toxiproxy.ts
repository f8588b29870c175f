import { type ICreateToxicBody, Toxiproxy } from "toxiproxy-node-client";

// The only file that imports toxiproxy-node-client. Every control call has a timeout (Toxiproxy's API
// can hang under load) and every failure becomes a ChaosError naming the proxy, the toxic and the cause.

/** Which way a toxic acts: `upstream` = client → server, `downstream` = server → client. */
export type Direction = "upstream" | "downstream";

interface ToxicCommon {
  /** Toxic name, unique per proxy; defaults to `<kind>_<direction>`. */
  name?: string;
  /** Default `downstream`. */
  direction?: Direction;
  /** Fraction (0..1) of *connections* the toxic affects, not of messages. Default 1. */
  toxicity?: number;
}

/** A Toxiproxy toxic with its units in the attribute names. */
export type Toxic = ToxicCommon &
  (
    | { kind: "latency"; latencyMs: number; jitterMs?: number }
    | { kind: "bandwidth"; rateKBps: number }
    | { kind: "slow_close"; delayMs: number }
    | { kind: "timeout"; timeoutMs: number }
    | { kind: "reset_peer"; timeoutMs: number }
    | { kind: "slicer"; averageSizeBytes: number; sizeVariationBytes?: number; delayUs?: number }
    | { kind: "limit_data"; bytes: number }
    /** posstorm's own toxic (scripts/toxiproxy/corrupt.go): a fraction of chunks damaged. */
    | { kind: "corrupt"; probability: number; damage?: "flip" | "truncate" | "length" | "mix" }
  );

export class ChaosError extends Error {
  override readonly name = "ChaosError";
  readonly proxy: string | undefined;
  readonly toxic: string | undefined;
  constructor(message: string, where: { proxy?: string; toxic?: string }, cause?: unknown) {
    super(message, { cause });
    this.proxy = where.proxy;
    this.toxic = where.toxic;
  }
}

export interface ProxySpec {
  /** Link name: `edge`, `hsm`, `issuer-a`, … */
  name: string;
  /** host:port the proxy listens on. */
  listen: string;
  /** host:port it forwards to. */
  upstream: string;
}

/** A proxy as Toxiproxy reports it. */
export interface ProxyState extends ProxySpec {
  enabled: boolean;
  /** Names of the toxics on it. */
  toxics: string[];
}

export interface ToxiproxyControl {
  readonly apiUrl: string;
  version(): Promise<string>;
  createProxy(spec: ProxySpec): Promise<void>;
  deleteProxy(name: string): Promise<void>;
  setEnabled(proxy: string, enabled: boolean): Promise<void>;
  addToxic(proxy: string, toxic: Toxic): Promise<string>;
  removeToxic(proxy: string, toxic: string): Promise<void>;
  listToxics(proxy: string): Promise<string[]>;
  getProxy(name: string): Promise<ProxyState>;
  listProxies(): Promise<ProxyState[]>;
  /** Enables every proxy and removes every toxic. */
  reset(): Promise<void>;
}

export function toxicName(toxic: Toxic): string {
  return toxic.name ?? `${toxic.kind}_${toxic.direction ?? "downstream"}`;
}

/** The wire body Toxiproxy expects: its own attribute names and units. */
export function toxicBody(toxic: Toxic): ICreateToxicBody<unknown> {
  const common = {
    name: toxicName(toxic),
    // The client lists Toxiproxy's built-in toxics; posstorm's build also registers `corrupt`.
    type: toxic.kind as ICreateToxicBody<unknown>["type"],
    stream: toxic.direction ?? "downstream",
    toxicity: toxic.toxicity ?? 1,
  } as const;
  if (common.toxicity < 0 || common.toxicity > 1) {
    throw new ChaosError(`toxicity ${common.toxicity} is outside 0..1`, { toxic: common.name });
  }
  switch (toxic.kind) {
    case "latency":
      return { ...common, attributes: { latency: toxic.latencyMs, jitter: toxic.jitterMs ?? 0 } };
    case "bandwidth":
      return { ...common, attributes: { rate: toxic.rateKBps } };
    case "slow_close":
      return { ...common, attributes: { delay: toxic.delayMs } };
    case "timeout":
      return { ...common, attributes: { timeout: toxic.timeoutMs } };
    case "reset_peer":
      return { ...common, attributes: { timeout: toxic.timeoutMs } };
    case "slicer":
      return {
        ...common,
        attributes: {
          average_size: toxic.averageSizeBytes,
          size_variation: toxic.sizeVariationBytes ?? 0,
          delay: toxic.delayUs ?? 0,
        },
      };
    case "limit_data":
      return { ...common, attributes: { bytes: toxic.bytes } };
    case "corrupt":
      return { ...common, attributes: { probability: toxic.probability, mode: toxic.damage ?? "mix" } };
  }
}

interface ProxyJson {
  name: string;
  listen: string;
  upstream: string;
  enabled: boolean;
  toxics?: { name: string }[];
}

function stateOf(json: ProxyJson): ProxyState {
  const { name, listen, upstream, enabled, toxics } = json;
  return { name, listen, upstream, enabled, toxics: (toxics ?? []).map((t) => t.name) };
}

export function connectToxiproxy(apiUrl: string, callTimeoutMs = 5_000): ToxiproxyControl {
  const client = new Toxiproxy(apiUrl);

  async function call<T>(what: string, where: { proxy?: string; toxic?: string }, run: () => Promise<T>) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new ChaosError(`${what}: no answer from Toxiproxy ${apiUrl} after ${callTimeoutMs}ms`, where),
          ),
        callTimeoutMs,
      );
    });
    try {
      return await Promise.race([run(), timeout]);
    } catch (error) {
      if (error instanceof ChaosError) throw error;
      const detail = error instanceof Error ? error.message : JSON.stringify(error);
      throw new ChaosError(`${what}: ${detail}`, where, error);
    } finally {
      clearTimeout(timer);
    }
  }

  const control: ToxiproxyControl = {
    apiUrl,
    async version() {
      // Toxiproxy 2.12 answers {"version": "2.12.0"}; older servers answer the bare version.
      const text = (await call("version", {}, () => client.getVersion())).trim();
      return text.startsWith("{") ? String((JSON.parse(text) as { version: unknown }).version) : text;
    },
    async createProxy(spec) {
      await call(`create proxy ${spec.name}`, { proxy: spec.name }, () => client.createProxy(spec));
    },
    async deleteProxy(name) {
      await call(`delete proxy ${name}`, { proxy: name }, async () => (await client.get(name)).remove());
    },
    async setEnabled(proxy, enabled) {
      await call(`${enabled ? "enable" : "disable"} proxy ${proxy}`, { proxy }, async () => {
        const current = await client.get(proxy);
        await current.update({ enabled, listen: current.listen, upstream: current.upstream });
      });
      const now = await call(`read proxy ${proxy}`, { proxy }, () => client.get(proxy));
      if (now.enabled !== enabled) {
        throw new ChaosError(`proxy ${proxy} is still ${now.enabled ? "enabled" : "disabled"}`, { proxy });
      }
    },
    async addToxic(proxy, toxic) {
      const body = toxicBody(toxic);
      await call(`add toxic ${body.name} to ${proxy}`, { proxy, toxic: body.name }, async () =>
        (await client.get(proxy)).addToxic(body),
      );
      const present = await control.listToxics(proxy);
      if (!present.includes(body.name)) {
        throw new ChaosError(`toxic ${body.name} is not on proxy ${proxy} after adding it`, {
          proxy,
          toxic: body.name,
        });
      }
      return body.name;
    },
    async removeToxic(proxy, toxic) {
      await call(`remove toxic ${toxic} from ${proxy}`, { proxy, toxic }, async () =>
        (await (await client.get(proxy)).getToxic(toxic)).remove(),
      );
      if ((await control.listToxics(proxy)).includes(toxic)) {
        throw new ChaosError(`toxic ${toxic} is still on proxy ${proxy} after removing it`, { proxy, toxic });
      }
    },
    async listToxics(proxy) {
      const { data } = await call(`list toxics of ${proxy}`, { proxy }, () =>
        client.getApi().get(`${apiUrl}/proxies/${encodeURIComponent(proxy)}/toxics`),
      );
      return (data as { name: string }[]).map((t) => t.name);
    },
    async getProxy(name) {
      const { data } = await call(`read proxy ${name}`, { proxy: name }, () =>
        client.getApi().get(`${apiUrl}/proxies/${encodeURIComponent(name)}`),
      );
      return stateOf(data as ProxyJson);
    },
    async listProxies() {
      const { data } = await call("list proxies", {}, () => client.getApi().get(`${apiUrl}/proxies`));
      return Object.values(data as Record<string, ProxyJson>).map(stateOf);
    },
    async reset() {
      await call("reset", {}, () => client.reset());
    },
  };
  return control;
}
