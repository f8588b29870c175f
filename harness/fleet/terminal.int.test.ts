import { mkdtempSync, readFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { StartedLab } from "../lab/lab.ts";
import { startLab } from "../lab/lab.ts";
import { freePort } from "../lab/ports.ts";
import {
  buildMessage,
  DEFAULT_LAB_KEY_HEX,
  decodeFrame,
  deriveTmk,
  encodeFrame,
  FrameReassembler,
  fromHex,
  type IsoMessage,
  type MacKey,
  macKey,
  purchaseRequest,
  purchaseResponse,
  readMessage,
  replyTpdu,
  reversalRequest,
  reversalResponse,
  signInRequest,
  signInResponse,
  withProcessingRequirement,
  wrapWorkingKeys,
} from "../protocol/index.ts";
import { type FleetResult, runFleet } from "./coordinator.ts";
import { type OutcomeCounts, outcomeCounts } from "./counts.ts";
import type { Operation, Outcome } from "./plan.ts";
import type { RunPlanInput } from "./plan-check.ts";
import { parseSampleLines, type Sample } from "./samples.ts";

// The terminal model in the fleet engine, end to end: against scripted loopback servers (one failure each)
// and against the reference lab (local runtime).

const PAN_A = "6222020000000001234"; // BIN 62 → issuer a
const tempDir = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));

function plan(target: { host: string; port: number }, overrides: Partial<RunPlanInput> = {}): RunPlanInput {
  return {
    version: 1,
    runId: "fleet-int",
    target,
    labKeyHex: DEFAULT_LAB_KEY_HEX,
    terminal: { responseTimeoutMs: 2000, connectTimeoutMs: 2000, retry: { policy: "none" } },
    fleet: {
      model: "population",
      terminals: 3,
      vus: 1,
      signIn: { curve: "uniform", windowS: 0 },
      purchases: { perTerminal: 0, thinkTimeS: { mean: 0, jitter: 0 } },
    },
    durationS: 5,
    ...overrides,
  };
}

interface FleetRun {
  result: FleetResult;
  counts: OutcomeCounts;
  /** The raw samples file's records. */
  samples: Sample[];
  /** TCP connections the terminals opened. */
  socketsOpened: number;
}

async function fleet(p: RunPlanInput): Promise<FleetRun> {
  const samplesFile = join(tempDir("posstorm-fleet-"), "samples.ndjson.gz");
  const result = await runFleet({ plan: p, samplesFile, log: () => undefined });
  expect(result.aborted).toBe(false);
  const samples = parseSampleLines(gunzipSync(readFileSync(samplesFile)).toString("utf8"));
  return {
    result,
    counts: outcomeCounts(result.totals),
    samples,
    socketsOpened: result.socketsOpened,
  };
}

/** The operations of a run's raw samples, in the order they ended. */
function opsTimeline(run: FleetRun): { op: Operation; outcome: Outcome; code?: string; ms: number }[] {
  return run.samples
    .flatMap((s) =>
      "ev" in s ? [] : [{ op: s.op, outcome: s.outcome, code: s.code, ms: s.ms, end: s.t + s.ms }],
    )
    .sort((a, b) => a.end - b.end)
    .map(({ end: _end, ...op }) => op);
}

/** The unsettled purchases of a run's raw samples: tid, stan, batch and reason, in time order. */
function unsettledSamples(run: FleetRun): Record<string, string>[] {
  return run.samples
    .flatMap((s) => ("ev" in s && s.ev === "unsettled" ? [s] : []))
    .sort((a, b) => a.t - b.t)
    .map(({ tid, stan, batch, reason }) => ({ tid, stan, batch, reason }));
}

