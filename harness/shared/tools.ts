import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { REPO_ROOT } from "./repo.ts";

/** The project-local tools folder (Node, toxiproxy-server): $POSSTORM_TOOLS or <repo>/.tools. */
export function toolsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.POSSTORM_TOOLS || join(REPO_ROOT, ".tools");
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface ToolLookup {
  /** The executable found, or undefined. */
  path: string | undefined;
  /** Every place looked at, in order, for the error message. */
  searched: string[];
}

/**
 * Finds a tool the way posstorm runs it: an explicit override variable, then the tools folder,
 * then PATH.
 */
export function findTool(
  name: string,
  opts: { overrideVar?: string; subdir?: string; env?: NodeJS.ProcessEnv } = {},
): ToolLookup {
  const env = opts.env ?? process.env;
  const searched: string[] = [];
  const override = opts.overrideVar ? env[opts.overrideVar] : undefined;
  if (override) {
    searched.push(`$${opts.overrideVar}=${override}`);
    return { path: executable(override) ? override : undefined, searched };
  }
  if (opts.overrideVar) searched.push(`$${opts.overrideVar} (unset)`);
  const local = join(toolsDir(env), opts.subdir ?? "bin", name);
  searched.push(local);
  if (executable(local)) return { path: local, searched };
  for (const dir of (env.PATH ?? "").split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    if (executable(candidate)) return { path: candidate, searched: [...searched, "PATH"] };
  }
  searched.push("PATH");
  return { path: undefined, searched };
}
