import { runInNewContext } from "node:vm";

// Checks of report.html without a browser: what it links to, and what its script does against a stand-in
// DOM and a stand-in uPlot that records each chart and runs the fault-shading hook on a recording canvas.

/** src/href/url(...) values that point outside the file. */
export function externalReferences(html: string): string[] {
  const refs = [
    ...html.matchAll(/\b(?:src|href)\s*=\s*["']?([^"'\s>]+)/gi),
    ...html.matchAll(/url\(\s*["']?([^"')]+)/gi),
    ...html.matchAll(/@import\s+["']([^"']+)/gi),
  ].map((m) => m[1]!);
  return refs.filter(
    (ref) => /^(?:https?:)?\/\//i.test(ref) || /^[a-z]+:/i.test(ref.replace(/^data:.*/, "")),
  );
}

export interface DrawnChart {
  id: string;
  title: string;
  seriesLabels: string[];
  rows: number;
  /** Rectangles the plugin drew when asked to draw (fault windows). */
  shaded: { x: number; width: number }[];
}

/** Runs the report's inline scripts (the last <script> is posstorm's) with uPlot replaced by a recorder. */
export function drawCharts(html: string): DrawnChart[] {
  const data = /<script id="posstorm-data" type="application\/json">([\s\S]*?)<\/script>/.exec(html)?.[1];
  if (data === undefined) throw new Error("no posstorm-data script");
  const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
  const client = scripts[scripts.length - 1]!;
  const drawn: DrawnChart[] = [];
  const elements = new Map<string, { id: string }>();
  const element = (id: string) => {
    if (id === "posstorm-data") return { textContent: data };
    if (!html.includes(`id="${id}"`)) return null;
    const el = elements.get(id) ?? { id, querySelector: () => ({ clientWidth: 900, parent: id }) };
    elements.set(id, el);
    return el;
  };
  class FakeUPlot {
    constructor(
      opts: {
        series: { label: string }[];
        plugins: { hooks: { drawClear: ((u: unknown) => void)[] } }[];
      },
      rows: unknown[][],
      box: { parent: string },
    ) {
      const shaded: { x: number; width: number }[] = [];
      const ctx = {
        save() {},
        restore() {},
        fillText() {},
        fillRect(x: number, _y: number, width: number) {
          shaded.push({ x, width });
        },
        fillStyle: "",
        font: "",
      };
      const u = {
        ctx,
        bbox: { left: 0, top: 0, width: 10_000, height: 200 },
        valToPos: (v: number) => v * 10,
      };
      for (const plugin of opts.plugins) for (const hook of plugin.hooks.drawClear) hook(u);
      const id = box.parent.replace(/^chart-/, "");
      drawn.push({
        id,
        title: "",
        seriesLabels: opts.series.slice(1).map((s) => s.label),
        rows: rows.length,
        shaded,
      });
    }
    setSize() {}
  }
  runInNewContext(client, {
    document: { getElementById: element },
    window: { addEventListener() {}, devicePixelRatio: 1 },
    uPlot: FakeUPlot,
    JSON,
    Math,
    setTimeout,
    clearTimeout,
  });
  return drawn;
}
