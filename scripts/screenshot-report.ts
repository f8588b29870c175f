#!/usr/bin/env node
// `node scripts/screenshot-report.ts <run-dir | report.html> [out.png] [--full] [--until <css selector>]`: a PNG
// of a run's report.html as headless Chromium draws it (harness/report/browser.ts), 1280 px wide, from the top
// to the end of the charts (default), to the bottom of another element (--until), or the whole page (--full).
// Fails when the page logs an error. docs/report.png is made with
// `node scripts/screenshot-report.ts reports/<smoke run>`.

import { existsSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { BrowserError, openBrowser } from "../harness/report/browser.ts";
import { REPO_ROOT } from "../harness/shared/repo.ts";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { full: { type: "boolean", default: false }, until: { type: "string", default: ".charts" } },
});
const [target, outArg] = positionals;
if (!target) {
  console.error(
    "usage: node scripts/screenshot-report.ts <run-dir | report.html> [out.png] [--full] [--until sel]",
  );
  process.exit(2);
}
const file = statSync(target, { throwIfNoEntry: false })?.isDirectory()
  ? join(target, "report.html")
  : target;
if (!existsSync(file)) {
  console.error(`${file}: no such file (render it with: posstorm report <run-dir>)`);
  process.exit(2);
}
const out = resolve(outArg ?? join(REPO_ROOT, "docs", "report.png"));

try {
  await using browser = await openBrowser();
  const { width, height } = await browser.screenshot(
    resolve(file),
    out,
    values.full ? {} : { until: values.until },
  );
  const kb = Math.round(statSync(out).size / 1024);
  console.log(`${relative(process.cwd(), out)}: ${width}×${height} px, ${kb} KB (${browser.version})`);
} catch (error) {
  if (!(error instanceof BrowserError)) throw error;
  console.error(error.message);
  process.exitCode = 2;
}
