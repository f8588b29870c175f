// Builds the lab image: the Node image plus the switch, HSM and issuer simulators, each bundled with
// esbuild into one file /app/<program>.mjs. Nothing is pulled: the base is the locally imported Node
// image. Skipped when the image already records the digest of the current sources.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { LAB_IMAGE, LAB_PROGRAMS, labInputsDigest, NODE_IMAGE, programEntry } from "../harness/lab/images.ts";

const docker = (...args: string[]) =>
  execFileSync("docker", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
const log = (line: string) => console.error(`[setup] ${line}`);

const digest = labInputsDigest();
let current = "";
try {
  current =
    docker("image", "inspect", "-f", "{{range .Config.Env}}{{println .}}{{end}}", LAB_IMAGE)
      .split("\n")
      .find((line) => line.startsWith("POSSTORM_INPUTS="))
      ?.slice("POSSTORM_INPUTS=".length) ?? "";
} catch {
  // no such image yet
}
if (current === digest) {
  log(`image ${LAB_IMAGE} ready`);
  process.exit(0);
}

const started = Date.now();
const app = mkdtempSync(join(tmpdir(), "posstorm-lab-app-"));
try {
  await build({
    entryPoints: Object.fromEntries(LAB_PROGRAMS.map((p) => [p, programEntry(p)])),
    outdir: app,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node24",
    logLevel: "error",
    // Bundled CommonJS dependencies may call require(); give the ESM bundle one.
    banner: {
      js: "import { createRequire as __posstormRequire } from 'node:module'; const require = __posstormRequire(import.meta.url);",
    },
  });
  const container = docker("create", NODE_IMAGE);
  try {
    docker("cp", `${app}/.`, `${container}:/app/`);
    docker(
      "commit",
      "--change",
      `ENV POSSTORM_INPUTS=${digest}`,
      "--change",
      'ENTRYPOINT ["/usr/local/bin/node"]',
      "--change",
      "WORKDIR /app",
      container,
      LAB_IMAGE,
    );
  } finally {
    docker("rm", "-f", container);
  }
  log(
    `image ${LAB_IMAGE} built (${LAB_PROGRAMS.join(", ")}) in ${((Date.now() - started) / 1000).toFixed(1)}s`,
  );
} finally {
  rmSync(app, { recursive: true, force: true });
}
