import { execFileSync } from "node:child_process";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

// The `corrupt` toxic's own unit test (corrupt_test.go) is Go: run it with the Go the build uses, offline,
// against the pinned modules.

it("the corrupt toxic damages frames as its modes say (go test)", () => {
  const out = execFileSync("go", ["test", "-count=1", "."], {
    cwd: dirname(fileURLToPath(import.meta.url)),
    env: { ...process.env, GOFLAGS: "-mod=readonly", CGO_ENABLED: "0" },
    encoding: "utf8",
    timeout: 120_000,
  });
  expect(out).toMatch(/^ok\s+posstorm\/toxiproxy-build/m);
});
