import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import {
  asksSignIn,
  buildMessage,
  DEFAULT_LAB_KEY_HEX,
  decodeFrame,
  deriveTmk,
  equalBytes,
  type Frame,
  fromHex,
  keyCheckValue,
  matchReply,
  networkRequest,
  purchaseRequest,
  readMessage,
  responseCodes,
  reversalFor,
  reversalRequest,
  SIGN_IN_AGAIN_CODES,
  SYSTEM_ERROR_CODES,
  signInRequest,
  unwrapWorkingKeys,
  verifyFrameMac,
} from "../../protocol/index.ts";
import { parsePrometheus } from "../../shared/prometheus.ts";
import { ConfigError } from "../common/config.ts";
import { startHsm } from "../hsm/index.ts";
import { ledgerKey, startIssuer } from "../issuer/index.ts";
import type { SwitchConfigInput } from "./config.ts";
import { type RunningSwitch, SWITCH_CODES, startSwitch } from "./switch.ts";
import {
  type FakeHsm,
  type FakeHsmOptions,
  type FakeIssuer,
  type FakeIssuerOptions,
  startFakeHsm,
  startFakeIssuer,
} from "./testing/backends.ts";
import { HEADER, MERCHANT, purchase, signIn, TerminalConnection, TPDU } from "./testing/terminal.ts";

