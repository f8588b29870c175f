import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parsePrometheus } from "../shared/prometheus.ts";
import { REPO_ROOT } from "../shared/repo.ts";
import { exchange, TestTerminal } from "../sim/switch/testing/terminal.ts";
import { address, type StartedLab, startLab } from "./lab.ts";

// The reference lab on real containers and real Toxiproxy, driven from outside by a Node terminal.

const PAN_A = "6222020000000001234"; // BIN 62 → issuer a
const runDir = () => mkdtempSync(join(tmpdir(), "posstorm-lab-"));

async function metric(lab: StartedLab, role: string, name: string): Promise<number> {
  const text = await (await fetch(`${lab.admin[role]}/metrics`)).text();
  let sum = 0;
  for (const [key, value] of parsePrometheus(text))
    if (key === name || key.startsWith(`${name}{`)) sum += value;
  return sum;
}

async function ledger(lab: StartedLab, issuer: string) {
  const response = await fetch(`${lab.admin[`issuer-${issuer}`]}/ledger`);
  return (await response.json()) as { entries: { tid: string; stan: string; status: string; pan: string }[] };
}

async function putConfig(lab: StartedLab, role: string, body: Record<string, unknown>) {
  const response = await fetch(`${lab.admin[role]}/config`, { method: "PUT", body: JSON.stringify(body) });
  expect(response.status, await response.clone().text()).toBe(200);
}

describe("reference lab (containers runtime)", () => {
  let lab: StartedLab;
  beforeAll(async () => {
    lab = await startLab({ runtime: "containers", runDir: runDir(), session: `it-lab-${Date.now()}` });
  });
  afterAll(async () => {
    await lab?.stop();
  });

  it("signs in through edge with verifiable keys, approves a purchase, and the issuer ledger shows it", async () => {
    const terminal = new TestTerminal(lab.edge, "POS00001");
    const signIn = await terminal.signIn();
    expect(signIn.responseCode).toBe("00");
    expect(signIn.keys?.mak.length).toBeGreaterThanOrEqual(8);
    const purchase = await terminal.purchase(PAN_A, "000000001234");
    expect(purchase.responseCode).toBe("00");
    expect(purchase.macOk).toBe(true);
    const stan = String(purchase.request.fields[11]);
    const entry = (await ledger(lab, "a")).entries.find((e) => e.tid === "POS00001" && e.stan === stan);
    expect(entry?.status).toBe("approved");
    expect(entry?.pan).not.toContain("0000000001234".slice(0, 9));
  });

  it("2 s latency on issuer-a above a 1 s switch timeout: the terminal gets 98, the ledger ends reversed, the late reply is counted", async () => {
    await putConfig(lab, "switch", { issuerTimeoutMs: 1000 });
    const lateBefore = await metric(lab, "switch", "switch_late_replies_total");
    const toxic = await lab.toxiproxy.addToxic("issuer-a", { kind: "latency", latencyMs: 2000 });
    try {
      const terminal = new TestTerminal(lab.edge, "POS00002");
      await terminal.signIn();
      const purchase = await terminal.purchase(PAN_A);
      expect(purchase.responseCode).toBe("98");
      expect(purchase.elapsedMs).toBeGreaterThanOrEqual(950);
      expect(purchase.elapsedMs).toBeLessThan(2000);
      const stan = String(purchase.request.fields[11]);
      let status = "";
      for (let i = 0; i < 50 && status !== "reversed"; i++) {
        await new Promise((r) => setTimeout(r, 200));
        status =
          (await ledger(lab, "a")).entries.find((e) => e.tid === "POS00002" && e.stan === stan)?.status ?? "";
      }
      expect(status).toBe("reversed");
      let late = 0;
      for (let i = 0; i < 30 && late <= lateBefore; i++) {
        await new Promise((r) => setTimeout(r, 200));
        late = await metric(lab, "switch", "switch_late_replies_total");
      }
      expect(late).toBeGreaterThan(lateBefore);
    } finally {
      await lab.toxiproxy.removeToxic("issuer-a", toxic);
      await putConfig(lab, "switch", { issuerTimeoutMs: 30000 });
    }
  });

  it("answers a tampered MAC with A0 and asks for a new sign-in, which then works", async () => {
    const terminal = new TestTerminal(lab.edge, "POS00003");
    await terminal.signIn();
    const tampered = await terminal.purchase(PAN_A, "000000000100", { tamper: true });
    expect(tampered.responseCode).toBe("A0");
    expect(tampered.frame.header?.processingRequirement).toBe(3);
    expect((await terminal.signIn()).responseCode).toBe("00");
    expect((await terminal.purchase(PAN_A)).responseCode).toBe("00");
  });

  it("keeps serving after 10,000 malformed frames, counts them, and its memory stays bounded", async () => {
    const terminal = new TestTerminal(lab.edge, "POS00004");
    await terminal.signIn();
    const rssBefore = await metric(lab, "switch", "process_resident_memory_bytes");
    const malformedBefore = await metric(lab, "switch", "switch_malformed_frames_total");
    let sent = 0;
    const batches = 100;
    for (let b = 0; b < batches; b++) {
      await Promise.all(
        Array.from({ length: 100 }, async (_, i) => {
          const junk = new Uint8Array(20 + ((b * 100 + i) % 60));
          for (let k = 0; k < junk.length; k++) junk[k] = (k * 37 + b * 11 + i * 7) & 0xff;
          junk[0] = 0;
          junk[1] = junk.length - 2; // a plausible length, garbage inside
          await exchange(lab.edge, junk, 5_000).catch(() => undefined);
          sent++;
        }),
      );
    }
    expect(sent).toBe(10_000);
    const malformed = (await metric(lab, "switch", "switch_malformed_frames_total")) - malformedBefore;
    expect(malformed).toBeGreaterThanOrEqual(10_000);
    expect((await terminal.purchase(PAN_A)).responseCode).toBe("00");
    const rssAfter = await metric(lab, "switch", "process_resident_memory_bytes");
    // Bound: 64 MiB of growth over 10,000 bad frames (about 6.5 KiB each would be a leak).
    expect(rssAfter - rssBefore).toBeLessThan(64 * 1024 * 1024);
  });
});

