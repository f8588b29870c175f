import http from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ConfigError, type ConfigSpec, updateConfig } from "./config.ts";
import type { Registry } from "./metrics.ts";

/** A JSON route of the admin API: returns the body to send (JSON, or a StreamedBody), or throws an AdminError. */
export type Route = (body: unknown, url: URL) => unknown | Promise<unknown>;

/** A route's answer sent as it is produced (a large NDJSON document), with backpressure, instead of as JSON. */
export class StreamedBody {
  readonly contentType: string;
  readonly chunks: Iterable<string> | AsyncIterable<string>;
  constructor(contentType: string, chunks: Iterable<string> | AsyncIterable<string>) {
    this.contentType = contentType;
    this.chunks = chunks;
  }
}

export class AdminError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export interface AdminOptions<S extends ConfigSpec> {
  program: string;
  host: string;
  /** 0 picks a free port. */
  port: number;
  registry: Registry;
  config: { spec: S; values: Record<keyof S, unknown>; onChange?: (changed: string[]) => void };
  /** Extra JSON routes, keyed `METHOD /path`. */
  routes?: Record<string, Route>;
}

export interface AdminServer {
  readonly port: number;
  close(): Promise<void>;
}

const withProcessMetrics = new WeakSet<Registry>();

/**
 * process_resident_memory_bytes, process_heap_used_bytes and process_cpu_seconds_total (user + system), read at
 * each scrape (once per registry).
 */
function registerProcessMetrics(registry: Registry): void {
  if (withProcessMetrics.has(registry)) return;
  withProcessMetrics.add(registry);
  registry
    .gauge("process_resident_memory_bytes", "resident set size of the process")
    .track(() => process.memoryUsage.rss());
  registry.gauge("process_heap_used_bytes", "V8 heap in use").track(() => process.memoryUsage().heapUsed);
  registry.readCounter(
    "process_cpu_seconds_total",
    "user and system CPU time of the process, seconds",
    () => {
      const { user, system } = process.cpuUsage();
      return (user + system) / 1e6;
    },
  );
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 1 << 20) throw new AdminError(413, "body larger than 1 MiB");
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch (error) {
    throw new AdminError(400, `body is not JSON: ${(error as Error).message}`);
  }
}

/** The body of a PUT /config as settings to change; an AdminError (400) when it is not a JSON object. */
export function settingsBody(body: unknown): Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new AdminError(400, "PUT /config takes a JSON object of settings");
  }
  return body as Record<string, unknown>;
}

/** The admin API every simulator serves: /healthz, /metrics, /config (GET, PUT), plus its own routes. */
export async function startAdmin<S extends ConfigSpec>(opts: AdminOptions<S>): Promise<AdminServer> {
  const started = Date.now();
  registerProcessMetrics(opts.registry);
  const routes: Record<string, Route> = {
    "GET /healthz": () => ({ ok: true, program: opts.program, uptimeS: (Date.now() - started) / 1000 }),
    "GET /config": () => opts.config.values,
    "PUT /config": (body) => {
      const changed = updateConfig(opts.program, opts.config.spec, opts.config.values, settingsBody(body));
      opts.config.onChange?.(changed);
      return { changed, config: opts.config.values };
    },
    ...opts.routes,
  };
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://admin");
    try {
      if (req.method === "GET" && url.pathname === "/metrics") {
        res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
        res.end(opts.registry.render());
        return;
      }
      const route = routes[`${req.method} ${url.pathname}`];
      if (!route) throw new AdminError(404, `no route ${req.method} ${url.pathname}`);
      const body = req.method === "GET" ? undefined : await readJson(req);
      const result = await route(body, url);
      if (result instanceof StreamedBody) {
        res.writeHead(200, { "content-type": result.contentType });
        await pipeline(Readable.from(result.chunks), res);
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(result));
    } catch (error) {
      if (res.headersSent) {
        res.destroy(error as Error); // mid-stream: the client sees the body cut short
        return;
      }
      const status = error instanceof AdminError ? error.status : error instanceof ConfigError ? 400 : 500;
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: (error as Error).message }));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