interface Lab {
  sw: RunningSwitch;
  hsm: FakeHsm;
  issuer: FakeIssuer;
  logs: string[];
  terminal(): Promise<TerminalConnection>;
  metric(name: string): number;
  admin(path: string, init?: RequestInit): Promise<Response>;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function startLab(
  config: SwitchConfigInput = {},
  backends: { hsm?: FakeHsmOptions; issuer?: FakeIssuerOptions } = {},
): Promise<Lab> {
  const hsm = await startFakeHsm(backends.hsm);
  cleanups.push(() => hsm.close());
  const issuer = await startFakeIssuer(backends.issuer);
  cleanups.push(() => issuer.close());
  const logs: string[] = [];
  const sw = await startSwitch(
    {
      port: 0,
      adminPort: 0,
      hsm: `127.0.0.1:${hsm.port}`,
      issuers: { "issuer-a": `127.0.0.1:${issuer.port}` },
      routes: { "62": "issuer-a" },
      fleet: { prefix: "POS", count: 100 },
      issuerPoolSize: 2,
      ...config,
    },
    { log: (line) => logs.push(line) },
  );
  cleanups.push(() => sw.close());
  const metric = (name: string) => parsePrometheus(sw.metrics.render()).get(name) ?? 0;
  await until(
    () =>
      metric('switch_issuer_connections{issuer="issuer-a"}') >= 1 && metric("switch_hsm_connections") >= 1,
    "backend links",
  );
  return {
    sw,
    hsm,
    issuer,
    logs,
    metric,
    terminal: async () => {
      const t = await TerminalConnection.connect(sw.port);
      cleanups.push(() => t.close());
      return t;
    },
    admin: (path, init) => fetch(`http://127.0.0.1:${sw.adminPort}${path}`, init),
  };
}

const f39 = (frame: Frame) => frame.message.fields[39];

const somaxconn = () => Number(readFileSync("/proc/sys/net/core/somaxconn", "utf8"));

describe("response codes", () => {
  it("every code the switch sets has its meaning in the protocol's table (posstorm decode shows it)", () => {
    const unexplained = Object.entries(SWITCH_CODES).filter(([, code]) => responseCodes[code] === undefined);
    expect(unexplained).toEqual([]);
    // the codes a terminal must sign in again after are the table's, and they are errors, not declines
    expect([SWITCH_CODES.batchMismatch, SWITCH_CODES.signInAgain, SWITCH_CODES.macFailed].sort()).toEqual(
      [...SIGN_IN_AGAIN_CODES].sort(),
    );
    for (const code of SIGN_IN_AGAIN_CODES) expect(SYSTEM_ERROR_CODES).toContain(code);
    expect(SYSTEM_ERROR_CODES).not.toContain(SWITCH_CODES.approved);
    expect(SYSTEM_ERROR_CODES).not.toContain(SWITCH_CODES.invalid);
  });
});

describe("sign-in", () => {
  it("returns F62 keys that unwrap under the terminal's TMK with matching check values", async () => {
    const lab = await startLab();
    const t = await lab.terminal();
    for (const layout of ["001", "003", "004"] as const) {
      const { keys, reply } = await signIn(t, "POS00001", { layout });
      const f = reply.frame.message.fields;
      expect(reply.frame.message.mti).toBe("0810");
      expect(f[39]).toBe("00");
      expect(f[60]).toBe(`00000007${layout}`); // the terminal's batch is kept
      expect(f[37]).toMatch(/^\d{12}$/);
      expect(f[12]).toMatch(/^\d{6}$/);
      expect(f[13]).toMatch(/^\d{4}$/);
      expect(f[64]).toBeUndefined();
      const issued = lab.hsm.keys.get("POS00001")!;
      expect(equalBytes(keys.mak, issued.mak)).toBe(true);
      // unwrapWorkingKeys checks each KCV; check the MAK's explicitly too.
      const f62 = f[62] as Uint8Array;
      const tmk = deriveTmk(fromHex(DEFAULT_LAB_KEY_HEX), "POS00001");
      expect(unwrapWorkingKeys(f62, tmk, layout).pik).toEqual(keys.pik);
      const kcvAt = layout === "001" ? 20 : 36;
      expect(equalBytes(f62.subarray(kcvAt, kcvAt + 4), keyCheckValue(issued.mak))).toBe(true);
    }
    expect(lab.hsm.requests.map((r) => r.layout)).toEqual(["001", "003", "004"]);
    expect(lab.metric("switch_sessions")).toBe(1);
  });

  it("answers 97 to a TID outside the fleet without asking the HSM", async () => {
    const lab = await startLab();
    const t = await lab.terminal();
    const reply = await t.exchange({
      tpdu: TPDU,
      header: HEADER,
      message: buildMessage(signInRequest, {
        stan: "000001",
        terminalId: "POS00101",
        merchantId: MERCHANT,
        batchNumber: "000001",
      }),
    });
    expect(f39(reply.frame)).toBe("97");
    expect(lab.hsm.requests).toHaveLength(0);
    expect(lab.metric('switch_requests_total{code="97",mti="0800"}')).toBe(1);
  });

  it("answers A7 when the HSM refuses", async () => {
    const lab = await startLab({}, { hsm: { error: () => "90" } });
    const t = await lab.terminal();
    await expect(signIn(t, "POS00002")).rejects.toThrow("sign-in answered A7");
    expect(lab.metric('switch_hsm_requests_total{result="error 90"}')).toBe(1);
  });
});

describe("purchase", () => {
  it("is approved with a valid MAC and answered with a real one", async () => {
    const lab = await startLab();
    const t = await lab.terminal();
    const { mak } = await signIn(t, "POS00003");
    const request = purchase("POS00003", "000002");
    const reply = await t.exchange(request, mak);
    expect(reply.frame.message.mti).toBe("0210");
    expect(f39(reply.frame)).toBe("00");
    expect(matchReply(request.message, reply.frame.message)).toEqual({ ok: true });
    expect(verifyFrameMac(reply.body, mak, { lengthPrefix: false })).toBe(true);
    expect(reply.frame.message.fields[38]).toMatch(/^\d{6}$/);
    expect(asksSignIn(reply.frame.header)).toBe(false);
    const upstream = lab.issuer.received.find((r) => r.message.mti === "0200")!;
    expect(upstream.message.fields[64]).toBeUndefined(); // no MAC on the host link
    expect(lab.issuer.ledger.get("POS00003000002")).toEqual({ reversed: false });
    expect(lab.metric('switch_requests_total{code="00",mti="0200"}')).toBe(1);
    expect(lab.metric('switch_latency_seconds_count{mti="0200"}')).toBe(1);
  });

  it("answers A0 with processing requirement 3 to a tampered MAC, 99 without a session", async () => {
    const lab = await startLab();
    const t = await lab.terminal();
    const noSession = await t.exchange(purchase("POS00004", "000001"), {
      algorithm: "cup-ecb",
      compute: () => new Uint8Array(8),
      verify: () => false,
    });
    expect(f39(noSession.frame)).toBe("99");
    expect(asksSignIn(noSession.frame.header)).toBe(true);
    const { mak } = await signIn(t, "POS00004");
    const forged = {
      algorithm: "cup-ecb" as const,
      compute: (data: Uint8Array, start?: number, end?: number) => {
        const mac = mak.compute(data, start, end);
        mac[0] = mac[0]! ^ 1;
        return mac;
      },
      verify: () => false,
    };
    const tampered = await t.exchange(purchase("POS00004", "000002"), forged);
    expect(f39(tampered.frame)).toBe("A0");
    expect(asksSignIn(tampered.frame.header)).toBe(true);
    expect(lab.issuer.received).toHaveLength(0);
  });

  it("answers 92 to a card BIN without a route and 94 to a STAN already in flight", async () => {
    const lab = await startLab({}, { issuer: { decide: () => ({ delayMs: 300 }) } });
    const t = await lab.terminal();
    const { mak } = await signIn(t, "POS00005");
    const unrouted = await t.exchange(purchase("POS00005", "000002", "4111111111111111"), mak);
    expect(f39(unrouted.frame)).toBe("92");
    expect(verifyFrameMac(unrouted.body, mak, { lengthPrefix: false })).toBe(true);
    t.send(purchase("POS00005", "000003"), mak);
    const duplicate = await t.exchange(purchase("POS00005", "000003"), mak);
    expect(f39(duplicate.frame)).toBe("94");
    expect(f39((await t.exchange(purchase("POS00005", "000004"), mak)).frame)).toBe("00");
  });

  it("answers 91 while the issuer link is down", async () => {
    const lab = await startLab();
    const t = await lab.terminal();
    const { mak } = await signIn(t, "POS00006");
    await lab.issuer.close();
    await until(() => lab.metric('switch_issuer_connections{issuer="issuer-a"}') === 0, "link down");
    expect(f39((await t.exchange(purchase("POS00006", "000002"), mak)).frame)).toBe("91");
    expect(lab.logs.some((l) => l.includes("issuer-a#1 down"))).toBe(true);
  });

  it("times out to 98, then reverses upstream until acknowledged and counts the late approval", async () => {
    let reversals = 0;
    const lab = await startLab(
      { issuerTimeoutMs: 200, safRetryMs: 100 },
      {
        issuer: {
          decide: (r) => {
            if (r.message.mti === "0200") return { delayMs: 600 };
            if (r.message.mti === "0400") return ++reversals === 1 ? { silent: true } : {};
            return undefined;
          },
        },
      },
    );
    const t = await lab.terminal();
    const { mak } = await signIn(t, "POS00007");
    const started = performance.now();
    const reply = await t.exchange(purchase("POS00007", "000002"), mak);
    expect(f39(reply.frame)).toBe("98");
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(600); // before the issuer's reply
    expect(verifyFrameMac(reply.body, mak, { lengthPrefix: false })).toBe(true);
    // attempt 1 unanswered, attempt 2 acknowledged with 25 (the purchase is still in the issuer's hands)…
    await until(
      () => reversals >= 2 && lab.metric("switch_pending_reversals") === 0,
      "reversal acknowledged",
    );
    // …then the late approval arrives: counted, and the reversal goes out again.
    await until(() => lab.issuer.ledger.get("POS00007000002")?.reversed === true, "approval reversed");
    await until(() => lab.metric("switch_pending_reversals") === 0, "second reversal acknowledged");
    expect(lab.metric("switch_late_replies_total")).toBe(1);
    expect(reversals).toBeGreaterThanOrEqual(3);
    const sent = lab.issuer.received.filter((r) => r.message.mti === "0400");
    expect(sent[0]!.message.fields[39]).toBe("98");
    expect(sent[0]!.message.fields[35]).toBeUndefined();
    expect(sent[0]!.message.fields[11]).toBe("000002");
    expect(lab.metric('switch_saf_reversals_total{code="00",event="acknowledged"}')).toBe(1);
  });

  it("sheds with a fast 96 beyond maxInFlight and maxQueue", async () => {
    const lab = await startLab(
      { shedding: true, maxInFlight: 1, maxQueue: 0 },
      { issuer: { decide: () => ({ delayMs: 600 }) } },
    );
    const [a, b] = [await lab.terminal(), await lab.terminal()];
    const keysA = await signIn(a, "POS00008");
    const keysB = await signIn(b, "POS00009");
    const slow = a.exchange(purchase("POS00008", "000002"), keysA.mak);
    await until(() => lab.metric("switch_in_flight") === 1, "first purchase in flight");
    const started = performance.now();
    const shed = await b.exchange(purchase("POS00009", "000002"), keysB.mak);
    expect(f39(shed.frame)).toBe("96");
    expect(performance.now() - started).toBeLessThan(300); // not after the first purchase's 600 ms
    expect(f39((await slow).frame)).toBe("00");
    expect(lab.metric('switch_requests_total{code="96",mti="0200"}')).toBe(1);
  });

  it("queues up to maxQueue behind maxInFlight and serves the queue in order", async () => {
    const lab = await startLab(
      { shedding: true, maxInFlight: 1, maxQueue: 1 },
      { issuer: { decide: (r) => (r.message.mti === "0200" ? { delayMs: 150 } : undefined) } },
    );
    const terminals = await Promise.all([lab.terminal(), lab.terminal(), lab.terminal()]);
    const macs = [];
    for (const [i, t] of terminals.entries()) macs.push((await signIn(t, `POS0002${i}`)).mak);
    const first = terminals[0]!.exchange(purchase("POS00020", "000002"), macs[0]);
    await until(() => lab.metric("switch_in_flight") === 1, "first in flight");
    const second = terminals[1]!.exchange(purchase("POS00021", "000002"), macs[1]);
    await until(() => lab.metric("switch_queue_depth") === 1, "second queued");
    const third = await terminals[2]!.exchange(purchase("POS00022", "000002"), macs[2]);
    expect(f39(third.frame)).toBe("96");
    expect(f39((await first).frame)).toBe("00");
    expect(f39((await second).frame)).toBe("00");
    expect(lab.metric("switch_queue_depth")).toBe(0);
  });

  it("reverses an approval whose terminal hung up, and answers 98 when the issuer connection drops", async () => {
    let silent = false;
    const lab = await startLab(
      { safRetryMs: 100 },
      {
        issuer: {
          decide: (r) =>
            r.message.mti !== "0200" ? undefined : silent ? { silent: true } : { delayMs: 150 },
        },
      },
    );
    const t = await lab.terminal();
    const { mak } = await signIn(t, "POS00030");
    t.send(purchase("POS00030", "000002"), mak);
    await until(() => lab.issuer.received.length === 1, "purchase upstream");
    t.close();
    await until(
      () => lab.issuer.ledger.get("POS00030000002")?.reversed === true,
      "undeliverable approval reversed",
    );
    expect(lab.metric('switch_undeliverable_replies_total{code="00"}')).toBe(1);

    silent = true;
    const u = await lab.terminal();
    const { mak: mak2 } = await signIn(u, "POS00031");
    u.send(purchase("POS00031", "000002"), mak2);
    await until(
      () => lab.issuer.received.some((r) => r.message.fields[41] === "POS00031"),
      "second upstream",
    );
    lab.issuer.dropConnections();
    const reply = await u.next(1_000);
    expect(f39(decodeFrame(reply, { lengthPrefix: false }))).toBe("98");
    await until(
      () => lab.issuer.received.some((r) => r.message.mti === "0400" && r.message.fields[41] === "POS00031"),
      "reversal after reconnect",
    );
    await until(() => lab.metric("switch_pending_reversals") === 0, "reversal acknowledged");
  });

  it("forgets a signed-off session", async () => {
    const lab = await startLab();
    const u = await lab.terminal();
    const { mak } = await signIn(u, "POS00040");
    const signOff = {
      tpdu: TPDU,
      header: HEADER,
      message: buildMessage(networkRequest, {
        stan: "000003",
        terminalId: "POS00040",
        merchantId: MERCHANT,
        batchNumber: "000007",
        networkManagementCode: "002",
      }),
    };
    expect(f39((await u.exchange(signOff)).frame)).toBe("00");
    expect(f39((await u.exchange(purchase("POS00040", "000004"), mak)).frame)).toBe("99");
  });

  it("forwards a terminal reversal and answers 0410 with a MAC", async () => {
    const lab = await startLab();
    const t = await lab.terminal();
    const { mak } = await signIn(t, "POS00010");
    const request = purchase("POS00010", "000002");
    await t.exchange(request, mak);
    const original = readMessage(purchaseRequest, request.message);
    const { pan, ...withoutPan } = reversalFor(original, "98");
    const reversal = { tpdu: TPDU, header: HEADER, message: buildMessage(reversalRequest, withoutPan) };
    const reply = await t.exchange(reversal, mak);
    expect(reply.frame.message.mti).toBe("0410");
    expect(f39(reply.frame)).toBe("00");
    expect(verifyFrameMac(reply.body, mak, { lengthPrefix: false })).toBe(true);
    expect(matchReply(reversal.message, reply.frame.message)).toEqual({ ok: true });
    expect(lab.issuer.ledger.get("POS00010000002")).toEqual({ reversed: true });
  });
});

describe("dialect settings", () => {
  it("opens a batch per sign-in, answers F60 in five parts and 63.1 in approvals; reversals keep their batch", async () => {
    const lab = await startLab({ batchPerSignIn: true, field60Parts: "5", purchaseReplyField63: "CUP" });
    const t = await lab.terminal();
    const batchOf = (frame: Frame) => (frame.message.fields[60] as string).slice(2, 8);
    const inBatch = (frame: Frame, batch: string) => {
      frame.message.fields[60] = `22${batch}000`;
      return frame;
    };
    const first = batchOf((await signIn(t, "POS00011")).reply.frame);
    const { mak, reply } = await signIn(t, "POS00011", { stan: "000009" });
    const second = batchOf(reply.frame);
    expect(second).not.toBe(first);

    const stale = await t.exchange(inBatch(purchase("POS00011", "000002"), first), mak);
    expect(f39(stale.frame)).toBe("77");
    expect(batchOf(stale.frame)).toBe(second);
    expect(stale.frame.message.fields[63]).toBeUndefined();

    const approved = await t.exchange(inBatch(purchase("POS00011", "000003"), second), mak);
    expect(f39(approved.frame)).toBe("00");
    expect(approved.frame.message.fields[60]).toBe(`22${second}00000`);
    expect(approved.frame.message.fields[63]).toBe("CUP");
    expect(verifyFrameMac(approved.body, mak, { lengthPrefix: false })).toBe(true);

    // The reversal of a purchase made in the first batch carries that batch: not refused for it (77).
    const original = readMessage(purchaseRequest, inBatch(purchase("POS00011", "000002"), first).message);
    const { pan, ...withoutPan } = reversalFor(original, "98");
    const reversal = { tpdu: TPDU, header: HEADER, message: buildMessage(reversalRequest, withoutPan) };
    const reversed = await t.exchange(reversal, mak);
    expect(reversed.frame.message.mti).toBe("0410");
    expect(f39(reversed.frame)).toBe("25");
  });

  it("refuses a fixed batch together with a batch per sign-in, and a card organisation that is not 3 letters", async () => {
    await expect(
      startSwitch({ port: 0, adminPort: 0, assignBatch: "000777", batchPerSignIn: true }),
    ).rejects.toThrow(/assignBatch and batchPerSignIn: choose one/);
    await expect(startSwitch({ port: 0, adminPort: 0, purchaseReplyField63: "cu" })).rejects.toThrow(
      /purchaseReplyField63 must be 3 capital letters/,
    );
    await expect(startSwitch({ port: 0, adminPort: 0, field60Parts: "4" as "5" })).rejects.toThrow(
      /field60Parts/,
    );
  });
});

describe("connections and robustness", () => {
  it("listens with the accept queue it is set to (4,096 by default, not Node's 511)", async () => {
    // ss shows a listener's backlog as its Send-Q.
    const backlog = (port: number) =>
      Number(
        execFileSync("ss", ["-ltnH", `sport = :${port}`], { encoding: "utf8" })
          .trim()
          .split(/\s+/)[2],
      );
    const byDefault = await startLab();
    expect(backlog(byDefault.sw.port)).toBe(Math.min(4096, somaxconn()));
    const set = await startLab({ listenBacklog: 77 });
    expect(backlog(set.sw.port)).toBe(77);
  });

  it("keeps serving after 1,000 garbage frames, and counts them", async () => {
    const lab = await startLab();
    let seed = 42;
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
      return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
    };
    const bytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(random() * 256));
    let t = await lab.terminal();
    let replies = 0;
    let closes = 0;
    for (let i = 0; i < 1000; i++) {
      let body: Uint8Array;
      if (i % 4 === 0)
        body = bytes(1 + Math.floor(random() * 12)); // too short for an MTI
      else if (i % 4 === 1)
        body = Uint8Array.of(0x60, 0, 3, 0, 0, 0x60, 0x31, 0, 0, 0, 1, 0x02, 0x00, ...bytes(30));
      else body = bytes(13 + Math.floor(random() * 80));
      const framed = new Uint8Array(body.length + 2);
      framed[0] = body.length >> 8;
      framed[1] = body.length & 0xff;
      framed.set(body, 2);
      t.sendRaw(framed);
      try {
        await t.next(2_000);
        replies++;
      } catch {
        closes++;
        t = await lab.terminal();
      }
    }
    t.sendRaw(Uint8Array.of(0xff, 0xff, 1, 2, 3)); // a length above the frame limit
    await t.closed;
    const answered = lab.metric('switch_malformed_frames_total{action="answered"}');
    const closed = lab.metric('switch_malformed_frames_total{action="closed"}');
    expect(answered + closed).toBe(1001);
    expect(answered).toBe(replies);
    expect(closed).toBe(closes + 1);
    expect(answered).toBeGreaterThan(250);
    const fresh = await lab.terminal();
    const { mak } = await signIn(fresh, "POS00011");
    expect(f39((await fresh.exchange(purchase("POS00011", "000002"), mak)).frame)).toBe("00");
  });

