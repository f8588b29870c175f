import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  buildMessage,
  decodeFrame,
  encodeFrame,
  FrameReassembler,
  type Header,
  type IsoMessage,
  matchReply,
  networkRequest,
  type PurchaseInput,
  purchaseRequest,
  reversalFor,
  reversalRequest,
  type Tpdu,
} from "../../protocol/index.ts";
import { parsePrometheus } from "../../shared/prometheus.ts";
import type { LedgerEntry, LedgerSummary } from "./ledger.ts";
import { seededRandom } from "./model.ts";
import { type StartedIssuer, startIssuer } from "./server.ts";
import type { IssuerOptions } from "./settings.ts";

const tpdu: Tpdu = { id: "60", destination: "0003", source: "0000" };
const header: Header = {
  applicationType: "60",
  version: "31",
  terminalStatus: 0,
  processingRequirement: 0,
  softwareVersion: "000000",
};
const PAN = "6222021234567890123";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

async function issuer(options: IssuerOptions = {}): Promise<StartedIssuer> {
  const started = await startIssuer({ port: 0, adminPort: 0, medianMs: 2, p99Ms: 2, ...options });
  cleanups.push(() => started.close());
  return started;
}

/** A switch-side connection: sends frames, matches replies by MTI + F11 + F41 (they may come out of order). */
class Link {
  readonly socket: net.Socket;
  private readonly reassembler = new FrameReassembler();
  private readonly waiting = new Map<string, (reply: IsoMessage) => void>();
  readonly arrivals: IsoMessage[] = [];
  readonly closed: Promise<void>;

  constructor(port: number) {
    this.socket = net.connect({ host: "127.0.0.1", port });
    this.socket.on("error", () => {});
    this.closed = new Promise((resolve) => this.socket.on("close", () => resolve()));
    this.socket.on("data", (chunk: Buffer) => {
      for (const body of this.reassembler.push(chunk)) {
        const { message } = decodeFrame(body, { lengthPrefix: false });
        this.arrivals.push(message);
        const key = `${message.mti}|${message.fields[11]}|${message.fields[41]}`;
        this.waiting.get(key)?.(message);
        this.waiting.delete(key);
      }
    });
    cleanups.push(() => void this.socket.destroy());
  }

  request(message: IsoMessage): Promise<IsoMessage> {
    const mti = String(Number(message.mti) + 10).padStart(4, "0");
    const reply = new Promise<IsoMessage>((resolve) =>
      this.waiting.set(`${mti}|${message.fields[11]}|${message.fields[41]}`, resolve),
    );
    this.socket.write(encodeFrame({ tpdu, header, message }));
    return reply;
  }
}

const sale = (stan: string, overrides: Partial<PurchaseInput> = {}): PurchaseInput => ({
  pan: PAN,
  amount: "000000001234",
  stan,
  posEntryMode: "021",
  track2: `${PAN}D27122201000012345`,
  terminalId: "TERM0001",
  merchantId: "123456789012345",
  batchNumber: "000001",
  ...overrides,
});
const purchase = (stan: string, overrides: Partial<PurchaseInput> = {}) =>
  buildMessage(purchaseRequest, sale(stan, overrides));
const reversal = (stan: string, overrides: Partial<PurchaseInput> = {}) => {
  const { track2: _track, ...original } = sale(stan, overrides);
  return buildMessage(reversalRequest, reversalFor(original as never, "98"));
};

async function admin<T>(started: StartedIssuer, path: string, init?: RequestInit): Promise<T> {
  const response = await fetch(`http://127.0.0.1:${started.adminPort}${path}`, init);
  return (await response.json()) as T;
}
const ledgerOf = (started: StartedIssuer) =>
  admin<{ entries: LedgerEntry[]; reversalsNotFound: unknown[] }>(started, "/ledger");
const metric = (started: StartedIssuer, name: string) =>
  parsePrometheus(started.metrics.render()).get(name) ?? 0;
const sumOf = (started: StartedIssuer, prefix: string) =>
  [...parsePrometheus(started.metrics.render())]
    .filter(([name]) => name.startsWith(prefix))
    .reduce((sum, [, value]) => sum + value, 0);

