import net from "node:net";
import { dirname, join } from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "../lab/ports.ts";
import { findK6, type K6Summary, runK6 } from "./k6.ts";

// The real k6 binary (scripts/build-k6.sh) runs the smoke script against servers started here.
const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const SCRIPT = "harness/k6/smoke/tcp-echo.ts";
const PAYLOAD_SIZE = 64;

interface TestServer {
  port: number;
  /** Connections accepted so far. */
  connections: number;
  /** Bytes received over all connections. */
  bytesIn: number;
  close(): Promise<void>;
}

const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A loopback server that echoes (`echo`) or reads and never answers (`silent`). */
async function startServer(mode: "echo" | "silent"): Promise<TestServer> {
  const sockets = new Set<net.Socket>();
  const state = { connections: 0, bytesIn: 0 };
  const server = net.createServer((socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    socket.on("data", (chunk) => {
      state.bytesIn += chunk.length;
      if (mode === "echo") socket.write(chunk);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const result: TestServer = {
    port: (server.address() as net.AddressInfo).port,
    get connections() {
      return state.connections;
    },
    get bytesIn() {
      return state.bytesIn;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  servers.push(result);
  return result;
}

/** A Writable that keeps what it is given. */
function textSink(): { stream: Writable; lines(): string[] } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  return { stream, lines: () => Buffer.concat(chunks).toString("utf8").split("\n").filter(Boolean) };
}

const stat = (summary: K6Summary | undefined, metric: string, name: string): number | undefined =>
  summary?.metrics[metric]?.values[name];

async function smoke(port: number, env: Record<string, string> = {}) {
  const result = await runK6({
    script: SCRIPT,
    cwd: REPO_ROOT,
    env: { TARGET_HOST: "127.0.0.1", TARGET_PORT: String(port), ...env },
    timeoutMs: 90_000,
  });
  expect(result.summary, `k6 wrote no summary (exit ${result.exitCode}):\n${result.stderr}`).toBeDefined();
  return result;
}

describe("k6 with k6/x/tcp: harness/k6/smoke/tcp-echo.ts", () => {
  it("echoes 20 payloads with 2 VUs: every check passes and echo_rtt has 20 samples", async () => {
    const server = await startServer("echo");
    const { exitCode, stderr, summary } = await smoke(server.port);

    expect(exitCode, stderr).toBe(0);
    expect(stat(summary, "iterations", "count")).toBe(20);
    expect(summary?.checks).toEqual({ passes: 20, fails: 0 });
    expect(stat(summary, "echo_rtt", "count")).toBe(20);
    expect(stat(summary, "echo_ok", "value")).toBe(1);
    expect(stat(summary, "echo_failures", "count")).toBe(0);
    expect(stat(summary, "tcp_sockets", "count")).toBe(20);
    expect(stat(summary, "tcp_writes", "count")).toBe(20);
    expect(stat(summary, "tcp_errors", "count") ?? 0).toBe(0);
    expect(stat(summary, "data_sent", "count")).toBe(20 * PAYLOAD_SIZE);
    expect(stat(summary, "data_received", "count")).toBe(20 * PAYLOAD_SIZE);
    expect(server.connections).toBe(20);
    expect(server.bytesIn).toBe(20 * PAYLOAD_SIZE);
  });

  it("reports every connect to a closed port as refused, and no check passes", async () => {
    const { exitCode, stderr, summary } = await smoke(await freePort());

    expect(exitCode, stderr).toBe(0);
    expect(stat(summary, "iterations", "count")).toBe(20);
    expect(stat(summary, "echo_failures{reason:refused}", "count")).toBe(20);
    expect(stat(summary, "echo_failures", "count")).toBe(20);
    expect(stat(summary, "tcp_errors", "count")).toBe(20);
    expect(stat(summary, "tcp_sockets", "count") ?? 0).toBe(0);
    expect(summary?.checks).toEqual({ passes: 0, fails: 20 });
    expect(stat(summary, "echo_rtt", "count") ?? 0).toBe(0);
    expect(stderr).toMatch(/refused: dial tcp 127\.0\.0\.1:\d+: connect: connection refused/);
  });

  it("times out on its own response timer when the server never answers", async () => {
    const server = await startServer("silent");
    const started = Date.now();
    const { exitCode, stderr, summary } = await smoke(server.port, {
      RESPONSE_TIMEOUT_MS: "300",
      ITERATIONS: "4",
    });

    expect(exitCode, stderr).toBe(0);
    expect(stat(summary, "iterations", "count")).toBe(4);
    expect(stat(summary, "echo_failures{reason:timeout.response}", "count")).toBe(4);
    expect(stat(summary, "echo_failures", "count")).toBe(4);
    expect(summary?.checks).toEqual({ passes: 0, fails: 4 });
    expect(stat(summary, "iteration_duration", "min")).toBeGreaterThanOrEqual(300);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2 * 300); // 4 iterations over 2 VUs
    expect(server.connections).toBe(4);
    expect(server.bytesIn).toBe(4 * PAYLOAD_SIZE);
  });
});

describe("runK6 / findK6", () => {
  it("kills k6 when the time limit is reached", async () => {
    const server = await startServer("silent");
    const run = runK6({
      script: SCRIPT,
      cwd: REPO_ROOT,
      env: { TARGET_PORT: String(server.port), RESPONSE_TIMEOUT_MS: "60000" },
      timeoutMs: 1_500,
    });
    await expect(run).rejects.toThrow(/did not finish within 1500ms; killed it/);
  });

  it("kills k6 when the abort signal fires, rejecting with its reason", async () => {
    const server = await startServer("silent");
    const controller = new AbortController();
    const run = runK6({
      script: SCRIPT,
      cwd: REPO_ROOT,
      env: { TARGET_PORT: String(server.port), RESPONSE_TIMEOUT_MS: "60000" },
      timeoutMs: 60_000,
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(new Error("operator pressed Ctrl-C")), 1_000);
    await expect(run).rejects.toThrow("operator pressed Ctrl-C");
  });

  it("returns k6's exit code and no summary when the script fails in init", async () => {
    const { exitCode, stderr, summary } = await runK6({ script: SCRIPT, cwd: REPO_ROOT, timeoutMs: 30_000 });
    expect(exitCode).not.toBe(0);
    expect(stderr).toMatch(/TARGET_PORT must be set/);
    expect(summary).toBeUndefined();
  });

  it("streams k6's --out json lines into jsonOutput through a pipe, ended before it resolves", async () => {
    const server = await startServer("echo");
    const sink = textSink();
    const { exitCode, stderr, summary } = await runK6({
      script: SCRIPT,
      cwd: REPO_ROOT,
      env: { TARGET_PORT: String(server.port) },
      timeoutMs: 90_000,
      jsonOutput: sink.stream,
    });
    expect(exitCode, stderr).toBe(0);
    expect(sink.stream.writableFinished).toBe(true);
    const points = sink
      .lines()
      .map((line) => JSON.parse(line) as { type: string; metric: string })
      .filter((json) => json.type === "Point");
    expect(points.filter((p) => p.metric === "echo_rtt")).toHaveLength(stat(summary, "echo_rtt", "count")!);
    expect(points.filter((p) => p.metric === "tcp_writes")).toHaveLength(20);
  });

  it("ends jsonOutput when k6 never opens the pipe (script error in init)", async () => {
    const sink = textSink();
    const { exitCode } = await runK6({
      script: SCRIPT,
      cwd: REPO_ROOT,
      timeoutMs: 30_000,
      jsonOutput: sink.stream,
    });
    expect(exitCode).not.toBe(0);
    expect(sink.stream.writableFinished).toBe(true);
    expect(sink.lines()).toEqual([]);
  });

  it("ends jsonOutput when k6 is stopped by the abort signal, before rejecting", async () => {
    const server = await startServer("silent");
    const sink = textSink();
    const controller = new AbortController();
    const run = runK6({
      script: SCRIPT,
      cwd: REPO_ROOT,
      env: { TARGET_PORT: String(server.port), RESPONSE_TIMEOUT_MS: "60000" },
      timeoutMs: 60_000,
      signal: controller.signal,
      jsonOutput: sink.stream,
    });
    setTimeout(() => controller.abort(new Error("operator pressed Ctrl-C")), 1_500);
    await expect(run).rejects.toThrow("operator pressed Ctrl-C");
    expect(sink.stream.writableFinished).toBe(true);
    expect(sink.lines().length).toBeGreaterThan(0);
  });

  it("stops k6 and rejects when jsonOutput fails", async () => {
    const server = await startServer("silent");
    const failing = new Writable({
      write: (_chunk, _encoding, callback) => callback(new Error("disk full")),
    });
    const run = runK6({
      script: SCRIPT,
      cwd: REPO_ROOT,
      env: { TARGET_PORT: String(server.port), RESPONSE_TIMEOUT_MS: "60000" },
      timeoutMs: 60_000,
      jsonOutput: failing,
    });
    await expect(run).rejects.toThrow("k6's JSON output: disk full");
  });

  it("names what it looked for and the fix when no k6 is found", () => {
    const env = { POSSTORM_TOOLS: "/nonexistent/tools", PATH: "" };
    expect(() => findK6(env)).toThrow(
      /k6 not found: looked at \$POSSTORM_K6 \(unset\), \/nonexistent\/tools\/bin\/k6, PATH; run `bash scripts\/setup\.sh`/,
    );
    expect(() => findK6({ POSSTORM_K6: "/nonexistent/k6" })).toThrow(/POSSTORM_K6=\/nonexistent\/k6/);
    expect(findK6()).toMatch(/k6$/);
  });
});
