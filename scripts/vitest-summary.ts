// Runs vitest (both projects unless arguments say otherwise) and closes with one plain line,
// `N passed, N failed, N skipped`, that CI reads. Exits non-zero when a test failed or none ran.
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const results = join(root, ".vitest-results.json");
rmSync(results, { force: true });

const vitest = join(root, "node_modules/vitest/vitest.mjs");
const run = spawnSync(
  process.execPath,
  [
    vitest,
    "run",
    "--reporter=default",
    "--reporter=json",
    `--outputFile.json=${results}`,
    ...process.argv.slice(2),
  ],
  { cwd: root, stdio: "inherit" },
);

let passed = 0;
let failed = 0;
let skipped = 0;
try {
  const json = JSON.parse(readFileSync(results, "utf8")) as {
    numPassedTests: number;
    numFailedTests: number;
    numPendingTests: number;
    numTodoTests: number;
  };
  passed = json.numPassedTests;
  failed = json.numFailedTests;
  skipped = json.numPendingTests + json.numTodoTests;
} catch {
  console.error("vitest wrote no results (it failed before running tests)");
  failed = Math.max(failed, 1);
}
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
const code = run.status ?? 1;
process.exit(code !== 0 ? code : failed > 0 || passed === 0 ? 1 : 0);
