import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import type net from "node:net";
import { fileURLToPath } from "node:url";
import { encodeFrame, FrameReassembler, type MacKey } from "../harness/protocol/index.ts";
import { parsePrometheus } from "../harness/shared/prometheus.ts";
import { startFakeHsm, startFakeIssuer } from "../harness/sim/switch/testing/backends.ts";
import { purchase, signIn, TerminalConnection } from "../harness/sim/switch/testing/terminal.ts";
import { percentile } from "./stats.ts";

// Throughput of the reference switch: signed-in terminals on long connections send purchases back to back
// (one outstanding each) through the switch, running as its own process (main.ts), to an issuer that answers
// at once. The switch's CPU time comes from /proc, so "purchases per switch CPU second" is the one-core figure
// whatever else the machine runs (this process plays the terminals, the HSM and the issuer).
//
//   node bench/switch.bench.ts [--terminals 200] [--seconds 5]

export interface SwitchFigure {
  terminals: number;
  seconds: number;
  purchases: number;
  purchasesPerSecond: number;
  switchCpuSeconds: number;
  purchasesPerSwitchCpuSecond: number;
  /** Switch CPU milliseconds per 1,000 purchases. */
  switchCpuMsPer1000: number;
  /** Purchase latency at the terminals (send → reply), ms. */
  p50Ms: number;
  p99Ms: number;
  /** F39 of the 0200 replies during the whole run, from the switch's /metrics. */
  codes: Record<string, number>;
}

const MAIN = fileURLToPath(new URL("../harness/sim/switch/main.ts", import.meta.url));
const CLOCK_TICKS_PER_SECOND = 100;

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

async function startSwitchProcess(
  env: Record<string, string>,
): Promise<{ child: ChildProcess; port: number; admin: number }> {
  const child = spawn(process.execPath, [MAIN], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  const ready = await new Promise<RegExpExecArray>((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /posstorm-switch ready port=(\d+) admin=(\d+)/.exec(out);
      if (m) resolve(m);
    });
    child.once("exit", (code) => reject(new Error(`switch exited ${code}`)));
  });
  return { child, port: Number(ready[1]), admin: Number(ready[2]) };
}

/** Something between the terminals and the switch (a Toxiproxy proxy): where terminals connect instead. */
export type Via = (switchPort: number) => Promise<{ port: number; close(): Promise<void> }>;

export async function benchSwitch(
  options: { terminals?: number; seconds?: number; via?: Via } = {},
): Promise<SwitchFigure> {
  const terminals = options.terminals ?? 200;
  const seconds = options.seconds ?? 5;
  const hsm = await startFakeHsm();
  const issuer = await startFakeIssuer({ record: false });
  const sw = await startSwitchProcess({
    POSSTORM_SWITCH_PORT: "0",
    POSSTORM_SWITCH_ADMIN_PORT: "0",
    POSSTORM_SWITCH_HSM: `127.0.0.1:${hsm.port}`,
    POSSTORM_SWITCH_ISSUERS: `issuer-a=127.0.0.1:${issuer.port}`,
    POSSTORM_SWITCH_ROUTES: "62=issuer-a",
  });
  const sockets: net.Socket[] = [];
  let completed = 0;
  let running = true;
  let measuring = false;
  const latencies: number[] = [];
  const via = options.via ? await options.via(sw.port) : undefined;
  try {
    await new Promise((r) => setTimeout(r, 300)); // issuer links up
    for (let i = 1; i <= terminals; i++) {
      const tid = `POS${String(i).padStart(5, "0")}`;
      const t = await TerminalConnection.connect(via?.port ?? sw.port);
      const { mak } = await signIn(t, tid);
      t.socket.removeAllListeners("data");
      sockets.push(t.socket);
      drive(t.socket, tid, mak, (ms) => {
        completed++;
        if (measuring) latencies.push(ms);
        return running;
      });
    }
    await new Promise((r) => setTimeout(r, 1_000)); // warm-up
    const cpu0 = cpuSeconds(sw.child.pid!);
    const done0 = completed;
    const t0 = performance.now();
    measuring = true;
    await new Promise((r) => setTimeout(r, seconds * 1_000));
    measuring = false;
    const elapsed = (performance.now() - t0) / 1000;
    const purchases = completed - done0;
    const switchCpuSeconds = cpuSeconds(sw.child.pid!) - cpu0;
    running = false;
    latencies.sort((a, b) => a - b);
    const metrics = parsePrometheus(await (await fetch(`http://127.0.0.1:${sw.admin}/metrics`)).text());
    const codes: Record<string, number> = {};
    for (const [k, v] of metrics) {
      const m = /^switch_requests_total\{code="(\w+)",mti="0200"\}$/.exec(k);
      if (m) codes[m[1]!] = v;
    }
    return {
      terminals,
      seconds: elapsed,
      purchases,
      purchasesPerSecond: purchases / elapsed,
      switchCpuSeconds,
      purchasesPerSwitchCpuSecond: purchases / switchCpuSeconds,
      switchCpuMsPer1000: (switchCpuSeconds * 1000 * 1000) / purchases,
      p50Ms: percentile(latencies, 0.5),
      p99Ms: percentile(latencies, 0.99),
      codes,
    };
  } finally {
    running = false;
    for (const s of sockets) s.destroy();
    await via?.close();
    sw.child.kill("SIGTERM");
    await hsm.close();
    await issuer.close();
  }
}

/** One terminal sending purchases back to back; `replied(ms)` gets each latency and returns false to stop. */
function drive(socket: net.Socket, tid: string, mak: MacKey, replied: (ms: number) => boolean): void {
  const frame = purchase(tid, "000001");
  const options = { mac: mak };
  let stan = 1;
  let sentAt = 0;
  const send = () => {
    stan = (stan % 999_999) + 1;
    sentAt = performance.now();
    frame.message.fields[11] = String(stan).padStart(6, "0");
    socket.write(encodeFrame(frame, options));
  };
  const reassembler = new FrameReassembler();
  socket.on("data", (chunk) => {
    for (const _ of reassembler.push(chunk)) if (replied(performance.now() - sentAt)) send();
  });
  send();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : undefined;
  };
  const figure = await benchSwitch({ terminals: arg("terminals"), seconds: arg("seconds") });
  console.log(JSON.stringify(figure, null, 2));
}