describe("issuer simulator: purchases", () => {
  it("approves an 0200 with auth code and RRN, echoes what the terminal checks, and records it masked", async () => {
    const started = await issuer();
    const link = new Link(started.port);
    const request = purchase("000101");
    const reply = await link.request(request);
    expect(matchReply(request, reply)).toEqual({ ok: true });
    expect(reply.fields[39]).toBe("00");
    expect(reply.fields[38]).toMatch(/^\d{6}$/);
    expect(reply.fields[37]).toMatch(/^\d{12}$/);
    expect(reply.fields[32]).toBe("99010000");
    expect(reply.fields[2]).toBe(PAN);
    expect(reply.fields[60]).toBe("22000001000");
    expect(reply.fields[64]).toBeUndefined();

    const response = await fetch(`http://127.0.0.1:${started.adminPort}/ledger`);
    const text = await response.text();
    expect(text).not.toContain(PAN);
    const [entry] = (JSON.parse(text) as { entries: LedgerEntry[] }).entries;
    expect(entry).toMatchObject({
      tid: "TERM0001",
      stan: "000101",
      batch: "000001",
      pan: "6222 02** **** ***0 123",
      amount: "000000001234",
      responseCode: "00",
      authCode: reply.fields[38],
      rrn: reply.fields[37],
      status: "approved",
      replySent: true,
      reversalAttempts: 0,
    });
    expect(entry!.repliedAt).toBeGreaterThanOrEqual(entry!.receivedAt);
    expect(await admin<LedgerSummary>(started, "/ledger/summary")).toMatchObject({
      approved: 1,
      declined: 0,
      reversed: 0,
      reversalsNotFound: 0,
    });
    expect(metric(started, 'issuer_requests_total{code="00",mti="0200"}')).toBe(1);
  });

  it("declines by the response mix set at run time, and answers a repeated 0200 with 94", async () => {
    const started = await issuer();
    const put = await admin<{ changed: string[] }>(started, "/config", {
      method: "PUT",
      body: JSON.stringify({ responseMix: { "51": 1 } }),
    });
    expect(put.changed).toEqual(["responseMix"]);
    const link = new Link(started.port);
    const declined = await link.request(purchase("000201"));
    expect([declined.fields[39], declined.fields[38], declined.fields[37]]).toEqual([
      "51",
      undefined,
      undefined,
    ]);
    expect((await link.request(purchase("000201"))).fields[39]).toBe("94");
    expect((await link.request(reversal("000201"))).fields[39]).toBe("12");
    expect((await ledgerOf(started)).entries.map((e) => e.status)).toEqual(["declined"]);
    const bad = await fetch(`http://127.0.0.1:${started.adminPort}/config`, {
      method: "PUT",
      body: JSON.stringify({ responseMix: { "00": -1 } }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/responseMix .* \(from PUT \/config\)/);
  });

  it("answers an 0820 echo with 0830 00 at once", async () => {
    const medianMs = 5000;
    const started = await issuer({ medianMs, p99Ms: medianMs });
    const link = new Link(started.port);
    await new Promise<void>((resolve) => link.socket.once("connect", () => resolve()));
    const echo = buildMessage(networkRequest, {
      stan: "000301",
      terminalId: "TERM0001",
      merchantId: "123456789012345",
      batchNumber: "000001",
    });
    const sent = performance.now();
    const reply = await link.request(echo);
    const ms = performance.now() - sent;
    expect([reply.mti, reply.fields[39], reply.fields[60]]).toEqual(["0830", "00", "00000001301"]);
    // Not queued behind a service time: far below the 5 s every 0200/0400 takes here (a loose bound, the
    // machine may be busy; served like a purchase it would take 5 s).
    expect(ms).toBeLessThan(medianMs / 10);
  });
});

describe("issuer simulator: reversals", () => {
  it("reverses an approval once, is idempotent on retries, and answers 25 for an unknown original", async () => {
    const started = await issuer();
    const link = new Link(started.port);
    expect((await link.request(purchase("000401"))).fields[39]).toBe("00");
    const first = await link.request(reversal("000401"));
    expect([first.mti, first.fields[39], first.fields[11], first.fields[4]]).toEqual([
      "0410",
      "00",
      "000401",
      "000000001234",
    ]);
    expect((await link.request(reversal("000401"))).fields[39]).toBe("00");
    expect((await link.request(reversal("000499"))).fields[39]).toBe("25");
    expect((await link.request(reversal("000401", { batchNumber: "000002" }))).fields[39]).toBe("25");
    const { entries, reversalsNotFound } = await ledgerOf(started);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ status: "reversed", reversalAttempts: 2 });
    expect(entries[0]!.reversedAt).toBeGreaterThanOrEqual(entries[0]!.repliedAt);
    expect(reversalsNotFound).toHaveLength(2);
    expect(await admin<LedgerSummary>(started, "/ledger/summary")).toMatchObject({
      approved: 0,
      declined: 0,
      reversed: 1,
      reversalsNotFound: 2,
    });
    await admin(started, "/ledger/reset", { method: "POST" });
    expect(await admin<LedgerSummary>(started, "/ledger/summary")).toMatchObject({
      approved: 0,
      reversed: 0,
      reversalsNotFound: 0,
    });
  });

  it("applies a reversal that arrives while its original is still being served to the original's outcome", async () => {
    const started = await issuer({ medianMs: 150, p99Ms: 150, workers: 4 });
    const link = new Link(started.port);
    const original = link.request(purchase("000501"));
    const reversed = link.request(reversal("000501"));
    expect((await original).fields[39]).toBe("00");
    expect((await reversed).fields[39]).toBe("00");
    expect((await ledgerOf(started)).entries[0]!.status).toBe("reversed");
  });
});

