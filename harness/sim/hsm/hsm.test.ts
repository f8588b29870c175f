import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  DEFAULT_LAB_KEY_HEX,
  deriveTmk,
  fromHex,
  type KeyLayout,
  keyCheckValue,
  toHex,
  unwrapWorkingKeys,
} from "../../protocol/index.ts";
import { parsePrometheus } from "../../shared/prometheus.ts";
import { Registry } from "../common/metrics.ts";
import { startFrameServer } from "../common/tcp-server.ts";
import { HsmClient, HsmError } from "./client.ts";
import { encodeRequest, encodeResponse, FIRMWARE_ID, parseResponse } from "./protocol.ts";
import { type StartedHsm, startHsm } from "./server.ts";
import type { HsmOptions } from "./settings.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

async function hsm(options: HsmOptions = {}): Promise<StartedHsm> {
  const started = await startHsm({ port: 0, adminPort: 0, ...options });
  cleanups.push(() => started.close());
  return started;
}

async function client(port: number, timeoutMs = 5000): Promise<HsmClient> {
  const connected = await HsmClient.connect("127.0.0.1", port, { timeoutMs });
  cleanups.push(() => connected.close());
  return connected;
}

const metric = (started: StartedHsm, name: string) =>
  parsePrometheus(started.metrics.render()).get(name) ?? 0;
const hasOddParity = (key: Uint8Array) =>
  [...key].every((byte) => byte.toString(2).replaceAll("0", "").length % 2 === 1);

describe("HSM simulator: host commands", () => {
  it("NC answers ND with the firmware id", async () => {
    const started = await hsm();
    const hsmClient = await client(started.port);
    expect(await hsmClient.diagnostics()).toEqual({ firmware: FIRMWARE_ID, error: "00" });
  });

  it.each(["001", "003", "004"] as KeyLayout[])(
    "A0 layout %s: fresh keys that unwrap under deriveTmk(labKey, TID) with matching KCVs",
    async (layout) => {
      const started = await hsm();
      const hsmClient = await client(started.port);
      const tid = "12345678";
      const [first, second] = await Promise.all([
        hsmClient.workingKeys(tid, layout),
        hsmClient.workingKeys(tid, layout),
      ]);
      expect(first.error).toBe("00");
      const tmk = deriveTmk(fromHex(DEFAULT_LAB_KEY_HEX), tid);
      const keys = unwrapWorkingKeys(first.f62, tmk, layout);
      const sizes = { "001": [8, 8, 0], "003": [16, 8, 0], "004": [16, 8, 16] }[layout];
      expect([keys.pik.length, keys.mak.length, keys.tdk?.length ?? 0]).toEqual(sizes);
      const pikKcvOffset = layout === "001" ? 8 : 16;
      expect(toHex(first.f62.subarray(pikKcvOffset, pikKcvOffset + 4))).toBe(toHex(keyCheckValue(keys.pik)));
      for (const key of [keys.pik, keys.mak, keys.tdk].filter((k) => k !== undefined)) {
        expect(hasOddParity(key)).toBe(true);
      }
      expect(toHex(unwrapWorkingKeys(second.f62, tmk, layout).pik)).not.toBe(toHex(keys.pik));
      expect(() => unwrapWorkingKeys(first.f62, deriveTmk(fromHex(DEFAULT_LAB_KEY_HEX), "87654321"))).toThrow(
        /check value/,
      );
    },
  );

  it("uses the configured lab key", async () => {
    const labKeyHex = "00112233445566778899AABBCCDDEEFF";
    const started = await hsm({ labKeyHex });
    const { f62 } = await (await client(started.port)).workingKeys("TERM0001", "003");
    expect(() => unwrapWorkingKeys(f62, deriveTmk(fromHex(labKeyHex), "TERM0001"), "003")).not.toThrow();
    // the negative control: under another lab key (the default one, or one key bit off: not a parity bit,
    // which DES ignores) the same check fails
    for (const otherKeyHex of [DEFAULT_LAB_KEY_HEX, "00112233445566778899AABBCCDDEEFD"]) {
      expect(otherKeyHex).not.toBe(labKeyHex);
      expect(() => unwrapWorkingKeys(f62, deriveTmk(fromHex(otherKeyHex), "TERM0001"), "003")).toThrow(
        /check value/,
      );
    }
  });

  it("answers malformed requests 10/15, closes on a request too short to answer, and keeps serving", async () => {
    const started = await hsm();
    const socket = net.connect({ host: "127.0.0.1", port: started.port });
    const replies: Buffer[] = [];
    let buffered = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        replies.push(buffered.subarray(2, 2 + buffered.readUInt16BE(0)));
        buffered = buffered.subarray(2 + buffered.readUInt16BE(0));
      }
    });
    const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
    const send = (body: Uint8Array) => {
      const out = Buffer.alloc(2 + body.length);
      out.writeUInt16BE(body.length, 0);
      out.set(body, 2);
      socket.write(out);
    };
    const text = (s: string) => new Uint8Array(Buffer.from(s, "latin1"));
    send(encodeRequest("0001", "ZZ"));
    send(encodeRequest("0002", "A0", text("1234567003"))); // TID one short
    send(encodeRequest("0003", "A0", text("12345678002"))); // no such layout
    send(encodeRequest("0004", "A0", text("1234\x0178003"))); // TID not printable
    send(encodeRequest("0005", "NC"));
    await expect.poll(() => replies.length).toBe(5);
    const parsed = replies.map((reply) => parseResponse(reply)!);
    expect(parsed.map(({ header, response, error }) => `${header} ${response} ${error}`)).toEqual([
      "0001 Z[ 10",
      "0002 A1 15",
      "0003 A1 15",
      "0004 A1 15",
      "0005 ND 00",
    ]);
    send(text("abc"));
    await closed;
    expect(metric(started, "hsm_malformed_frames_total")).toBe(5);
    expect(metric(started, 'hsm_calls_total{command="other",error="10"}')).toBe(1);
    expect(metric(started, 'hsm_calls_total{command="A0",error="15"}')).toBe(3);
    expect((await (await client(started.port)).diagnostics()).error).toBe("00");
  });
});

