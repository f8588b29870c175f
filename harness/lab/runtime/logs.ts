import { readFileSync } from "node:fs";

/** The last `count` lines of a log file, for error messages ("" when it cannot be read). */
export function lastLines(path: string, count = 10): string {
  try {
    const lines = readFileSync(path, "utf8").trimEnd().split("\n");
    return lines.slice(-count).join("\n");
  } catch {
    return "";
  }
}