describe("issuer simulator: ledger export", () => {
  it("streams the ledger as NDJSON, one entry per line, filtered as the JSON one", async () => {
    const started = await issuer();
    const link = new Link(started.port);
    expect((await link.request(purchase("000601"))).fields[39]).toBe("00");
    expect((await link.request(reversal("000601"))).fields[39]).toBe("00");
    // a long run's worth of entries, not one string: the body arrives in many chunks
    const [first] = started.ledger.entries();
    for (let i = 0; i < 20_000; i++) {
      started.ledger.record({
        ...first!,
        stan: String(700_000 + i),
        status: i % 10 === 0 ? "declined" : "approved",
        reversedAt: undefined,
      });
    }
    const base = `http://127.0.0.1:${started.adminPort}/ledger`;
    const response = await fetch(`${base}?format=ndjson`);
    expect(response.headers.get("content-type")).toBe("application/x-ndjson");
    let chunks = 0;
    let text = "";
    const decoder = new TextDecoder();
    for await (const chunk of response.body!) {
      chunks++;
      text += decoder.decode(chunk, { stream: true });
    }
    expect(chunks).toBeGreaterThan(1);
    expect(text.endsWith("}\n")).toBe(true);
    const lines = text.trimEnd().split("\n");
    expect(lines.map((line) => JSON.parse(line))).toEqual(
      JSON.parse(JSON.stringify((await ledgerOf(started)).entries)),
    );
    expect(lines[0]).toContain('"status":"reversed"');

    const declined = await (await fetch(`${base}?format=ndjson&status=declined`)).text();
    expect(declined.trimEnd().split("\n")).toHaveLength(2_000);
    expect(await (await fetch(`${base}?format=ndjson&tid=NOSUCH01`)).text()).toBe("");
    const bad = await fetch(`${base}?format=xml`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/format must be json or ndjson/);
  });
});

