import { createWriteStream } from "node:fs";
import {
  GenericContainer,
  getContainerRuntimeClient,
  type StartedTestContainer,
  Wait,
  type WaitStrategy,
} from "testcontainers";
import { onShutdown } from "../../shared/shutdown.ts";
import { LABEL_MANAGED, LABEL_OWNER_PID, LABEL_SESSION, ownerIsDead, ownerLabels } from "../labels.ts";
import { LOOPBACK, waitForPort } from "../ports.ts";
import { lastLines } from "./logs.ts";

// The only file that imports testcontainers. Containers run in host network mode (no bridge here),
// Ryuk is off (its image cannot be pulled): posstorm removes its own containers by label instead.
// The engine has no default bridge, so testcontainers must not look for a gateway: the host is loopback.
process.env.TESTCONTAINERS_RYUK_DISABLED = "true";
process.env.TESTCONTAINERS_HOST_OVERRIDE ??= "127.0.0.1";

export interface ContainerSpec {
  /** Lab role, recorded as a label: `toxiproxy`, `switch`, … */
  role: string;
  /** Lab session the container belongs to. */
  session: string;
  image: string;
  command?: string[];
  env?: Record<string, string>;
  /** A line the program prints once it is ready (give this or readyPort). */
  readyLog?: RegExp;
  /**
   * Ready once 127.0.0.1:readyPort accepts TCP connections (host network mode), for a program that prints
   * nothing when ready at its log level (Toxiproxy above `info`).
   */
  readyPort?: number;
  startupTimeoutMs?: number;
  /** Files of this machine made visible in the container, read-only: host path → container path. */
  files?: Record<string, string>;
  /** Where the container's stdout and stderr are appended. */
  logFile?: string;
}

export interface StartedService extends AsyncDisposable {
  readonly role: string;
  readonly id: string;
  logs(): Promise<string>;
  /** Undefined while the program runs (or was stopped by stop()); else how it ended (`exited with code 137`). */
  ended(): Promise<string | undefined>;
  stop(): Promise<void>;
}

export async function startContainer(spec: ContainerSpec): Promise<StartedService> {
  if ((spec.readyLog === undefined) === (spec.readyPort === undefined))
    throw new Error(`${spec.role}: give exactly one of readyLog and readyPort`);
  let container = new GenericContainer(spec.image)
    .withNetworkMode("host")
    .withLabels(ownerLabels(spec.session, spec.role))
    .withWaitStrategy(spec.readyLog ? Wait.forLogMessage(spec.readyLog) : portWait(spec.readyPort!))
    .withStartupTimeout(spec.startupTimeoutMs ?? 30_000);
  if (spec.command) container = container.withCommand(spec.command);
  if (spec.env) container = container.withEnvironment(spec.env);
  if (spec.files) {
    container = container.withBindMounts(
      Object.entries(spec.files).map(([source, target]) => ({ source, target, mode: "ro" as const })),
    );
  }
  if (spec.logFile) {
    const out = createWriteStream(spec.logFile, { flags: "a" });
    container = container.withLogConsumer((stream) => stream.pipe(out));
  }
  let started: StartedTestContainer;
  try {
    started = await container.start();
  } catch (error) {
    const tail = spec.logFile ? lastLines(spec.logFile) : "";
    throw new Error(
      `${spec.role}: container ${spec.image} did not start: ${(error as Error).message}${tail ? `\n${tail}` : ""}`,
      { cause: error },
    );
  }
  return wrap(spec.role, started);
}

/**
 * Ready once 127.0.0.1:port accepts a connection (the container shares the host's network); fails as soon as
 * the container has exited instead of waiting for the timeout.
 */
function portWait(port: number): WaitStrategy {
  let timeoutMs = 60_000;
  let timeoutSet = false;
  return {
    withStartupTimeout(ms: number) {
      timeoutMs = ms;
      timeoutSet = true;
      return this;
    },
    isStartupTimeoutSet: () => timeoutSet,
    getStartupTimeout: () => timeoutMs,
    async waitUntilReady(container) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        try {
          await waitForPort(port, 500);
          return;
        } catch {
          const state = (await container.inspect()).State;
          if (!state.Running)
            throw new Error(
              `exited with code ${state.ExitCode} before ${LOOPBACK}:${port} accepted connections`,
            );
          if (Date.now() > deadline)
            throw new Error(`${LOOPBACK}:${port} accepted no connection within ${timeoutMs} ms`);
        }
      }
    },
  };
}

function wrap(role: string, started: StartedTestContainer): StartedService {
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    unregister();
    await started.stop({ timeout: 2_000, remove: true, removeVolumes: true });
  };
  const unregister = onShutdown(stop);
  return {
    role,
    id: started.getId(),
    async logs() {
      const stream = await started.logs();
      const chunks: string[] = [];
      await new Promise<void>((resolve) => {
        stream.on("data", (chunk: Buffer | string) => chunks.push(String(chunk)));
        stream.on("end", () => resolve());
        setTimeout(resolve, 500);
      });
      stream.destroy();
      return chunks.join("");
    },
    async ended() {
      if (stopped) return undefined;
      const client = await getContainerRuntimeClient();
      const info = await client.container.inspect(client.container.getById(started.getId()));
      if (info.State.Running) return undefined;
      return `container exited with code ${info.State.ExitCode}${info.State.OOMKilled ? " (out of memory)" : ""}`;
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

export interface ManagedContainer {
  id: string;
  role: string;
  session: string;
  ownerPid: number;
  state: string;
}

/** Every container posstorm started on this engine, running or not. */
export async function listManaged(): Promise<ManagedContainer[]> {
  const client = await getContainerRuntimeClient();
  const all = await client.container.list();
  return all
    .filter((info) => info.Labels?.[LABEL_MANAGED] === "true")
    .map((info) => ({
      id: info.Id,
      role: info.Labels["posstorm.role"] ?? "?",
      session: info.Labels[LABEL_SESSION] ?? "?",
      ownerPid: Number(info.Labels[LABEL_OWNER_PID]),
      state: info.State,
    }));
}

/**
 * Removes posstorm's containers: those whose owner process is dead (`stale`), those of one session,
 * or all of them. Returns what was removed.
 */
export async function removeManaged(
  which: { stale: true } | { session: string } | { all: true },
): Promise<ManagedContainer[]> {
  const client = await getContainerRuntimeClient();
  const chosen = (await listManaged()).filter((c) =>
    "all" in which ? true : "session" in which ? c.session === which.session : ownerIsDead(c.ownerPid),
  );
  await Promise.all(
    chosen.map(async (c) => {
      const container = client.container.getById(c.id);
      if (c.state === "running") await client.container.stop(container, { timeout: 0 });
      await client.container.remove(container, { removeVolumes: true });
    }),
  );
  return chosen;
}
