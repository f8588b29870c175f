import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import type { Browser, Page } from "puppeteer-core";
import type { CheckResult } from "../shared/check.ts";
import { pinnedVersions } from "../shared/repo.ts";
import { findTool, type ToolLookup } from "../shared/tools.ts";

// report.html opened in a real headless Chromium: what it logged, what it drew, and a screenshot. The only
// puppeteer-core importer; puppeteer-core is a devDependency, so it is loaded when a browser is opened and
// `findChromium` / `checkChromium` (used by `posstorm doctor`) work without it. The browser is the machine's
// Chromium (Debian's `chromium`, pinned in scripts/versions.env, installed by scripts/browser.sh).

/** A browser that cannot be found or started, or a page it could not load. */
export class BrowserError extends Error {
  override readonly name = "BrowserError";
}

const NAMES = ["chromium", "chromium-browser", "google-chrome-stable", "google-chrome"];
const INSTALL =
  "bash scripts/browser.sh (Debian's chromium as root), or set POSSTORM_CHROMIUM=/path/to/chrome";

/** $POSSTORM_CHROMIUM, else the first of chromium, chromium-browser, google-chrome(-stable) on PATH. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): ToolLookup {
  if (env.POSSTORM_CHROMIUM) return findTool("chromium", { env, overrideVar: "POSSTORM_CHROMIUM" });
  const searched: string[] = [];
  for (const name of NAMES) {
    const found = findTool(name, { env });
    if (found.path) return found;
    searched.push(name);
  }
  return { path: undefined, searched: [`$POSSTORM_CHROMIUM (unset)`, `${searched.join(", ")} on PATH`] };
}

/** `chromium --version`, e.g. "Chromium 156.0.8078.79 built on Debian GNU/Linux 12 (bookworm)". */
export async function chromiumVersion(path: string): Promise<string> {
  const { stdout } = await promisify(execFile)(path, ["--version"], { timeout: 10_000 });
  return stdout.trim();
}

/** For `posstorm doctor`: optional (only the report's browser test and screenshot need it). */
export async function checkChromium(env: NodeJS.ProcessEnv = process.env): Promise<CheckResult> {
  const found = findChromium(env);
  if (!found.path) {
    return {
      name: "chromium",
      status: "missing",
      version: "-",
      detail: `not found: ${found.searched.join(", ")}`,
      fix: INSTALL,
    };
  }
  try {
    const text = await chromiumVersion(found.path);
    const version = /(\d+\.\d+\.\d+\.\d+)/.exec(text)?.[1] ?? text;
    const pinned = pinnedVersions().CHROMIUM_DEB_VERSION?.replace(/-.*$/, "");
    const note = pinned && pinned !== version ? ` (posstorm pins ${pinned}: bash scripts/browser.sh)` : "";
    return { name: "chromium", status: "ok", version, detail: `${found.path}${note}` };
  } catch (error) {
    return {
      name: "chromium",
      status: "missing",
      version: "-",
      detail: `${found.path} --version failed: ${(error as Error).message}`,
      fix: INSTALL,
    };
  }
}

/** One chart box of the report, as drawn. Pixel counts are of the chart's canvas (device pixels). */
export interface ChartSeen {
  /** The box's id without "chart-" (e.g. "ops"). */
  id: string;
  title: string;
  /** The report said "no data" for this chart (it draws no canvas then). */
  noData: boolean;
  canvas: { width: number; height: number } | undefined;
  /** Legend labels of the drawn series (uPlot's legend, without the x series). */
  series: string[];
  /** Pixels that are not fully transparent: axes, grid, lines, shading. 0 = a blank canvas. */
  paintedPixels: number;
  /** Opaque pixels in one of the series' stroke colours (the plotted lines). */
  linePixels: number;
  /**
   * Canvas columns (device px) mostly covered by faint red: the total width of the fault-window shading drawn.
   * Columns, not pixels, so that the anti-aliased edges of a red series line do not count.
   */
  shadedColumns: number;
}

/** What a report looked like in the browser. */
export interface PageSeen {
  title: string;
  /** console.error messages (and console messages of type "assert"). */
  consoleErrors: string[];
  /** Uncaught exceptions and unhandled rejections of the page's scripts. */
  pageErrors: string[];
  /** Requests to anything but the file itself (a self-contained report makes none); all were refused. */
  externalRequests: string[];
  charts: ChartSeen[];
  /** Names on the fault-window list under "Faults" (`data-fault-window`). */
  faultWindows: string[];
  /** Section headings (h2), in order. */
  sections: string[];
  /** The plan as printed in the footer (its JSON), or undefined when there is none. */
  plan: string | undefined;
  /** Rows of the versions table: name → value. */
  versions: Record<string, string>;
}

