import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../../shared/repo.ts";

// A profile file for a test: `body` is the object given to defineProfile, as TypeScript source; the file goes
// into a folder of its own under the system's temporary directory.

const define = JSON.stringify(join(REPO_ROOT, "harness/profile/define.ts"));

export function profileFile(name: string, body: string): string {
  const file = join(mkdtempSync(join(tmpdir(), "posstorm-profile-")), `${name}.ts`);
  writeFileSync(file, `import { defineProfile } from ${define};\nexport default defineProfile(${body});\n`);
  return file;
}

/**
 * A population-model profile on the local lab for a test: `terminals` sign in over 1 s, then each buys
 * `perTerminal` times, every `thinkS` seconds (default 0.3). `terminal` and `switch` are settings as source
 * (`responseTimeoutMs: 2000`); `more` adds top-level keys (`chaos: […], slos: […]`).
 */
export function localProfile(
  name: string,
  o: {
    durationS: number;
    terminals: number;
    perTerminal: number;
    thinkS?: number;
    terminal?: string;
    switch?: string;
    more?: string;
  },
): string {
  return profileFile(
    name,
    `{
      name: "${name}",
      durationS: ${o.durationS},
      lab: { runtime: "local", switch: { ${o.switch ?? ""} } },
      terminal: { ${o.terminal ?? ""} },
      fleet: { model: "population", terminals: ${o.terminals}, signIn: { curve: "uniform", windowS: 1 },
               purchases: { perTerminal: ${o.perTerminal}, thinkTimeS: { mean: ${o.thinkS ?? 0.3}, jitter: 0 } } },
      ${o.more ?? ""}
    }`,
  );
}
