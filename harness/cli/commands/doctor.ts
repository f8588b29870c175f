import type { CommandModule } from "yargs";
import { formatChecks, runChecks } from "../../doctor/checks.ts";
import { checkChromium } from "../../report/browser.ts";

interface DoctorArgs {
  json: boolean;
}

export const doctorCommand: CommandModule<object, DoctorArgs> = {
  command: "doctor",
  describe:
    "Check every prerequisite (Node, Toxiproxy, Docker engine, images, nftables and ss with a " +
    "real probe, ports; Chromium optional) and report what a crashed run left behind; exit 0 only when all are ready",
  builder: (y) => y.option("json", { type: "boolean", default: false, describe: "print the checks as JSON" }),
  handler: async (argv) => {
    const [results, chromium] = await Promise.all([runChecks(process.env), checkChromium(process.env)]);
    // Optional: only the report's browser test and screenshot need it; never fails doctor.
    const optional = [chromium];
    if (argv.json) {
      console.log(JSON.stringify([...results, ...optional.map((r) => ({ ...r, optional: true }))], null, 2));
    } else {
      console.log(formatChecks(results));
      console.log(`\noptional (report browser check):\n${formatChecks(optional)}`);
    }
    const missing = results.filter((r) => r.status === "missing").length;
    if (!argv.json)
      console.log(missing === 0 ? "\nall prerequisites ready" : `\n${missing} prerequisite(s) missing`);
    process.exitCode = missing === 0 ? 0 : 2;
  },
};