export interface ScreenshotOptions {
  /** Viewport width in CSS px (default 1280). */
  width?: number;
  /** Cut the picture at the bottom of the first element matching this selector (default: the whole page). */
  until?: string;
}

export interface ReportBrowser extends AsyncDisposable {
  /** As the browser reports it, e.g. "Chrome/156.0.8078.79". */
  readonly version: string;
  inspect(file: string): Promise<PageSeen>;
  /** Writes a PNG of the report to `out`. */
  screenshot(
    file: string,
    out: string,
    options?: ScreenshotOptions,
  ): Promise<{ width: number; height: number }>;
  close(): Promise<void>;
}

export interface BrowserOptions {
  /** The browser (default: `findChromium(env)`). */
  executablePath?: string;
  env?: NodeJS.ProcessEnv;
  /** For launching and for each page load (default 30 000 ms). */
  timeoutMs?: number;
}

/** Headless, no sandbox (root in a container), no GPU, no /dev/shm (small in containers), no network chatter. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--disable-background-networking",
  "--no-first-run",
];

const VIEWPORT = { width: 1280, height: 900, deviceScaleFactor: 1 };

export async function openBrowser(options: BrowserOptions = {}): Promise<ReportBrowser> {
  const env = options.env ?? process.env;
  const timeout = options.timeoutMs ?? 30_000;
  const found = options.executablePath ?? findChromium(env).path;
  if (!found)
    throw new BrowserError(`no Chromium found (${findChromium(env).searched.join(", ")}): ${INSTALL}`);
  const { launch } = await import("puppeteer-core");
  let browser: Browser;
  try {
    browser = await launch({
      executablePath: found,
      headless: true,
      args: CHROMIUM_ARGS,
      pipe: true, // DevTools over a pipe: no debugging port is opened
      timeout,
      protocolTimeout: timeout,
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    });
  } catch (error) {
    throw new BrowserError(`${found} did not start: ${(error as Error).message}`);
  }
  const version = await browser.version();

  /** Opens `file` in a fresh page with the listeners that record what goes wrong. */
  async function load(file: string, width: number) {
    const page = await browser.newPage();
    const seen = {
      consoleErrors: [] as string[],
      pageErrors: [] as string[],
      externalRequests: [] as string[],
    };
    page.on("console", (message) => {
      if (message.type() === "error" || message.type() === "assert") seen.consoleErrors.push(message.text());
    });
    page.on("pageerror", (error) => {
      seen.pageErrors.push(error instanceof Error ? (error.stack ?? error.message) : String(error));
    });
    await page.setRequestInterception(true);
    const self = pathToFileURL(file).href;
    page.on("request", (request) => {
      const url = request.url();
      if (url === self || url.startsWith("data:") || url.startsWith("blob:")) void request.continue();
      else {
        seen.externalRequests.push(url);
        void request.abort("blockedbyclient");
      }
    });
    await page.setViewport({ ...VIEWPORT, width });
    try {
      await page.goto(self, { waitUntil: "load", timeout });
    } catch (error) {
      await page.close();
      throw new BrowserError(`${file}: did not load: ${(error as Error).message}`);
    }
    // uPlot commits its first draw in a microtask; two frames later everything is on the canvases.
    await page.evaluate(
      "new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))",
    );
    return { page, seen };
  }

  async function inspect(file: string): Promise<PageSeen> {
    const { page, seen } = await load(file, VIEWPORT.width);
    try {
      const drawn = (await page.evaluate(PROBE)) as Omit<PageSeen, keyof typeof seen>;
      return { ...drawn, ...seen };
    } finally {
      await page.close();
    }
  }

  async function screenshot(file: string, out: string, opts: ScreenshotOptions = {}) {
    const width = opts.width ?? VIEWPORT.width;
    const { page, seen } = await load(file, width);
    try {
      const problems = [...seen.pageErrors, ...seen.consoleErrors];
      if (problems.length > 0)
        throw new BrowserError(`${file}: the page reported errors: ${problems.join("; ")}`);
      const height = await pageHeight(page, opts.until);
      const png = await page.screenshot({
        type: "png",
        clip: { x: 0, y: 0, width, height },
        captureBeyondViewport: true,
      });
      writeFileSync(out, png);
      return { width, height };
    } finally {
      await page.close();
    }
  }

  const close = () => browser.close();
  return { version, inspect, screenshot, close, [Symbol.asyncDispose]: close };
}

