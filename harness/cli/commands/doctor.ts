import type { CommandModule } from "yargs";
import { formatChecks, runChecks } from "../../doctor/checks.ts";

interface DoctorArgs {
  json: boolean;
}

export const doctorCommand: CommandModule<object, DoctorArgs> = {
  command: "doctor",
  describe:
    "Check every prerequisite (Node, k6 + k6/x/tcp, Toxiproxy, Docker engine, images, net admin, ports)",
  builder: (y) => y.option("json", { type: "boolean", default: false, describe: "print the checks as JSON" }),
  handler: async (argv) => {
    const results = await runChecks(process.env);
    console.log(argv.json ? JSON.stringify(results, null, 2) : formatChecks(results));
    const missing = results.filter((r) => r.status !== "ok").length;
    if (!argv.json)
      console.log(missing === 0 ? "\nall prerequisites ready" : `\n${missing} prerequisite(s) missing`);
    process.exitCode = missing === 0 ? 0 : 2;
  },
};