describe("issuer simulator: service model", () => {
  it("with 1 worker and 200 ms per request, 5 concurrent requests take about 1 s and queue meanwhile", async () => {
    const started = await issuer({ medianMs: 200, p99Ms: 200, workers: 1 });
    const link = new Link(started.port);
    const t0 = performance.now();
    const done: number[] = [];
    const replies = ["000601", "000602", "000603", "000604", "000605"].map((stan) =>
      link.request(purchase(stan)).then(() => done.push(performance.now() - t0)),
    );
    await expect.poll(() => metric(started, "issuer_queue_depth")).toBe(4);
    expect(metric(started, "issuer_in_flight")).toBe(1);
    await Promise.all(replies);
    expect(done[0]).toBeGreaterThan(150);
    expect(done[0]).toBeLessThan(400);
    expect(done[4]).toBeGreaterThan(950);
    expect(done[4]).toBeLessThan(1500);
    expect(metric(started, "issuer_service_seconds_count")).toBe(5);
  });

  it("PUT /config changes medianMs at run time", async () => {
    const started = await issuer({ medianMs: 5, p99Ms: 5 });
    const link = new Link(started.port);
    let t0 = performance.now();
    await link.request(purchase("000701"));
    expect(performance.now() - t0).toBeLessThan(150);
    const put = await admin<{ changed: string[] }>(started, "/config", {
      method: "PUT",
      body: JSON.stringify({ medianMs: 300, p99Ms: 300 }),
    });
    expect(put.changed).toEqual(["medianMs", "p99Ms"]);
    expect((await admin<{ medianMs: number }>(started, "/config")).medianMs).toBe(300);
    t0 = performance.now();
    await link.request(purchase("000702"));
    expect(performance.now() - t0).toBeGreaterThan(280);
    const refused = await fetch(`http://127.0.0.1:${started.adminPort}/config`, {
      method: "PUT",
      body: JSON.stringify({ port: 1 }),
    });
    expect(refused.status).toBe(400);
  });
});

describe("issuer simulator: malformed input", () => {
  it("answers a decodable request it cannot serve with 30 and keeps the connection", async () => {
    const started = await issuer();
    const link = new Link(started.port);
    const unsupported: IsoMessage = { mti: "0100", fields: { 11: "000801", 41: "TERM0001" } };
    const reply = await link.request(unsupported);
    expect([reply.mti, reply.fields[39], reply.fields[11]]).toEqual(["0110", "30", "000801"]);
    const { 4: _amount, ...withoutAmount } = purchase("000802").fields;
    expect((await link.request({ mti: "0200", fields: withoutAmount })).fields[39]).toBe("30");
    expect((await link.request(purchase("000803"))).fields[39]).toBe("00");
    expect(metric(started, "issuer_malformed_frames_total")).toBe(2);
  });

  it("survives 1,000 garbage frames, counts them, and still approves a valid 0200", async () => {
    const started = await issuer({ medianMs: 1, p99Ms: 1 });
    const random = seededRandom(7);
    const valid = encodeFrame({ tpdu, header, message: purchase("000900") }).subarray(2);
    const garbage = Array.from({ length: 1000 }, (_, i) => {
      if (i % 4 === 0) {
        // a valid 0200 with a few bytes changed
        const mutated = valid.slice();
        for (let k = 0; k < 3; k++)
          mutated[Math.floor(random() * mutated.length)] = Math.floor(random() * 256);
        return mutated;
      }
      if (i % 4 === 1) return valid.slice(0, 1 + Math.floor(random() * (valid.length - 1)));
      return Uint8Array.from({ length: 1 + Math.floor(random() * 300) }, () => Math.floor(random() * 256));
    });
    /** One garbage frame per connection: the issuer answers it (30, or a reply to a still-valid 0200) or closes. */
    const sendOne = (body: Uint8Array) =>
      new Promise<void>((resolve) => {
        const socket = net.connect({ host: "127.0.0.1", port: started.port });
        const finish = () => {
          socket.destroy();
          resolve();
        };
        socket.on("error", finish);
        socket.on("data", finish);
        socket.on("close", finish);
        socket.setTimeout(2000, finish);
        const out = Buffer.alloc(2 + body.length);
        out.writeUInt16BE(body.length, 0);
        out.set(body, 2);
        socket.write(out);
      });
    for (let i = 0; i < garbage.length; i += 50) await Promise.all(garbage.slice(i, i + 50).map(sendOne));

    const malformed = metric(started, "issuer_malformed_frames_total");
    expect(malformed).toBeGreaterThan(700);
    expect(malformed + sumOf(started, "issuer_requests_total")).toBe(1000);
    const link = new Link(started.port);
    expect((await link.request(purchase("000999"))).fields[39]).toBe("00");
  });

  it("closes a connection whose frame is undecodable", async () => {
    const started = await issuer();
    const link = new Link(started.port);
    link.socket.write(Buffer.from([0, 3, 1, 2, 3]));
    await link.closed;
    expect(metric(started, "issuer_malformed_frames_total")).toBe(1);
  });
});