/** What is wrong with a report as seen: errors, outside requests, charts not drawn, shading or footer missing. */
export function reportProblems(seen: PageSeen): string[] {
  const problems = [
    ...seen.pageErrors.map((e) => `page error: ${e}`),
    ...seen.consoleErrors.map((e) => `console error: ${e}`),
    ...seen.externalRequests.map((url) => `request outside the file: ${url}`),
  ];
  if (seen.charts.length === 0) problems.push("no charts");
  for (const chart of seen.charts) {
    if (chart.noData) continue;
    if (!chart.canvas) problems.push(`chart ${chart.id}: no canvas`);
    else if (chart.paintedPixels === 0) problems.push(`chart ${chart.id}: blank canvas`);
    else if (chart.linePixels === 0) problems.push(`chart ${chart.id}: no series line drawn`);
  }
  const drawn = seen.charts.filter((c) => c.canvas);
  if (seen.faultWindows.length > 0 && drawn.length > 0 && drawn.every((c) => c.shadedColumns === 0)) {
    problems.push(`fault windows ${seen.faultWindows.join(", ")} listed but shaded on no chart`);
  }
  if (seen.plan === undefined) problems.push("no plan in the footer");
  if (Object.keys(seen.versions).length === 0) problems.push("no versions table in the footer");
  return problems;
}

/** Opens a browser, inspects one report, closes the browser. */
export async function inspectReport(file: string, options: BrowserOptions = {}): Promise<PageSeen> {
  await using browser = await openBrowser(options);
  return await browser.inspect(file);
}

async function pageHeight(page: Page, until: string | undefined): Promise<number> {
  const expression =
    until === undefined
      ? "document.documentElement.scrollHeight"
      : `(() => { const el = document.querySelector(${JSON.stringify(until)}); ` +
        "return el ? Math.ceil(el.getBoundingClientRect().bottom + window.scrollY + 16) : -1; })()";
  const height = (await page.evaluate(expression)) as number;
  if (height < 0) throw new BrowserError(`no element matches ${until}`);
  return height;
}

// Runs in the page (a string: the harness compiles without DOM types). Reads the DOM and every chart's canvas.
const PROBE = `(() => {
  const text = (el) => (el ? el.textContent.trim() : "");
  // a series colour as [r, g, b]; undefined when transparent (nothing of it can be on the canvas)
  const rgb = (css) => {
    const m = /rgba?\\(([^)]+)\\)/.exec(css || "");
    const c = m ? m[1].split(",").map(Number) : [];
    return c.length >= 3 && (c.length < 4 || c[3] > 0) ? c.slice(0, 3) : undefined;
  };
  const near = (px, i, c) => Math.abs(px[i] - c[0]) + Math.abs(px[i + 1] - c[1]) + Math.abs(px[i + 2] - c[2]) <= 60;
  const charts = [...document.querySelectorAll(".chart")].map((box) => {
    const canvas = box.querySelector("canvas");
    const rows = [...box.querySelectorAll(".u-legend .u-series")].slice(1);
    const series = rows.map((row) => text(row.querySelector(".u-label")));
    const colours = rows.map((row) => rgb(getComputedStyle(row.querySelector(".u-marker") || row).borderColor)).filter(Boolean);
    let painted = 0, line = 0, shaded = 0;
    if (canvas) {
      const { width, height } = canvas;
      const px = canvas.getContext("2d").getImageData(0, 0, width, height).data;
      const faintRed = new Array(width).fill(0);
      for (let i = 0; i < px.length; i += 4) {
        const a = px[i + 3];
        if (a === 0) continue;
        painted++;
        if (a >= 200 && colours.some((c) => near(px, i, c))) line++;
        else if (a < 80 && px[i] > px[i + 1] + 60 && px[i] > px[i + 2] + 60) faintRed[(i / 4) % width]++;
      }
      shaded = faintRed.filter((n) => n >= height / 3).length;
    }
    return {
      id: box.id.replace(/^chart-/, ""),
      title: text(box.querySelector("h3")),
      noData: [...box.querySelectorAll(".note")].some((n) => text(n) === "no data"),
      canvas: canvas ? { width: canvas.width, height: canvas.height } : undefined,
      series,
      paintedPixels: painted,
      linePixels: line,
      shadedColumns: shaded,
    };
  });
  const versions = {};
  const versionsHeading = [...document.querySelectorAll("footer h2")].find((h) => text(h) === "Versions");
  const table = versionsHeading && versionsHeading.nextElementSibling;
  if (table) for (const row of table.querySelectorAll("tr")) {
    const cells = row.querySelectorAll("td");
    if (cells.length === 2) versions[text(cells[0])] = text(cells[1]);
  }
  const plan = document.querySelector("footer pre");
  return {
    title: document.title,
    charts,
    faultWindows: [...document.querySelectorAll("[data-fault-window]")].map((el) => el.getAttribute("data-fault-window")),
    sections: [...document.querySelectorAll("h2")].map(text),
    plan: plan ? plan.textContent : undefined,
    versions,
  };
})()`;