interface Scripted {
  port: number;
  connections: number;
  close(): Promise<void>;
}
const servers: Scripted[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A loopback server that calls `onFrame` with each request frame (body after the length) it receives. */
async function scriptedServer(
  onFrame: (socket: net.Socket, body: Uint8Array, connection: number) => void,
): Promise<Scripted> {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer((socket) => {
    const connection = ++connections;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    const reassembler = new FrameReassembler();
    socket.on("data", (chunk) => {
      for (const body of reassembler.push(new Uint8Array(chunk))) onFrame(socket, body, connection);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const scripted: Scripted = {
    port: (server.address() as net.AddressInfo).port,
    get connections() {
      return connections;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  servers.push(scripted);
  return scripted;
}

/** The MAK every scripted sign-in hands out. */
const MAK = fromHex("FEDCBA9876543210");

/** An 0810 approving `request` with fresh working keys under the terminal's TMK (layout 003). */
function signInReply(request: IsoMessage, stanOffset = 0): IsoMessage {
  const values = readMessage(signInRequest, request);
  const tmk = deriveTmk(fromHex(DEFAULT_LAB_KEY_HEX), values.terminalId);
  const keys = { pik: fromHex("0123456789ABCDEF0123456789ABCDEF"), mak: MAK };
  return buildMessage(signInResponse, {
    stan: String(Number(values.stan) + stanOffset).padStart(6, "0"),
    localTime: "120000",
    localDate: "0101",
    responseCode: "00",
    terminalId: values.terminalId,
    merchantId: values.merchantId,
    batchNumber: values.batchNumber,
    workingKeys: wrapWorkingKeys(keys, tmk, "003"),
  });
}

function answer(socket: net.Socket, body: Uint8Array, message: IsoMessage): void {
  const request = decodeFrame(body, { lengthPrefix: false });
  socket.write(encodeFrame({ tpdu: replyTpdu(request.tpdu), header: request.header, message }));
}

const only = (counts: Record<string, number>) =>
  Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));

describe("the fleet's terminals against scripted servers: one outcome per failure", () => {
  it("a server that accepts and never answers: timeout.response after responseTimeoutMs", async () => {
    const server = await scriptedServer(() => undefined);
    const started = Date.now();
    const run = await fleet(
      plan(
        { host: "127.0.0.1", port: server.port },
        { terminal: { responseTimeoutMs: 500, retry: { policy: "none" } } },
      ),
    );
    expect(only(run.counts.byOutcome.signin)).toEqual({ "timeout.response": 3 });
    expect(run.counts.timeouts.signin).toEqual({ connect: 0, response: 3, idle: 0 });
    expect(Math.min(...opsTimeline(run).map((o) => o.ms))).toBeGreaterThanOrEqual(490);
    expect(server.connections).toBe(3);
    expect(Date.now() - started).toBeLessThan(20_000); // ends once the work is done, not at durationS + grace
  });

  it("a closed port: refused, and the fixed retry policy retries", async () => {
    const { counts } = await fleet(
      plan(
        { host: "127.0.0.1", port: await freePort() },
        { terminal: { retry: { policy: "fixed", delayMs: 50, maxAttempts: 3 } } },
      ),
    );
    expect(only(counts.byOutcome.signin)).toEqual({ refused: 9 });
    expect(counts.retries.signin).toBe(6);
  });

  it("a server that resets the connection after reading: reset", async () => {
    const server = await scriptedServer((socket) => socket.resetAndDestroy());
    const { counts } = await fleet(plan({ host: "127.0.0.1", port: server.port }));
    expect(only(counts.byOutcome.signin)).toEqual({ reset: 3 });
  });

  it("a server that closes after reading: closed", async () => {
    const server = await scriptedServer((socket) => socket.end());
    const { counts } = await fleet(plan({ host: "127.0.0.1", port: server.port }));
    expect(only(counts.byOutcome.signin)).toEqual({ closed: 3 });
  });

  it("garbage, an unframeable length and a reply to another STAN: protocol", async () => {
    const server = await scriptedServer((socket, body, connection) => {
      if (connection === 1) socket.write(Uint8Array.from([0x00, 0x0c, ...new Array(12).fill(0xff)]));
      else if (connection === 2) socket.write(Uint8Array.from([0xff, 0xff, 0x60, 0x00]));
      else answer(socket, body, signInReply(decodeFrame(body, { lengthPrefix: false }).message, 1));
    });
    const { counts } = await fleet(plan({ host: "127.0.0.1", port: server.port }));
    expect(only(counts.byOutcome.signin)).toEqual({ protocol: 3 });
  });

  it("a bad reply MAC: outcome mac, an 0400 with reason A0 after a new sign-in; 99/A0 + requirement 3: sign in again", async () => {
    const goodMac = macKey(MAK);
    const badMac = macKey(fromHex("0101010101010101"));
    const seen: string[] = [];
    let purchases = 0;
    const server = await scriptedServer((socket, body) => {
      const { tpdu, header, message } = decodeFrame(body, { lengthPrefix: false });
      const reply = (m: IsoMessage, opts: { mac?: MacKey; signInAgain?: boolean } = {}) =>
        socket.write(
          encodeFrame(
            {
              tpdu: replyTpdu(tpdu),
              header: opts.signInAgain ? withProcessingRequirement(header, 3) : header,
              message: m,
            },
            { mac: opts.mac },
          ),
        );
      if (message.mti === "0800") {
        seen.push("0800");
        reply(signInReply(message));
      } else if (message.mti === "0200") {
        const p = readMessage(purchaseRequest, message);
        seen.push(`0200 ${p.stan}`);
        const base = {
          processingCode: p.processingCode,
          amount: p.amount,
          stan: p.stan,
          terminalId: p.terminalId,
          merchantId: p.merchantId,
          transactionType: p.transactionType,
          batchNumber: p.batchNumber,
        };
        purchases++;
        if (purchases === 1)
          reply(buildMessage(purchaseResponse, { ...base, responseCode: "00" }), { mac: badMac });
        else if (purchases === 2)
          reply(buildMessage(purchaseResponse, { ...base, responseCode: "A0" }), { signInAgain: true });
        else reply(buildMessage(purchaseResponse, { ...base, responseCode: "00" }), { mac: goodMac });
      } else if (message.mti === "0400") {
        const r = readMessage(reversalRequest, message);
        seen.push(`0400 ${r.stan} ${r.reason}`);
        reply(
          buildMessage(reversalResponse, {
            processingCode: r.processingCode,
            amount: r.amount,
            stan: r.stan,
            posConditionCode: r.posConditionCode,
            responseCode: "00",
            terminalId: r.terminalId,
            merchantId: r.merchantId,
            currencyCode: r.currencyCode,
            transactionType: r.transactionType,
            batchNumber: r.batchNumber,
          }),
          { mac: goodMac },
        );
      }
    });
    const run = await fleet(
      plan(
        { host: "127.0.0.1", port: server.port },
        {
          fleet: {
            model: "population",
            terminals: 1,
            vus: 1,
            signIn: { curve: "uniform", windowS: 0 },
            purchases: { perTerminal: 3, thinkTimeS: { mean: 0.05, jitter: 0 } },
          },
        },
      ),
    );
    expect(opsTimeline(run).map((o) => `${o.op} ${o.outcome}${o.code ? ` ${o.code}` : ""}`)).toEqual([
      "signin approved 00",
      "purchase mac",
      "signin approved 00",
      "reversal approved 00",
      "purchase declined A0",
      "signin approved 00",
      "purchase approved 00",
    ]);
    const firstStan = seen[1]!.split(" ")[1];
    expect(seen[3]).toBe(`0400 ${firstStan} A0`);
    expect(run.counts.reversals).toEqual({ queued: 1, settled: 1, abandoned: 0 });
    expect(run.counts.sessions).toEqual({ signedIn: 3, signedOut: 2 });
    // Reconciliation's side: every purchase not approved at the terminal, reversed or merely declined.
    const secondStan = seen[4]!.split(" ")[1];
    expect(unsettledSamples(run)).toEqual([
      { tid: "POS00001", stan: firstStan, batch: expect.stringMatching(/^\d{6}$/), reason: "A0" },
      { tid: "POS00001", stan: secondStan, batch: expect.stringMatching(/^\d{6}$/), reason: "declined:A0" },
    ]);
  });

  it("long mode: an unanswered echo is timeout.idle and the terminal reconnects for the next one", async () => {
    const server = await scriptedServer((socket, body) => {
      const request = decodeFrame(body, { lengthPrefix: false });
      if (request.message.mti === "0800") answer(socket, body, signInReply(request.message));
      // 0820 echo: no answer.
    });
    const { counts } = await fleet(
      plan(
        { host: "127.0.0.1", port: server.port },
        {
          terminal: { mode: "long", echoIntervalMs: 400, idleTimeoutMs: 300 },
          fleet: {
            model: "population",
            terminals: 1,
            vus: 1,
            signIn: { curve: "uniform", windowS: 0 },
            purchases: { perTerminal: 0, thinkTimeS: { mean: 0, jitter: 0 } },
          },
          durationS: 2.5,
        },
      ),
    );
    expect(only(counts.byOutcome.signin)).toEqual({ approved: 1 });
    expect(counts.byOutcome.echo["timeout.idle"]).toBeGreaterThanOrEqual(2);
    expect(only(counts.byOutcome.echo)).toEqual({ "timeout.idle": counts.byOutcome.echo["timeout.idle"] });
    expect(counts.timeouts.echo.idle).toBe(counts.byOutcome.echo["timeout.idle"]);
    expect(server.connections).toBeGreaterThanOrEqual(counts.byOutcome.echo["timeout.idle"]);
  });
});

describe("the fleet's terminals against the reference lab (local runtime)", () => {
  let lab: StartedLab;
  beforeAll(async () => {
    lab = await startLab({ runtime: "local", runDir: tempDir("posstorm-fleet-lab-") });
  });
  afterAll(async () => {
    await lab?.stop();
  });

  const putConfig = async (role: string, body: Record<string, unknown>) => {
    const response = await fetch(`${lab.admin[role]}/config`, { method: "PUT", body: JSON.stringify(body) });
    expect(response.status, await response.clone().text()).toBe(200);
  };
  const ledger = async (tid: string) =>
    (
      (await (await fetch(`${lab.admin["issuer-a"]}/ledger?tid=${tid}`)).json()) as {
        entries: { stan: string; status: string }[];
      }
    ).entries;

  it("20 terminals over 2 segments: every sign-in 00, every purchase approved", async () => {
    const run = await fleet(
      plan(lab.edge, {
        fleet: {
          model: "population",
          terminals: 20,
          vus: 2,
          signIn: { curve: "uniform", windowS: 1 },
          purchases: { perTerminal: 2, thinkTimeS: { mean: 0.3, jitter: 0.2 } },
        },
        durationS: 10,
      }),
    );
    expect(only(run.counts.byOutcome.signin)).toEqual({ approved: 20 });
    expect(run.counts.byCode.signin).toEqual({ "00": 20 });
    expect(only(run.counts.byOutcome.purchase)).toEqual({ approved: 40 });
    expect(run.counts.sessions).toEqual({ signedIn: 20, signedOut: 0 });
    expect(run.counts.reversals).toEqual({ queued: 0, settled: 0, abandoned: 0 });
    expect(opsTimeline(run)).toHaveLength(60);
  });

  it("issuer slower than the terminal, faster than the switch: timeout.response, then the reversal before the next purchase", async () => {
    const tid = "POS09001";
    await putConfig("switch", { issuerTimeoutMs: 5000 });
    const toxic = await lab.toxiproxy.addToxic("issuer-a", { kind: "latency", latencyMs: 2000 });
    let removed = false;
    const removeToxic = async () => {
      if (!removed) await lab.toxiproxy.removeToxic("issuer-a", toxic);
      removed = true;
    };
    try {
      const running = fleet(
        plan(lab.edge, {
          terminal: {
            firstTid: 9001,
            responseTimeoutMs: 1000,
            cards: [{ pan: PAN_A, weight: 1 }],
            retry: { policy: "none" },
          },
          fleet: {
            model: "population",
            terminals: 1,
            vus: 1,
            signIn: { curve: "uniform", windowS: 0 },
            purchases: { perTerminal: 2, thinkTimeS: { mean: 3, jitter: 0 } },
          },
          durationS: 12,
        }),
      );
      // Once the issuer has the first purchase and the terminal's 1 s timer has passed, heal the link so the
      // reversal (due before the second purchase, 3 s later) and that purchase go through.
      let first: { stan: string } | undefined;
      for (let i = 0; i < 100 && first === undefined; i++) {
        await new Promise((r) => setTimeout(r, 100));
        first = (await ledger(tid))[0];
      }
      expect(first, "the issuer never saw the first purchase").toBeDefined();
      await new Promise((r) => setTimeout(r, 1200));
      await removeToxic();
      const run = await running;

      expect(opsTimeline(run).map((o) => `${o.op} ${o.outcome}`)).toEqual([
        "signin approved",
        "purchase timeout.response",
        "reversal approved",
        "purchase approved",
      ]);
      expect(run.counts.timeouts.purchase.response).toBe(1);
      expect(run.counts.reversals).toEqual({ queued: 1, settled: 1, abandoned: 0 });
      const entries = await ledger(tid);
      expect(entries.find((e) => e.stan === first!.stan)?.status).toBe("reversed");
      expect(entries.filter((e) => e.status === "approved")).toHaveLength(1);
    } finally {
      await removeToxic();
      await putConfig("switch", { issuerTimeoutMs: 30000 });
    }
  });

  it("long mode: terminals keep one link each and their echoes are answered", async () => {
    const run = await fleet(
      plan(lab.edge, {
        terminal: { mode: "long", firstTid: 9101, echoIntervalMs: 500 },
        fleet: {
          model: "population",
          terminals: 5,
          vus: 1,
          signIn: { curve: "uniform", windowS: 0.2 },
          purchases: { perTerminal: 1, thinkTimeS: { mean: 0.2, jitter: 0 } },
        },
        durationS: 3,
      }),
    );
    expect(only(run.counts.byOutcome.signin)).toEqual({ approved: 5 });
    expect(only(run.counts.byOutcome.purchase)).toEqual({ approved: 5 });
    expect(run.counts.byOutcome.echo.approved).toBeGreaterThanOrEqual(5 * 3);
    expect(only(run.counts.byOutcome.echo)).toEqual({ approved: run.counts.byOutcome.echo.approved });
    // One socket per terminal for the whole run: the sign-in, purchase and echoes share it.
    expect(run.socketsOpened).toBe(5);
  });

  it("open model: arrivals follow the rate, each a purchase (signing in first when needed)", async () => {
    const started = Date.now();
    const run = await fleet(
      plan(lab.edge, {
        terminal: { firstTid: 9201 },
        fleet: {
          model: "open",
          operation: "purchase",
          stages: [{ durationS: 4, ratePerS: 25 }],
          preAllocatedVUs: 10,
          maxVUs: 20,
          terminals: 20,
        },
        durationS: 4,
      }),
    );
    const iterations = run.counts.total.purchase;
    expect(run.counts.dropped).toBe(0);
    expect(iterations).toBeGreaterThanOrEqual(90);
    expect(iterations).toBeLessThanOrEqual(105);
    expect(only(run.counts.byOutcome.purchase)).toEqual({ approved: iterations });
    expect(run.counts.byOutcome.signin.approved).toBeLessThanOrEqual(20);
    expect(only(run.counts.byOutcome.signin)).toEqual({ approved: run.counts.byOutcome.signin.approved });
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});
