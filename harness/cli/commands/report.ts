import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { CommandModule } from "yargs";
import { loadProfile } from "../../profile/compile.ts";
import { REPORT_FILES, renderRun } from "../../report/report.ts";
import type { Slo } from "../../report/slo.ts";
import { REPO_ROOT } from "../../shared/repo.ts";

interface ReportArgs {
  "run-dir": string;
  profile: string | undefined;
  reaggregate: boolean;
  quiet: boolean;
}

/** A path, or a run id under reports/ (`smoke-20261122-044518`). */
export function resolveRunDir(arg: string, reportsDir = join(REPO_ROOT, "reports")): string {
  if (existsSync(arg)) return resolve(arg);
  const underReports = join(reportsDir, arg);
  return existsSync(underReports) ? underReports : resolve(arg);
}

export interface ReportCommandOptions {
  runDir: string;
  /** Judge by this profile's SLOs instead of the run's. */
  profile?: string;
  reaggregate?: boolean;
  quiet?: boolean;
  out?: (text: string) => void;
  err?: (text: string) => void;
}

/** `posstorm report`: 0 SLOs met, 1 an SLO breached, 2 the run or the report failed. */
export async function reportRun(options: ReportCommandOptions): Promise<0 | 1 | 2> {
  const out = options.out ?? ((text) => process.stdout.write(text));
  const err = options.err ?? ((text) => process.stderr.write(text));
  try {
    let slos: Slo[] | undefined;
    if (options.profile) {
      const { profile } = await loadProfile(options.profile);
      slos = ((profile as { slos?: Slo[] }).slos ?? []) as Slo[];
    }
    const rendered = await renderRun(options.runDir, {
      ...(slos ? { slos } : {}),
      ...(options.reaggregate ? { reaggregate: true } : {}),
    });
    if (!options.quiet) out(`${readFileSync(rendered.files.summary, "utf8")}\n`);
    out(
      `${Object.values(REPORT_FILES)
        .map((f) => join(options.runDir, f))
        .filter(existsSync)
        .join(
          "\n",
        )}\nverdict ${rendered.verdict.status} (SLOs from ${rendered.slosFrom}), exit ${rendered.exitCode}\n`,
    );
    if (rendered.exitCode === 2) err(`posstorm report: the run itself ${rendered.model.run.status}\n`);
    return rendered.exitCode;
  } catch (error) {
    err(`posstorm report: ${(error as Error).message}\n`);
    return 2;
  }
}

export const reportCommand: CommandModule<object, ReportArgs> = {
  command: "report <run-dir>",
  describe:
    "Judge a run folder against its SLOs and write verdict.json, summary.md, junit.xml, report.html (exit 0 met, 1 breached, 2 harness failure)",
  builder: (y) =>
    y
      .positional("run-dir", {
        type: "string",
        demandOption: true,
        describe: "a run folder, or a run id under reports/",
      })
      .option("profile", { type: "string", describe: "take the SLOs from this profile instead of the run's" })
      .option("reaggregate", {
        type: "boolean",
        default: false,
        describe: "aggregate samples.ndjson.gz again even when series.json exists",
      })
      .option("quiet", {
        type: "boolean",
        default: false,
        describe: "print only the file list and the verdict",
      }),
  handler: async (argv) => {
    process.exitCode = await reportRun({
      runDir: resolveRunDir(argv["run-dir"]),
      ...(argv.profile ? { profile: argv.profile } : {}),
      reaggregate: argv.reaggregate,
      quiet: argv.quiet,
    });
  },
};
