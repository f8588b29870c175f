import { TOXIPROXY_IMAGE } from "./images.ts";
import { freePort, LOOPBACK } from "./ports.ts";
import { type StartedService, startContainer } from "./runtime/containers.ts";

/**
 * Toxiproxy's log level in the lab: `error` unless POSSTORM_TOXIPROXY_LOG_LEVEL says otherwise. Every line is
 * the hot path's cost: it goes through the container's stdout (containerd shim, Docker engine) into the harness,
 * which writes `<run dir>/logs/toxiproxy.log` (at `info`, one line per accepted connection, the shim, dockerd and
 * the harness spent about 0.6 cores at 1,500 sign-ins/s). `warn` is no better for short connections: Toxiproxy
 * 2.12 logs "Source terminated … use of closed network connection" for nearly every one (the upstream half it
 * closed itself). At `error` it still logs what went wrong: an upstream it could not connect to.
 */
export function toxiproxyLogLevel(): string {
  return process.env.POSSTORM_TOXIPROXY_LOG_LEVEL || "error";
}

/** Toxiproxy's environment in the lab (its log level; see toxiproxyLogLevel). */
export const toxiproxyEnv = (): Record<string, string> => ({ LOG_LEVEL: toxiproxyLogLevel() });

export interface StartedToxiproxy extends AsyncDisposable {
  /** http://127.0.0.1:<port> of the Toxiproxy API. */
  readonly apiUrl: string;
  readonly apiPort: number;
  readonly service: StartedService;
  stop(): Promise<void>;
}

/** Starts the locally built Toxiproxy image in host network mode, its API on 127.0.0.1. */
export async function startToxiproxy(opts: { session: string; apiPort?: number }): Promise<StartedToxiproxy> {
  const apiPort = opts.apiPort ?? (await freePort());
  const service = await startContainer({
    role: "toxiproxy",
    session: opts.session,
    image: TOXIPROXY_IMAGE,
    command: ["-host", LOOPBACK, "-port", String(apiPort)],
    env: toxiproxyEnv(),
    // Its ready line ("Starting Toxiproxy HTTP server") is logged at info, below the default level.
    readyPort: apiPort,
  });
  return {
    apiUrl: `http://${LOOPBACK}:${apiPort}`,
    apiPort,
    service,
    stop: () => service.stop(),
    [Symbol.asyncDispose]: () => service.stop(),
  };
}
