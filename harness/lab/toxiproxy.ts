import { TOXIPROXY_IMAGE } from "./images.ts";
import { freePort, LOOPBACK, waitForPort } from "./ports.ts";
import { type StartedService, startContainer } from "./runtime/containers.ts";

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
    readyLog: /Starting Toxiproxy HTTP server/,
  });
  try {
    await waitForPort(apiPort, 10_000);
  } catch (error) {
    await service.stop();
    throw error;
  }
  return {
    apiUrl: `http://${LOOPBACK}:${apiPort}`,
    apiPort,
    service,
    stop: () => service.stop(),
    [Symbol.asyncDispose]: () => service.stop(),
  };
}
