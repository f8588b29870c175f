import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { pinnedVersions, REPO_ROOT } from "../shared/repo.ts";

// Image names, from scripts/versions.env (the file scripts/images.sh builds them from).
const versions = pinnedVersions();
export const TOXIPROXY_IMAGE = process.env.POSSTORM_TOXIPROXY_IMAGE || versions.TOXIPROXY_IMAGE!;
export const NODE_IMAGE = process.env.POSSTORM_NODE_IMAGE || versions.NODE_IMAGE!;
export const LAB_IMAGE = process.env.POSSTORM_LAB_IMAGE || versions.LAB_IMAGE!;

/** The lab programs and their entry points; the lab image holds each bundled as /app/<name>.mjs. */
export const LAB_PROGRAMS = ["switch", "hsm", "issuer"] as const;
export type LabProgram = (typeof LAB_PROGRAMS)[number];

export const programEntry = (program: LabProgram) => join(REPO_ROOT, "harness", "sim", program, "main.ts");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts") && !/\.(test|bench)\.ts$/.test(e.name))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/**
 * Digest of everything bundled into the lab image (the simulators and the codec they use) and of the
 * base image it is built on. The image records it as POSSTORM_INPUTS; a mismatch means a stale image.
 */
export function labInputsDigest(): string {
  const hash = createHash("sha256");
  hash.update(NODE_IMAGE);
  for (const dir of ["harness/sim", "harness/protocol"]) {
    for (const file of sourceFiles(join(REPO_ROOT, dir))) {
      hash.update(relative(REPO_ROOT, file));
      hash.update(readFileSync(file));
    }
  }
  return hash.digest("hex").slice(0, 16);
}
