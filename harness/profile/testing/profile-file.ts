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
