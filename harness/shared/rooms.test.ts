import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./repo.ts";
import { importsOf, importViolations, ROOMS } from "./rooms.ts";

describe("rooms import downward only", () => {
  it("no file under harness/ imports a room above its own", () => {
    expect(importViolations(join(REPO_ROOT, "harness")).map((v) => v.text)).toEqual([]);
  });

  it("names an upward import, a sideways one and a file in no room", () => {
    const root = mkdtempSync(join(tmpdir(), "posstorm-rooms-"));
    const write = (path: string, text: string) => {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    };
    write("shared/a.ts", 'import { b } from "../protocol/b.ts";\nexport const a = b;\n');
    write("protocol/b.ts", "export const b = 1;\n");
    write(
      "chaos/c.ts",
      'export { d } from "../lab/d.ts";\nexport const late = () => import("../report/r.ts");\n',
    );
    write("lab/d.ts", 'import { c } from "../chaos/c.ts";\nexport const d = c;\n');
    write("report/r.ts", 'import type { X } from "../../scripts/x.ts";\nexport type R = X;\n');
    write("stray.ts", "export {};\n");
    write("shared/a.test.ts", 'import { d } from "../lab/d.ts";\n'); // tests may import any room
    expect(
      importViolations(root)
        .map((v) => v.text)
        .sort(),
    ).toEqual(
      [
        "chaos/c.ts imports lab/d.ts: chaos may import only shared, protocol, sim, fleet, chaos",
        "chaos/c.ts imports report/r.ts: chaos may import only shared, protocol, sim, fleet, chaos",
        "report/r.ts imports ../../scripts/x.ts, outside every room",
        "shared/a.ts imports protocol/b.ts: shared may import only shared",
        `stray.ts is in no room (ROOMS: ${ROOMS.join(", ")})`,
      ].sort(),
    );
  });

  it("reads static imports, re-exports, type imports spread over lines and dynamic imports", () => {
    const source = [
      'import { a } from "./a.ts";',
      "import {",
      "  type B,",
      "  c,",
      '} from "../b/index.ts";',
      'export { d } from "./d.ts";',
      'export * from "./e.ts";',
      'const f = await import("../f.ts");',
      'import { readFileSync } from "node:fs";',
      'const text = "import { x } from \\"./not-really.ts\\"";',
    ].join("\n");
    expect(importsOf(source)).toEqual(["./a.ts", "../b/index.ts", "./d.ts", "./e.ts", "../f.ts"]);
  });
});
