import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { SYSTEM_TOOL_PACKAGE } from "../chaos/kernel.ts";
import { EXTERNAL_PROGRAMS, parseSystemDebs } from "./programs.ts";
import { pinnedVersions, REPO_ROOT } from "./repo.ts";

// The programs posstorm's code runs, read from the sources (tests and benchmarks included: CI runs them too),
// against what setup installs and what `posstorm doctor` checks (harness/shared/programs.ts).

/** Files that run a command handed to them, not one of their own choosing. */
const PASS_THROUGH: Record<string, string> = {
  "harness/lab/runtime/guard.ts": "runs the lab program that runtime/local.ts names",
};

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === "node_modules" || name.startsWith(".")) return [];
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith(".ts") ? [path] : [];
  });
}

const CALL = /(?<![.\w])(?:spawn|spawnSync|execFile|execFileSync|execSync|exec)\(\s*([^,)\n]+)/g;
const PROMISIFIED = /promisify\((?:execFile|exec)\)\(\s*([^,)\n]+)/g;
const LOOKUP = /\b(?:findTool|findSystemTool|requireTool)\(\s*"([^"]+)"/g;

/** The project's own entry points (bin/posstorm), directly or through a constant. */
const ownEntryPoint = (arg: string, text: string) =>
  /^join\((REPO_ROOT|repo)\b/.test(arg) ||
  (/^\w+$/.test(arg) && new RegExp(`const ${arg} = join\\((REPO_ROOT|repo)\\b`).test(text));

interface Found {
  /** program → files that run it. */
  programs: Map<string, Set<string>>;
  /** Calls whose program cannot be told from the file. */
  unknown: string[];
}

function scan(): Found {
  const programs = new Map<string, Set<string>>();
  const unknown: string[] = [];
  const add = (program: string, file: string) => {
    const name = program.split("/").pop()!;
    if (!programs.has(name)) programs.set(name, new Set());
    programs.get(name)!.add(file);
  };
  for (const path of ["harness", "bench", "scripts"].flatMap((dir) => sources(join(REPO_ROOT, dir)))) {
    const file = relative(REPO_ROOT, path);
    if (file === "harness/shared/programs.test.ts") continue;
    const text = readFileSync(path, "utf8");
    const lookups = [...text.matchAll(LOOKUP)].map((m) => m[1]!);
    if (/\bfindChromium\(/.test(text)) lookups.push("chromium");
    for (const program of lookups) add(program, file);
    for (const match of [...text.matchAll(CALL), ...text.matchAll(PROMISIFIED)]) {
      const arg = match[1]!.trim();
      const literal = /^["'`]([^"'`$]+)["'`]$/.exec(arg)?.[1];
      if (literal) add(literal, file);
      else if (arg === "process.execPath") add("node", file);
      else if (ownEntryPoint(arg, text)) continue;
      else if (lookups.length === 0 && !(file in PASS_THROUGH)) {
        const line = text.slice(0, match.index).split("\n").length;
        unknown.push(`${file}:${line} runs \`${arg}\`, and the file looks up no program by name`);
      }
    }
  }
  return { programs, unknown };
}

describe("every program the code runs is installed by setup and checked by doctor", () => {
  const found = scan();

  it("finds the programs it knows the code runs (the scan itself works)", () => {
    expect([...found.programs.keys()]).toEqual(expect.arrayContaining(["nft", "ss", "docker", "node"]));
    expect([...found.programs.get("nft")!]).toContain("harness/chaos/kernel.ts");
  });

  it("each call's program can be told from its file", () => {
    expect(found.unknown).toEqual([]);
  });

  it("each program run is listed in harness/shared/programs.ts, and each listed one is run", () => {
    const listed = new Set(EXTERNAL_PROGRAMS.map((p) => p.program));
    const unlisted = [...found.programs]
      .filter(([program]) => !listed.has(program))
      .map(([program, files]) => `${program} (run by ${[...files].join(", ")})`);
    expect(unlisted, "programs the code runs that setup may not install").toEqual([]);
    const unused = [...listed].filter((program) => !found.programs.has(program));
    expect(unused, "listed programs nothing runs").toEqual([]);
  });

  it("setup installs each one: a pinned Debian package in SYSTEM_DEBS, or a script setup.sh runs", () => {
    const debs = parseSystemDebs(pinnedVersions().SYSTEM_DEBS);
    const setup = readFileSync(join(REPO_ROOT, "scripts/setup.sh"), "utf8");
    expect(setup).toContain('bash "$scripts/system.sh"');
    for (const entry of EXTERNAL_PROGRAMS) {
      if ("debian" in entry.provided) {
        if (entry.provided.essential) continue;
        expect(
          debs.get(entry.provided.debian),
          `${entry.program}: ${entry.provided.debian} in SYSTEM_DEBS`,
        ).toMatch(/^\d[\w.+~:-]*$/);
      } else {
        const script = entry.provided.script;
        expect(existsSync(join(REPO_ROOT, script)), script).toBe(true);
        expect(setup, `setup.sh runs ${script}`).toContain(
          `bash "$scripts/${script.replace("scripts/", "")}"`,
        );
      }
    }
    for (const [program, pkg] of Object.entries(SYSTEM_TOOL_PACKAGE)) {
      expect(EXTERNAL_PROGRAMS.find((p) => p.program === program)?.provided).toEqual({ debian: pkg });
    }
  });

  it("posstorm doctor has a check for each one", async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(REPO_ROOT, "harness/cli/main.ts"), "doctor", "--json"],
      { timeout: 30_000 },
    ).catch((error: { stdout: string }) => error);
    const names = (JSON.parse(stdout) as { name: string }[]).map((line) => line.name);
    for (const entry of EXTERNAL_PROGRAMS) {
      if (entry.doctor === undefined) continue;
      expect(names, `doctor check for ${entry.program}`).toContain(entry.doctor);
    }
  });
});
