// Where the repository is, and the pinned versions of scripts/versions.env (the file the setup
// scripts read), for Node code that needs either.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** KEY=VALUE lines of scripts/versions.env. */
export function pinnedVersions(): Record<string, string> {
  const text = readFileSync(join(REPO_ROOT, "scripts", "versions.env"), "utf8");
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match) out[match[1]!] = match[2]!.replace(/^"(.*)"$/, "$1");
  }
  return out;
}
