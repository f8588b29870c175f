import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../shared/repo.ts";
import { findTool, toolsDir } from "../shared/tools.ts";

// `posstorm export k8s` as a user runs it, and what it writes decoded by the Kubernetes API's own Go types:
// scripts/k8s-check (built by setup: scripts/build-k8s-check.sh) decodes each file strictly, so a field the API
// does not know, a duplicate or a value of the wrong type fails, and checks the Job and Service invariants.

const k8sCheck = findTool("k8s-check").path ?? join(toolsDir(), "bin", "k8s-check");
const run = promisify(execFile);

interface Exit {
  code: number;
  stdout: string;
  stderr: string;
}

async function exitOf(promise: Promise<{ stdout: string; stderr: string }>): Promise<Exit> {
  try {
    return { code: 0, ...(await promise) };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

const check = (...files: string[]) => exitOf(run(k8sCheck, files));

// biome-ignore lint/suspicious/noExplicitAny: a manifest read back as plain JSON, to be broken on purpose.
type Json = any;

let out: string;
let cli: Exit;
beforeAll(async () => {
  expect(existsSync(k8sCheck), `${k8sCheck} missing: run bash scripts/build-k8s-check.sh`).toBe(true);
  out = join(mkdtempSync(join(tmpdir(), "posstorm-k8s-")), "manifests");
  cli = await exitOf(
    run(
      join(REPO_ROOT, "bin/posstorm"),
      ["export", "k8s", "smoke", "--segments", "3", "--target", "127.0.0.1:9000", "--out", out],
      { cwd: mkdtempSync(join(tmpdir(), "posstorm-k8s-cwd-")) },
    ),
  );
});

/** job.yaml as written, changed by `edit`, in a file of its own; returns its path. */
function editedJob(name: string, edit: (job: Json) => void): string {
  const job = JSON.parse(readFileSync(join(out, "job.yaml"), "utf8"));
  edit(job);
  const file = join(out, "..", name);
  writeFileSync(file, `${JSON.stringify(job, null, 2)}\n`);
  return file;
}

describe("posstorm export k8s smoke --segments 3", () => {
  it("writes three manifests and prints kubectl apply and the coordinator's command", () => {
    expect(cli.code, cli.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual(["configmap.yaml", "job.yaml", "service.yaml"]);
    expect(cli.stdout).toContain(`kubectl apply -f ${out}`);
    expect(cli.stdout).toContain(
      "posstorm run smoke --agents posstorm-smoke-0.posstorm-smoke:7070,posstorm-smoke-1.posstorm-smoke:7070,posstorm-smoke-2.posstorm-smoke:7070",
    );
  });

  it("every file decodes strictly into the Kubernetes API's types and keeps the invariants", async () => {
    const files = readdirSync(out).map((name) => join(out, name));
    const result = await check(...files);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim().split("\n").sort()).toEqual([
      `${join(out, "configmap.yaml")}: ok (ConfigMap posstorm-smoke-plan)`,
      `${join(out, "job.yaml")}: ok (Job posstorm-smoke)`,
      `${join(out, "service.yaml")}: ok (Service posstorm-smoke)`,
    ]);
  });

  it("an unknown field fails, named by its path", async () => {
    const file = editedJob("unknown-field.yaml", (job) => {
      job.spec.template.spec.containers[0].imagePullPolicyy = "IfNotPresent";
    });
    const result = await check(file);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `${file}: Job posstorm-smoke: unknown field "spec.template.spec.containers[0].imagePullPolicyy"`,
    );
  });

  it("a misspelled field fails: the field it names is unknown, the one it meant is missing", async () => {
    const file = editedJob("misspelled.yaml", (job) => {
      job.spec.completionMod = job.spec.completionMode;
      delete job.spec.completionMode;
    });
    const result = await check(file);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('unknown field "spec.completionMod"');
    expect(result.stderr).toContain("spec.completionMode: missing, want Indexed");
  });

  it("a value of the wrong type fails, naming the field", async () => {
    const file = editedJob("wrong-type.yaml", (job) => {
      job.spec.completions = "three";
    });
    const result = await check(file);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`${file}: Job: .*spec\\.completions.*int32`));
  });

  it("a duplicate field and a Job that would rerun a failed segment fail", async () => {
    const duplicate = join(out, "..", "duplicate.yaml");
    writeFileSync(
      duplicate,
      readFileSync(join(out, "job.yaml"), "utf8").replace(
        '"completions": 3,',
        '"completions": 3,\n    "completions": 3,',
      ),
    );
    const retrying = editedJob("retrying.yaml", (job) => {
      job.spec.backoffLimitPerIndex = 2;
    });
    const result = await check(duplicate, retrying);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/duplicate\.yaml: Job posstorm-smoke: .*"completions"/);
    expect(result.stderr).toContain(
      `${retrying}: Job posstorm-smoke: spec.backoffLimitPerIndex: 2, want 0 (a failed segment is never rerun)`,
    );
  });
});
