import { describe, expect, it } from "vitest";
import { descriptorWarning } from "./limits.ts";

describe("descriptorWarning", () => {
  it("warns when long links need more descriptors in Toxiproxy than a process may open", () => {
    expect(descriptorWarning("long", 10_000, 20_000)).toBe(
      "warning: 10,000 long links need about 20,200 open files in Toxiproxy (two per link) but processes here " +
        "may open 20,000 (ulimit -n): expect failed connections at the edge past that",
    );
    expect(descriptorWarning("long", 9_000, 20_000)).toBeUndefined();
    expect(descriptorWarning("short", 10_000, 20_000)).toBeUndefined();
  });

  it("reads this process's limit when none is given", () => {
    expect(descriptorWarning("long", 1e9)).toMatch(/may open [\d,]+ \(ulimit -n\)/);
  });
});