/** Fires `count` sign-ins at `perSecond` from distinct terminals; returns each one's code and latency. */
async function signInStorm(lab: StartedLab, count: number, perSecond: number, firstTid: number) {
  const results: Promise<{ code: string; ms: number }>[] = [];
  for (let i = 0; i < count; i++) {
    const terminal = new TestTerminal(lab.edge, `POS${String(firstTid + i).padStart(5, "0")}`);
    results.push(
      terminal
        .signIn()
        .then((r) => ({ code: r.responseCode, ms: r.elapsedMs }))
        .catch((e: Error) => ({ code: `error: ${e.message}`, ms: Number.NaN })),
    );
    await new Promise((r) => setTimeout(r, 1000 / perSecond));
  }
  return await Promise.all(results);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe("HSM saturation", () => {
  let lab: StartedLab;
  beforeAll(async () => {
    lab = await startLab({
      runtime: "containers",
      runDir: runDir(),
      session: `it-hsm-${Date.now()}`,
      hsmSettings: { capacityPerSecond: 50, maxQueue: 10_000 },
      switchSettings: { hsmTimeoutMs: 30_000 },
    });
  });
  afterAll(async () => {
    await lab?.stop();
  });

  it("at 50 calls/s under 200 sign-ins/s the HSM queue grows and sign-in latency rises; shedding answers 96 fast", async () => {
    let peakQueue = 0;
    const sampler = setInterval(async () => {
      peakQueue = Math.max(peakQueue, await metric(lab, "hsm", "hsm_queue_depth").catch(() => 0));
    }, 250);
    const storm = await signInStorm(lab, 300, 200, 100);
    clearInterval(sampler);
    expect(storm.every((r) => r.code === "00")).toBe(true);
    const first = median(storm.slice(0, 20).map((r) => r.ms));
    const last = median(storm.slice(-20).map((r) => r.ms));
    expect(peakQueue).toBeGreaterThan(50);
    expect(last).toBeGreaterThan(first * 5);
    expect(last).toBeGreaterThan(1000);

    await putConfig(lab, "switch", { shedding: true, maxInFlight: 20, maxQueue: 0 });
    const shed = await signInStorm(lab, 300, 200, 1000);
    const refused = shed.filter((r) => r.code === "96");
    expect(refused.length).toBeGreaterThan(100);
    expect(median(refused.map((r) => r.ms))).toBeLessThan(100);
    expect(shed.filter((r) => r.code === "00").length).toBeGreaterThan(0);
  });
});

/** One scenario whose outcomes must not depend on the runtime. */
async function scenario(lab: StartedLab): Promise<string[]> {
  const terminal = new TestTerminal(lab.edge, "POS00042");
  const outcomes = [(await terminal.signIn()).responseCode];
  outcomes.push((await terminal.purchase(PAN_A)).responseCode);
  outcomes.push((await terminal.purchase("4111110000000011")).responseCode); // BIN 4 → issuer b
  outcomes.push((await terminal.purchase("9999990000000001")).responseCode); // no route → 92
  outcomes.push((await terminal.purchase(PAN_A, "000000000100", { tamper: true })).responseCode); // A0
  outcomes.push((await new TestTerminal(lab.edge, "ZZZ99999").signIn()).responseCode); // not in fleet → 97
  return outcomes;
}

describe("runtimes and switch sources", () => {
  it("gives the same outcomes on the local and containers runtimes", async () => {
    const outcomes: Record<string, string[]> = {};
    for (const runtime of ["local", "containers"] as const) {
      await using lab = await startLab({ runtime, runDir: runDir(), session: `it-${runtime}-${Date.now()}` });
      outcomes[runtime] = await scenario(lab);
    }
    expect(outcomes.local).toEqual(["00", "00", "00", "92", "A0", "97"]);
    expect(outcomes.containers).toEqual(outcomes.local);
  });

  it("runs a user's switch from a command, its backends mapped to the lab's links by a template", async () => {
    await using lab = await startLab({
      runtime: "containers",
      runDir: runDir(),
      session: `it-command-${Date.now()}`,
      switchSource: {
        kind: "command",
        command: [process.execPath, join(REPO_ROOT, "harness/sim/switch/main.ts")],
        env: {
          POSSTORM_SWITCH_PORT: "{{switch.port}}",
          POSSTORM_SWITCH_ADMIN_PORT: "{{switch.adminPort}}",
          POSSTORM_SWITCH_HSM: "{{link.hsm}}",
          POSSTORM_SWITCH_ISSUERS: "a={{link.issuer-a}},b={{link.issuer-b}}",
          POSSTORM_SWITCH_ROUTES: "62=a,4=b",
          POSSTORM_SWITCH_FLEET: "POS*10000",
        },
      },
    });
    expect(lab.services.find((s) => s.role === "switch")?.id).toMatch(/^pid /);
    expect(await scenario(lab)).toEqual(["00", "00", "00", "92", "A0", "97"]);
    expect(address(lab.links["issuer-a"]!.listen)).toMatch(/^127\.0\.0\.1:\d+$/);
  });
});

describe("a program that ends on its own", () => {
  for (const runtime of ["local", "containers"] as const) {
    it(`is reported by lab.ended() (${runtime}); a restart or a stop is not`, async () => {
      await using lab = await startLab({
        runtime,
        runDir: runDir(),
        session: `it-ended-${runtime}-${Date.now()}`,
      });
      await lab.restart("hsm");
      expect(await lab.ended()).toEqual([]);
      const sw = lab.services.find((s) => s.role === "switch")!;
      if (runtime === "containers") execFileSync("docker", ["kill", sw.id]);
      else process.kill(Number(sw.id.replace("pid ", "")), "SIGKILL");
      let ended: { role: string; how: string }[] = [];
      for (let i = 0; i < 50 && ended.length === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        ended = await lab.ended();
      }
      expect(ended).toEqual([
        {
          role: "switch",
          how: runtime === "containers" ? "container exited with code 137" : "process killed by SIGKILL",
        },
      ]);
      await lab.stop();
      expect(await lab.ended()).toEqual([]);
    });
  }
});
