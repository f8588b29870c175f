import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { keyCheckValue, toHexUpper } from "../protocol/index.ts";
import { REPO_ROOT } from "../shared/repo.ts";
import { randomKey } from "../sim/hsm/keys.ts";
import { runProfile } from "./run-profile.ts";

// Terminals known by their own keys: a list of TIDs posstorm never derived, with random TMKs, read by the fleet
// (terminal.keysFile) and by the reference lab's HSM and switch (mounted into their containers). Every sign-in
// and purchase is approved, and no key appears in the run folder. `posstorm terminals export` writes a list
// that reads back the same way.

const define = JSON.stringify(join(REPO_ROOT, "harness/profile/define.ts"));

/** Every file under `dir`, as text (gzip files unzipped). */
function everything(dir: string): string {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile())
    .map((path) =>
      path.endsWith(".gz") ? gunzipSync(readFileSync(path)).toString("utf8") : readFileSync(path, "utf8"),
    )
    .join("\n");
}

describe("terminals with their own keys", () => {
  it("signs in and buys with keys from a list, on the reference lab; keys stay out of the run folder", async () => {
    const dir = mkdtempSync(join(tmpdir(), "posstorm-own-keys-"));
    const tids = Array.from({ length: 12 }, (_, i) => `SHOP${String(i + 1).padStart(4, "0")}`);
    const keys = tids.map((tid) => ({ tid, tmk: randomKey(16) }));
    writeFileSync(
      join(dir, "terminals.csv"),
      [
        "tid,tmk,kcv",
        ...keys.map((k) => `${k.tid},${toHexUpper(k.tmk)},${toHexUpper(keyCheckValue(k.tmk, 3))}`),
      ].join("\n"),
    );
    writeFileSync(
      join(dir, "own-keys.ts"),
      `import { defineProfile } from ${define};
export default defineProfile({
  name: "own-keys",
  durationS: 6,
  lab: { runtime: "containers" },
  terminal: { keysFile: "terminals.csv", responseTimeoutMs: 3000 },
  fleet: { model: "population", terminals: 12, signIn: { curve: "uniform", windowS: 1 },
           purchases: { perTerminal: 3, thinkTimeS: { mean: 1, jitter: 0 } } },
});
`,
    );
    const outcome = await runProfile({
      profile: join(dir, "own-keys.ts"),
      reportsDir: join(dir, "reports"),
      live: false,
      log: () => undefined,
    });
    expect(outcome).toMatchObject({ status: "completed", exitCode: 0 });
    const run = JSON.parse(readFileSync(join(outcome.runDir, "run.json"), "utf8"));
    expect(run.outcomes.byOutcome.signin.approved).toBe(12);
    expect(run.outcomes.byOutcome.purchase.approved).toBe(run.outcomes.total.purchase);
    expect(run.outcomes.total.purchase).toBeGreaterThanOrEqual(24);
    // The TIDs are the list's; the keys are nowhere in the run folder (plan.json names the file only).
    const all = everything(outcome.runDir);
    expect(all).toContain("SHOP0007");
    for (const k of keys) expect(all).not.toContain(toHexUpper(k.tmk));
    expect(JSON.parse(readFileSync(join(outcome.runDir, "plan.json"), "utf8")).terminal.keysFile).toBe(
      join(dir, "terminals.csv"),
    );
  });

  it("`posstorm terminals export` writes the fleet's list; a KCV typo in a profile's list is refused at load", async () => {
    const dir = mkdtempSync(join(tmpdir(), "posstorm-export-"));
    const out = join(dir, "smoke-terminals.csv");
    execFileSync(
      process.execPath,
      [join(REPO_ROOT, "harness/cli/main.ts"), "terminals", "export", "smoke", "--out", out],
      {
        stdio: "pipe",
      },
    );
    const lines = readFileSync(out, "utf8").trim().split("\n");
    expect(lines[0]).toBe("tid,mid,tmk,kcv");
    expect(lines).toHaveLength(51); // smoke's 50 terminals
    expect(statSync(out).mode & 0o777).toBe(0o600);
    // The same list with one check value changed: the profile does not load, and says where.
    const broken = lines.map((l, i) => (i === 3 ? l.replace(/,[0-9A-F]{6}$/, ",000000") : l)).join("\n");
    writeFileSync(join(dir, "broken.csv"), broken);
    writeFileSync(
      join(dir, "broken.ts"),
      `import { defineProfile } from ${define};
export default defineProfile({ name: "broken", durationS: 5, terminal: { keysFile: "broken.csv" },
  fleet: { model: "population", terminals: 5, signIn: { curve: "uniform", windowS: 1 },
           purchases: { perTerminal: 0, thinkTimeS: { mean: 1, jitter: 0 } } } });
`,
    );
    const result = (() => {
      try {
        execFileSync(
          process.execPath,
          [join(REPO_ROOT, "harness/cli/main.ts"), "terminals", "export", join(dir, "broken.ts")],
          {
            stdio: "pipe",
          },
        );
        return { status: 0, stderr: "" };
      } catch (error) {
        const e = error as { status: number; stderr: Buffer };
        return { status: e.status, stderr: e.stderr.toString("utf8") };
      }
    })();
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      /terminal\.keysFile .*broken\.csv.*line 4 \(POS00003\): the key's check value does not match/,
    );
    expect(result.stderr).not.toMatch(/[0-9A-F]{32}/);
  });
});