describe("HSM simulator: capacity model", () => {
  it("at 50 calls/s a burst of 100 queues up and the last call waits about 2 s", async () => {
    const started = await hsm({ capacityPerSecond: 50, workers: 4, serviceTimeMs: 1 });
    const hsmClient = await client(started.port, 10_000);
    const t0 = performance.now();
    const done: number[] = [];
    const calls = Array.from({ length: 100 }, () =>
      hsmClient.workingKeys("12345678", "003").then((result) => {
        done.push(performance.now() - t0);
        return result;
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(metric(started, "hsm_queue_depth")).toBeGreaterThan(60);
    expect(metric(started, "hsm_utilisation")).toBeGreaterThan(0.2);
    const results = await Promise.all(calls);
    expect(results.every((result) => result.error === "00")).toBe(true);
    const last = Math.max(...done);
    expect(last).toBeGreaterThan(1700);
    expect(last).toBeLessThan(2700);
    expect(metric(started, "hsm_utilisation")).toBeGreaterThan(0.8);
    expect(metric(started, "hsm_queue_depth")).toBe(0);
    expect(metric(started, 'hsm_calls_total{command="A0",error="00"}')).toBe(100);
    expect(metric(started, "hsm_call_seconds_count")).toBe(100);
    expect(metric(started, 'hsm_call_seconds_bucket{le="1"}')).toBeLessThan(70);
  });

  it("keeps the rate it is set to when the interval is not whole milliseconds (300 calls/s: 3.33 ms apart)", async () => {
    // Timers fire on whole milliseconds: a bucket that rounds each wait up (4 ms) would serve 250/s, and the
    // last of 600 calls would end near 2.4 s instead of 2 s.
    const started = await hsm({ capacityPerSecond: 300, workers: 4, serviceTimeMs: 1 });
    const hsmClient = await client(started.port, 10_000);
    const t0 = performance.now();
    const results = await Promise.all(
      Array.from({ length: 600 }, () => hsmClient.workingKeys("12345678", "003")),
    );
    const elapsed = performance.now() - t0;
    expect(results.every((result) => result.error === "00")).toBe(true);
    expect(elapsed).toBeGreaterThan(1900);
    expect(elapsed).toBeLessThan(2250);
  });

  it("serves workers / serviceTimeMs calls per ms while its event loop runs late (1 worker at 2 ms: 500 calls/s)", async () => {
    // The HSM's loop is kept busy 3 ms in every 5 ms, so each call's own 2 ms timer fires up to 3 ms late: a
    // worker freed only when its timer fired would serve about 1 call per 5 ms, and 200 calls would take 0.8 s or
    // more. On the clock, the last ends 0.4 s after the first starts.
    const started = await hsm({ capacityPerSecond: 0, workers: 1, serviceTimeMs: 2 });
    const hsmClient = await client(started.port, 10_000);
    await hsmClient.diagnostics();
    const busy = setInterval(() => {
      const until = performance.now() + 3;
      while (performance.now() < until);
    }, 5);
    const t0 = performance.now();
    const results = await Promise.all(
      Array.from({ length: 200 }, () => hsmClient.workingKeys("12345678", "003")),
    ).finally(() => clearInterval(busy));
    const elapsed = performance.now() - t0;
    expect(results.every((result) => result.error === "00")).toBe(true);
    expect(elapsed).toBeGreaterThan(390);
    expect(elapsed).toBeLessThan(600);
  });

  it("answers 90 at once beyond maxQueue, and a capacity change applies at run time", async () => {
    const started = await hsm({ capacityPerSecond: 2, workers: 1, serviceTimeMs: 1, maxQueue: 5 });
    const filler = await client(started.port);
    const queued = Array.from({ length: 7 }, () => filler.workingKeys("12345678", "001"));
    await expect.poll(() => metric(started, "hsm_queue_depth")).toBe(5);
    const other = await client(started.port);
    const t0 = performance.now();
    expect((await other.workingKeys("12345678", "001")).error).toBe("90");
    expect(performance.now() - t0).toBeLessThan(200);
    const put = await fetch(`http://127.0.0.1:${started.adminPort}/config`, {
      method: "PUT",
      body: JSON.stringify({ capacityPerSecond: 0 }),
    });
    expect(put.status).toBe(200);
    const errors = (await Promise.all(queued)).map((result) => result.error);
    expect(errors).toEqual(["00", "00", "00", "00", "00", "00", "90"]);
    expect(metric(started, 'hsm_calls_total{command="A0",error="90"}')).toBe(2);
  });
});

describe("HsmClient", () => {
  it("times a call out, drops its late reply, and keeps the connection for the next call", async () => {
    const started = await hsm({ serviceTimeMs: 200 });
    const hsmClient = await client(started.port);
    const late = hsmClient.diagnostics({ timeoutMs: 50 });
    await expect(late).rejects.toMatchObject({ name: "HsmError", reason: "timeout" });
    expect(hsmClient.outstanding).toBe(1);
    expect((await hsmClient.workingKeys("12345678", "003", { timeoutMs: 2000 })).error).toBe("00");
    expect(hsmClient.outstanding).toBe(0);
  });

  it("fails outstanding calls when the HSM goes away and reconnects when it is back", async () => {
    const first = await startHsm({ port: 0, adminPort: 0, serviceTimeMs: 300 });
    const port = first.port;
    const hsmClient = await client(port, 2000);
    const pending = expect(hsmClient.diagnostics()).rejects.toMatchObject({ reason: "closed" });
    await new Promise((resolve) => setTimeout(resolve, 20));
    await first.close();
    await pending;
    await expect(hsmClient.diagnostics()).rejects.toMatchObject({ reason: "connect" });
    await hsm({ port });
    expect((await hsmClient.diagnostics()).error).toBe("00");
  });

  it("resynchronises when a request was lost, and refuses a reply that matches nothing", async () => {
    // A fake HSM that never answers the first request it gets and answers header "9999" to NC … 0003.
    let seen = 0;
    const fake = await startFrameServer({
      host: "127.0.0.1",
      port: 0,
      maxFrameBytes: 1024,
      malformedFrames: new Registry().counter("fake_malformed_frames_total", ""),
      onFrame: (body, connection) => {
        seen++;
        const header = body.subarray(0, 4);
        if (seen === 1) return;
        if (seen === 3)
          return void connection.send(encodeResponse(new Uint8Array([57, 57, 57, 57]), "NC", "00"));
        connection.send(encodeResponse(header, "NC", "00", new Uint8Array(Buffer.from("fake"))));
      },
    });
    cleanups.push(() => fake.close());
    const hsmClient = await client(fake.port, 2000);
    const lost = hsmClient.diagnostics();
    const answered = hsmClient.diagnostics();
    await expect(lost).rejects.toMatchObject({ reason: "protocol" });
    expect(await answered).toEqual({ firmware: "fake", error: "00" });
    await expect(hsmClient.diagnostics()).rejects.toMatchObject({ reason: "protocol" });
    expect((await hsmClient.diagnostics()).firmware).toBe("fake");
  });

  it("rejects calls after close()", async () => {
    const started = await hsm();
    const hsmClient = await client(started.port);
    await hsmClient.close();
    await expect(hsmClient.diagnostics()).rejects.toBeInstanceOf(HsmError);
  });
});