  it("answers echoes on a long connection and drops it after idleTimeoutMs of silence", async () => {
    const lab = await startLab();
    const t = await lab.terminal();
    for (let i = 1; i <= 3; i++) {
      const echo = {
        tpdu: TPDU,
        header: HEADER,
        message: buildMessage(networkRequest, {
          stan: String(i).padStart(6, "0"),
          terminalId: "POS00012",
          merchantId: MERCHANT,
          batchNumber: "000007",
        }),
      };
      const reply = await t.exchange(echo);
      expect(reply.frame.message.mti).toBe("0830");
      expect(f39(reply.frame)).toBe("00");
      expect(matchReply(echo.message, reply.frame.message)).toEqual({ ok: true });
    }
    expect(lab.metric('switch_connections{mode="long"}')).toBe(1);
    const put = await lab.admin("/config", { method: "PUT", body: JSON.stringify({ idleTimeoutMs: 150 }) });
    expect(put.status).toBe(200);
    const started = performance.now();
    await t.closed;
    expect(performance.now() - started).toBeLessThan(2_000);
    await until(() => lab.metric('switch_connections{mode="long"}') === 0, "connection gauge");
  });

  it("changes issuerTimeoutMs at run time through PUT /config", async () => {
    const lab = await startLab(
      { issuerTimeoutMs: 5_000 },
      { issuer: { decide: (r) => (r.message.mti === "0200" ? { delayMs: 250 } : undefined) } },
    );
    const t = await lab.terminal();
    const { mak } = await signIn(t, "POS00013");
    expect(f39((await t.exchange(purchase("POS00013", "000002"), mak)).frame)).toBe("00");
    const put = await lab.admin("/config", { method: "PUT", body: JSON.stringify({ issuerTimeoutMs: 100 }) });
    expect(((await put.json()) as { changed: string[] }).changed).toEqual(["issuerTimeoutMs"]);
    expect(((await (await lab.admin("/config")).json()) as { issuerTimeoutMs: number }).issuerTimeoutMs).toBe(
      100,
    );
    expect(f39((await t.exchange(purchase("POS00013", "000003"), mak)).frame)).toBe("98");
    expect(lab.logs).toContain("config changed: issuerTimeoutMs=100");
  });

