import type { CommandModule } from "yargs";
import {
  compareRuns,
  parseThresholds,
  type RegressionThreshold,
  recordedCompareSettings,
  thresholdsOf,
} from "../../report/compare.ts";
import { renderComparisonMarkdown, renderComparisonText } from "../../report/render/compare.ts";
import { resolveRunDir } from "./report.ts";

interface CompareArgs {
  base: string;
  current: string;
  "max-regression": string[];
  "profile-thresholds": boolean;
  format: "text" | "md" | "json";
}

/** The profile's thresholds, each replaced by a command-line one for the same metric. */
export function mergeThresholds(
  fromProfile: readonly RegressionThreshold[],
  fromCli: readonly RegressionThreshold[],
): RegressionThreshold[] {
  const cli = new Set(fromCli.map((t) => t.metric));
  return [...fromProfile.filter((t) => !cli.has(t.metric)), ...fromCli];
}

export interface CompareCommandOptions {
  baseDir: string;
  currentDir: string;
  /** `timeoutRate=10`, `purchase.p99=20`, … */
  maxRegression?: readonly string[];
  /** Also apply the current run's profile `compare.maxRegressionPct` (default true). */
  profileThresholds?: boolean;
  format?: CompareArgs["format"];
  out?: (text: string) => void;
  err?: (text: string) => void;
}

/** `posstorm compare`: 0 no regression beyond a threshold, 1 a regression, 2 a run folder that cannot be read. */
export async function compareCommandRun(options: CompareCommandOptions): Promise<0 | 1 | 2> {
  const out = options.out ?? ((text) => process.stdout.write(text));
  const err = options.err ?? ((text) => process.stderr.write(text));
  try {
    const cli = parseThresholds(options.maxRegression ?? []);
    const profile =
      options.profileThresholds === false ? [] : thresholdsOf(recordedCompareSettings(options.currentDir));
    const comparison = await compareRuns(options.baseDir, options.currentDir, mergeThresholds(profile, cli));
    const format = options.format ?? "text";
    out(
      format === "json"
        ? `${JSON.stringify(comparison, null, 2)}\n`
        : format === "md"
          ? renderComparisonMarkdown(comparison)
          : renderComparisonText(comparison),
    );
    return comparison.exitCode;
  } catch (error) {
    err(`posstorm compare: ${(error as Error).message}\n`);
    return 2;
  }
}

export const compareCommand: CommandModule<object, CompareArgs> = {
  command: "compare <base> <current>",
  describe:
    "Compare a run with a baseline run: timeout and error rates, p50/p95/p99 and throughput per operation; exit 1 on a regression beyond a threshold",
  builder: (y) =>
    y
      .positional("base", {
        type: "string",
        demandOption: true,
        describe: "the baseline run folder (or run id)",
      })
      .positional("current", {
        type: "string",
        demandOption: true,
        describe: "the run folder to judge (or run id)",
      })
      .option("max-regression", {
        type: "array",
        string: true,
        default: [] as string[],
        describe:
          "allowed relative regression, %: timeoutRate=10 errorRate=10 p99=20 purchase.p95=15 throughput=5 (overrides the profile's)",
      })
      .option("profile-thresholds", {
        type: "boolean",
        default: true,
        describe:
          "also apply the compare.maxRegressionPct the current run recorded from its profile (run.json)",
      })
      .option("format", { choices: ["text", "md", "json"] as const, default: "text" as const }),
  handler: async (argv) => {
    process.exitCode = await compareCommandRun({
      baseDir: resolveRunDir(argv.base),
      currentDir: resolveRunDir(argv.current),
      maxRegression: argv["max-regression"],
      profileThresholds: argv["profile-thresholds"],
      format: argv.format,
    });
  },
};
