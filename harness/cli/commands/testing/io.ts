import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// Shared by the command tests (report, compare): captured output and a minimal profile with given SLOs.

/** An `io` that keeps what a command prints, line by line. */
export const capture = () => {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) } };
};

/** A one-terminal profile file whose `slos` is the given source text, with a p50 compare threshold of 50 %. */
export function profileWith(slos: string): string {
  const file = join(mkdtempSync(join(tmpdir(), "posstorm-profile-")), "p.ts");
  writeFileSync(
    file,
    `export default { name: "p", durationS: 10, fleet: { model: "population", terminals: 1, vus: 1,
       signIn: { curve: "uniform", windowS: 1 }, purchases: { perTerminal: 1, thinkTimeS: { mean: 0, jitter: 0 } } },
       slos: ${slos}, compare: { maxRegressionPct: { p50: 50 } } };\n`,
  );
  return file;
}
