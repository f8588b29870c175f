// Prometheus text exposition as data: what the lab programs serve (sim/common/metrics.ts renders it) and the
// report, the lab's tests and the benchmarks read. No Node APIs, so the lab programs' bundles can carry it.

/** Parses Prometheus text into `name{labels}` → value (for tests and scrapers). */
export function parsePrometheus(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}