  it("refuses a bad PUT /config without changing anything", async () => {
    const lab = await startLab();
    const bad = await lab.admin("/config", {
      method: "PUT",
      body: JSON.stringify({ routes: { "4": "issuer-z" }, maxQueue: 5 }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/issuer-z.*not an issuer link/);
    expect(lab.sw.config.routes).toEqual(["62=issuer-a"]);
    expect(lab.sw.config.maxQueue).toBe(1_000);
    const fixed = await lab.admin("/config", {
      method: "PUT",
      body: JSON.stringify({ routes: { "4": "issuer-a" } }),
    });
    expect(fixed.status).toBe(200);
    expect(lab.sw.config.routes).toEqual(["4=issuer-a"]);
  });

  it("refuses bad settings with a ConfigError naming each", async () => {
    await expect(
      startSwitch({ port: 0, adminPort: 0, routes: { x: "nope" }, issuerTimeoutMs: 0 }),
    ).rejects.toThrow(ConfigError);
    await expect(startSwitch({ port: 0, adminPort: 0, fleet: "ABCDEFG*100" })).rejects.toThrow(
      /fleet entry "ABCDEFG\*100"/,
    );
  });
});

describe("with the posstorm simulators", () => {
  it("signs in on the HSM simulator, and approves then reverses on the issuer simulator", async () => {
    const hsm = await startHsm({ port: 0, adminPort: 0, serviceTimeMs: 0 });
    cleanups.push(() => hsm.close());
    const issuer = await startIssuer({ port: 0, adminPort: 0, medianMs: 1, p99Ms: 1 });
    cleanups.push(() => issuer.close());
    const sw = await startSwitch(
      {
        port: 0,
        adminPort: 0,
        hsm: `127.0.0.1:${hsm.port}`,
        issuers: { a: `127.0.0.1:${issuer.port}` },
        routes: { "62": "a" },
      },
      { log: () => {} },
    );
    cleanups.push(() => sw.close());
    const metric = (name: string) => parsePrometheus(sw.metrics.render()).get(name) ?? 0;
    await until(() => metric('switch_issuer_connections{issuer="a"}') >= 1, "issuer link");
    const t = await TerminalConnection.connect(sw.port);
    cleanups.push(() => t.close());
    const { mak } = await signIn(t, "POS00001", { layout: "004" });
    const request = purchase("POS00001", "000002");
    const approved = await t.exchange(request, mak);
    expect(f39(approved.frame)).toBe("00");
    expect(verifyFrameMac(approved.body, mak, { lengthPrefix: false })).toBe(true);
    const key = ledgerKey("POS00001", "000002", "000007");
    expect(issuer.ledger.get(key)?.status).toBe("approved");
    const reversal = {
      tpdu: TPDU,
      header: HEADER,
      message: buildMessage(
        reversalRequest,
        reversalFor(readMessage(purchaseRequest, request.message), "98"),
      ),
    };
    const reversed = await t.exchange(reversal, mak);
    expect(f39(reversed.frame)).toBe("00");
    expect(issuer.ledger.get(key)?.status).toBe("reversed");
  });
});
