import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

// The house: harness/ is split into rooms (its top-level folders), and a room imports only the rooms below
// it. ROOMS lists them from the bottom up; `importViolations` reads every .ts file's relative imports (static,
// re-exports and dynamic) and names each one that runs upward or sideways. `testing/` helpers follow the rule;
// test files (*.test.ts) may import any room, since a room's integration tests drive the rooms above it (the
// chaos tests start Toxiproxy with the lab's code). harness/shared/rooms.test.ts runs it in `npm test`.

/** From the bottom up: each room may import itself and the rooms before it, nothing else. */
export const ROOMS = [
  "shared", // the repository, tools, programs, shutdown, Prometheus text, check results
  "protocol", // ISO 8583 and its crypto; no Node APIs
  "sim", // the lab programs (switch, HSM, issuers)
  "fleet", // the fleet engine and the run plan's fleet and terminal settings
  "chaos", // faults, links, the timeline, Toxiproxy and the kernel
  "slo", // SLO definitions and their validation
  "run-folder", // a run folder's file names, shapes, reads and writes
  "lab", // starting and stopping the lab
  "report", // aggregation, evaluation, rendering
  "profile", // profiles and their compilation into a run
  "doctor", // prerequisite checks
  "run", // one run: plan → lab up → fleet and timeline → collect → report
  "timeouts", // the timeout chain: its static check and the matrix of runs
  "capacity", // the capacity search: steps of runs up to the rate where an SLO breaks
  "export", // a profile's fleet for other engines: Kubernetes manifests of agent pods
  "cli", // commands
] as const;

export type Room = (typeof ROOMS)[number];

export interface Violation {
  file: string;
  imports: string;
  text: string;
}

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s[^;]*?\sfrom\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g;

/** Relative import specifiers of a TypeScript source. */
export function importsOf(source: string): string[] {
  const found: string[] = [];
  for (const m of source.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2]!;
    if (spec.startsWith(".")) found.push(spec);
  }
  return found;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return tsFiles(path);
    return name.endsWith(".ts") && !name.endsWith(".test.ts") ? [path] : [];
  });
}

/** Every import under `harnessDir` that leaves its room for a room not below it (or for no room). */
export function importViolations(harnessDir: string): Violation[] {
  const rank = new Map<string, number>(ROOMS.map((room, i) => [room, i]));
  const roomOf = (path: string) => relative(harnessDir, path).split("/")[0]!;
  const violations: Violation[] = [];
  for (const file of tsFiles(harnessDir)) {
    const from = roomOf(file);
    const own = rank.get(from);
    const rel = relative(harnessDir, file);
    if (own === undefined) {
      violations.push({ file: rel, imports: "", text: `${rel} is in no room (ROOMS: ${ROOMS.join(", ")})` });
      continue;
    }
    for (const spec of importsOf(readFileSync(file, "utf8"))) {
      const target = resolve(dirname(file), spec);
      const inside = !relative(harnessDir, target).startsWith("..");
      const to = inside ? roomOf(target) : undefined;
      const theirs = to === undefined ? undefined : rank.get(to);
      if (theirs !== undefined && theirs <= own) continue;
      const where = relative(harnessDir, target);
      violations.push({
        file: rel,
        imports: where,
        text:
          theirs === undefined
            ? `${rel} imports ${spec}, outside every room`
            : `${rel} imports ${where}: ${from} may import only ${ROOMS.slice(0, own + 1).join(", ")}`,
      });
    }
  }
  return violations;
}
