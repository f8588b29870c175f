import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { connectToxiproxy } from "../../chaos/index.ts";
import { NFT_TABLE } from "../../chaos/kernel.ts";
import { localProfile } from "../../profile/testing/profile-file.ts";
import { CHROMIUM_ARGS, findChromium } from "../../report/browser.ts";
import { readRunJson } from "../../run-folder/index.ts";
import { parsePrometheus } from "../../shared/prometheus.ts";
import { REPO_ROOT } from "../../shared/repo.ts";

// A rehearsal as an SRE runs one: `posstorm rehearse` in its own process, its live page in headless
// Chromium, faults applied and cleared by hand from other processes (`posstorm chaos apply|clear --run`), the
// emergency stop pressed on the page, checked on Toxiproxy and nftables themselves; /metrics read with a
// Prometheus text parser and held against the run's own counts; the report's timeline with the manual faults.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MAIN = join(REPO_ROOT, "harness/cli/main.ts");
const cli = (...args: string[]) =>
  execFileSync(process.execPath, [MAIN, ...args], { encoding: "utf8", timeout: 60_000 });
const nftTables = () => execFileSync("nft", ["list", "tables"], { encoding: "utf8" });

let child: ChildProcess | undefined;
afterAll(() => {
  child?.kill("SIGINT");
});

describe("a rehearsal with its live view", () => {
  it("live page, faults by hand from other processes, the emergency stop, /metrics and the report's timeline", async () => {
    const reports = mkdtempSync(join(tmpdir(), "posstorm-rehearse-"));
    const file = localProfile("rehearsal", {
      durationS: 5,
      terminals: 10,
      perTerminal: 1,
      terminal: "responseTimeoutMs: 3000",
    });
    child = spawn(
      process.execPath,
      [MAIN, "rehearse", file, "--max-s", "300", "--quiet", "--reports-dir", reports],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout!.on("data", (d) => {
      output += String(d);
    });
    child.stderr!.on("data", (d) => {
      output += String(d);
    });
    const exited = new Promise<number | null>((resolve) => child!.once("exit", (code) => resolve(code)));
    const until = async (what: string, check: () => boolean | Promise<boolean>, ms = 30_000) => {
      const deadline = Date.now() + ms;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; output:\n${output}`);
        await sleep(100);
      }
    };
    await until("the live view", () => /live view: http:\/\/127\.0\.0\.1:\d+/.test(output));
    const url = /live view: (http:\/\/127\.0\.0\.1:\d+)/.exec(output)![1]!;
    const runDir = /run \S+ → (\S+)/.exec(output)![1]!;
    const state = async () => (await (await fetch(`${url}/state`)).json()) as Record<string, unknown>;
    await until("the load", async () => (await state()).started === true);
    const toxiproxy = connectToxiproxy(readRunJson(runDir).lab!.toxiproxy);

    // The live page: drawn, no console error, the throughput chart's last second advances.
    const { launch } = await import("puppeteer-core");
    const browser = await launch({
      executablePath: findChromium().path!,
      headless: true,
      args: CHROMIUM_ARGS,
      pipe: true,
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(m.text());
      });
      page.on("pageerror", (e) => errors.push(String(e)));
      await page.goto(url, { waitUntil: "load" });
      // Page code as strings: the harness compiles without DOM types.
      const lastX = async () =>
        Number(
          await page.evaluate(
            'document.querySelector("#chart-throughput")?.getAttribute("data-last-x") ?? -1',
          ),
        );
      await until("the throughput chart", async () => (await lastX()) >= 0, 10_000);
      const first = await lastX();
      await sleep(2_000);
      expect(await lastX()).toBeGreaterThan(first);

      // An incident from another process: toxics and kernel drops in place, on the page's timeline.
      const applied = cli("chaos", "apply", "--run", runDir, "--incident", "unstable-network");
      expect(applied).toMatch(/manual:unstable-network:latency: active/);
      expect(await toxiproxy.listToxics("edge")).toEqual(["latency_upstream", "latency_downstream"]);
      expect(nftTables()).toContain(`table inet ${NFT_TABLE}`);
      await until("the page's timeline", async () =>
        Boolean(
          await page.evaluate(
            'document.querySelector("#timeline").textContent.includes("manual:unstable-network")',
          ),
        ),
      );

      // The emergency stop on the page clears them: checked on Toxiproxy and nftables.
      await page.click("#emergency");
      await until(
        "the emergency stop",
        async () => (await toxiproxy.listToxics("edge")).length === 0,
        10_000,
      );
      await until("the nft table gone", () => !nftTables().includes(`table inet ${NFT_TABLE}`), 10_000);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }

    // One fault by hand, cleared by name from another process.
    cli("chaos", "apply", "--run", runDir, "--fault", "latency", "--latency-ms", "150");
    expect(await toxiproxy.listToxics("edge")).toEqual(["latency_downstream"]);
    await sleep(1_500);
    expect(cli("chaos", "clear", "--run", runDir, "--name", "manual:latency@edge")).toMatch(/cleared/);
    expect(await toxiproxy.listToxics("edge")).toEqual([]);

    // Ctrl-C ends the rehearsal by hand (the first one: faults cleared, load stopped, then the full report).
    child.kill("SIGINT");
    // /metrics until the load has ended: then its figures are the run's own.
    let last = new Map<string, number>();
    await until(
      "the end of the load",
      async () => {
        const text = await fetch(`${url}/metrics`).then(
          (r) => r.text(),
          () => "",
        );
        if (text) last = parsePrometheus(text);
        return (last.get(`posstorm_load_ended{run="${readRunJson(runDir).runId}"}`) ?? 0) === 1;
      },
      60_000,
    );
    expect(await exited).toBe(0);
    const run = readRunJson(runDir);
    expect(run.status).toBe("completed");
    expect(run.endedByHand).toMatchObject({ by: "Ctrl-C" });
    expect(run.endedByHand!.atS).toBeLessThan(120);
    expect(output).toMatch(/ending the rehearsal and reporting/);
    const id = run.runId;
    const approved = run.outcomes!.byOutcome.purchase.approved;
    expect(approved).toBeGreaterThan(100);
    let fromMetrics = 0;
    for (const [key, value] of last)
      if (key.startsWith(`posstorm_operations_total{run="${id}",op="purchase",outcome="approved",`))
        fromMetrics += value;
    expect(fromMetrics).toBe(approved);
    expect(last.get(`posstorm_reversals_total{run="${id}",event="queued"}`)).toBe(
      run.outcomes!.reversals.queued,
    );

    // The report's timeline holds the faults by hand with their times; the HTML shades their windows.
    const manual = run.timeline!.entries!.filter((e) => e.origin === "manual");
    expect(manual.map((e) => [e.name, e.status, e.clearedBy])).toEqual([
      ["manual:unstable-network:latency", "cleared", "emergency-stop"],
      ["manual:unstable-network:loss", "cleared", "emergency-stop"],
      ["manual:latency@edge", "cleared", "manual"],
    ]);
    for (const e of manual) expect(e.clearedAt!.sinceStartS).toBeGreaterThan(e.appliedAt!.sinceStartS);
    const html = readFileSync(join(runDir, "report.html"), "utf8");
    const data = JSON.parse(
      /<script id="posstorm-data" type="application\/json">(.*?)<\/script>/s.exec(html)![1]!,
    );
    expect(data.faults.map((f: { name: string }) => f.name)).toEqual(manual.map((e) => e.name));
  });
});
