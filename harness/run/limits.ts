import { readFileSync } from "node:fs";

/**
 * Long links: Toxiproxy holds two descriptors per terminal (its side and the switch's), the switch one. A limit
 * of open files below that (`ulimit -n`; the lab's containers inherit the engine's) makes links fail at the edge
 * for want of descriptors, not because of the switch: said before the run rather than guessed from its results.
 */
export function descriptorWarning(
  mode: "short" | "long",
  terminals: number,
  limit = openFilesLimit(),
): string | undefined {
  const needed = 2 * terminals + 200;
  if (mode !== "long" || limit === undefined || needed <= limit) return undefined;
  return (
    `warning: ${terminals.toLocaleString("en-US")} long links need about ${needed.toLocaleString("en-US")} open ` +
    `files in Toxiproxy (two per link) but processes here may open ${limit.toLocaleString("en-US")} (ulimit -n): ` +
    "expect failed connections at the edge past that"
  );
}

function openFilesLimit(): number | undefined {
  try {
    const line = readFileSync("/proc/self/limits", "utf8")
      .split("\n")
      .find((l) => l.startsWith("Max open files"));
    const soft = line?.split(/\s{2,}/)[1];
    return soft && /^\d+$/.test(soft) ? Number(soft) : undefined;
  } catch {
    return undefined;
  }
}
