import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadProfile } from "../profile/compile.ts";
import { REPO_ROOT } from "../shared/repo.ts";
import { type K8sExport, type K8sExportOptions, k8sManifests } from "./k8s.ts";

// `posstorm export k8s`: the profile loaded and compiled as `posstorm run` does, its manifests (k8s.ts) written
// into one folder, one file per object.

export interface ExportK8sOptions extends Omit<K8sExportOptions, "version" | "profileArg"> {
  /** A name under profiles/ or a path. */
  profile: string;
  /** The folder to write (created); default k8s/<name> under the current directory. */
  out?: string;
}

export interface ExportK8sResult extends K8sExport {
  /** The folder written. */
  dir: string;
  /** The files written, full paths, in `files` order. */
  paths: string[];
}

export async function exportK8s(options: ExportK8sOptions): Promise<ExportK8sResult> {
  const { profile, out, ...rest } = options;
  const { compiled } = await loadProfile(profile);
  const manifests = k8sManifests(compiled, { ...rest, version: packageVersion(), profileArg: profile });
  const dir = resolve(out ?? join("k8s", manifests.name));
  mkdirSync(dir, { recursive: true });
  const paths = manifests.files.map((file) => {
    const path = join(dir, file.name);
    writeFileSync(path, file.text);
    return path;
  });
  return { ...manifests, dir, paths };
}

/** posstorm's version, from package.json. */
export function packageVersion(): string {
  const { version } = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
    version?: unknown;
  };
  if (typeof version !== "string" || version === "") throw new Error("package.json has no version");
  return version;
}
