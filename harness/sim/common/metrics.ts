// A small Prometheus registry: counters, gauges and histograms with labels, rendered in the text
// exposition format (version 0.0.4). Enough for the simulators' /metrics; no dependency.

type Labels = Record<string, string>;

const key = (labels: Labels) =>
  Object.keys(labels)
    .sort()
    .map(
      (k) => `${k}="${String(labels[k]).replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`,
    )
    .join(",");

interface Family {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  render(): string[];
}

export class Counter {
  readonly #values = new Map<string, number>();
  inc(labels: Labels = {}, by = 1): void {
    const k = key(labels);
    this.#values.set(k, (this.#values.get(k) ?? 0) + by);
  }
  get(labels: Labels = {}): number {
    return this.#values.get(key(labels)) ?? 0;
  }
  /** Sum over every label set. */
  total(): number {
    let sum = 0;
    for (const v of this.#values.values()) sum += v;
    return sum;
  }
  entries(): [string, number][] {
    return [...this.#values.entries()];
  }
}

export class Gauge {
  readonly #values = new Map<string, number | (() => number)>();
  set(value: number, labels: Labels = {}): void {
    this.#values.set(key(labels), value);
  }
  /** The value is read from `read` each time the metrics are rendered. */
  track(read: () => number, labels: Labels = {}): void {
    this.#values.set(key(labels), read);
  }
  inc(labels: Labels = {}, by = 1): void {
    const k = key(labels);
    const current = this.#values.get(k);
    this.#values.set(k, (typeof current === "number" ? current : 0) + by);
  }
  dec(labels: Labels = {}, by = 1): void {
    this.inc(labels, -by);
  }
  get(labels: Labels = {}): number {
    const v = this.#values.get(key(labels));
    return typeof v === "function" ? v() : (v ?? 0);
  }
  entries(): [string, number][] {
    return [...this.#values.entries()].map(([k, v]) => [k, typeof v === "function" ? v() : v]);
  }
}

/** Default latency buckets, in seconds: 1 ms … 120 s. */
export const LATENCY_BUCKETS_S = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120,
];

export class Histogram {
  readonly buckets: number[];
  readonly #series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(buckets: number[]) {
    this.buckets = [...buckets].sort((a, b) => a - b);
  }
  observe(value: number, labels: Labels = {}): void {
    const k = key(labels);
    let s = this.#series.get(k);
    if (!s) {
      s = { counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 };
      this.#series.set(k, s);
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }
  count(labels: Labels = {}): number {
    return this.#series.get(key(labels))?.count ?? 0;
  }
  series(): [string, { counts: number[]; sum: number; count: number }][] {
    return [...this.#series.entries()];
  }
}

const withLabels = (name: string, k: string, extra?: string) => {
  const all = [k, extra].filter(Boolean).join(",");
  return all ? `${name}{${all}}` : name;
};

export class Registry {
  readonly #families: Family[] = [];

  counter(name: string, help: string): Counter {
    const c = new Counter();
    this.#families.push({
      name,
      help,
      type: "counter",
      render: () => c.entries().map(([k, v]) => `${withLabels(name, k)} ${v}`),
    });
    return c;
  }

  /** A counter another source keeps (a process's CPU time), read each time the metrics are rendered. */
  readCounter(name: string, help: string, read: () => number): void {
    this.#families.push({ name, help, type: "counter", render: () => [`${name} ${read()}`] });
  }

  gauge(name: string, help: string): Gauge {
    const g = new Gauge();
    this.#families.push({
      name,
      help,
      type: "gauge",
      render: () => g.entries().map(([k, v]) => `${withLabels(name, k)} ${v}`),
    });
    return g;
  }

  histogram(name: string, help: string, buckets = LATENCY_BUCKETS_S): Histogram {
    const h = new Histogram(buckets);
    this.#families.push({
      name,
      help,
      type: "histogram",
      render: () =>
        h
          .series()
          .flatMap(([k, s]) => [
            ...h.buckets.map((b, i) => `${withLabels(`${name}_bucket`, k, `le="${b}"`)} ${s.counts[i]}`),
            `${withLabels(`${name}_bucket`, k, 'le="+Inf"')} ${s.count}`,
            `${withLabels(`${name}_sum`, k)} ${s.sum}`,
            `${withLabels(`${name}_count`, k)} ${s.count}`,
          ]),
    });
    return h;
  }

  render(): string {
    const lines: string[] = [];
    for (const f of this.#families) {
      lines.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`, ...f.render());
    }
    return `${lines.join("\n")}\n`;
  }
}
