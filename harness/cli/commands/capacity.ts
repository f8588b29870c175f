import type { CommandModule } from "yargs";
import { DEFAULT_WINDOW, runCapacity } from "../../capacity/capacity.ts";
import { DEFAULT_SEARCH } from "../../capacity/search.ts";
import { type LabRunArgs, labRunOptionsOf, withLabRunOptions } from "./options.ts";

interface CapacityArgs extends LabRunArgs {
  operation: "signin" | "purchase" | undefined;
  start: number;
  max: number;
  factor: number;
  precision: number;
  repeats: number;
  retries: number;
  warmup: number;
  steady: number;
  budget: number | undefined;
  min: number | undefined;
  terminals: number | undefined;
}

export const capacityCommand: CommandModule<object, CapacityArgs> = {
  command: "capacity <profile>",
  describe:
    "Find the highest rate of the profile's operation at which all its SLOs hold (steps up, bisects, repeats the boundary); name what saturated first",
  builder: (y) =>
    withLabRunOptions(y)
      .option("operation", {
        choices: ["signin", "purchase"] as const,
        describe: "the operation whose rate is searched (default: the profile's fleet.operation)",
      })
      .option("start", {
        type: "number",
        default: DEFAULT_SEARCH.startRate,
        describe: "first rate, per second",
      })
      .option("max", {
        type: "number",
        default: DEFAULT_SEARCH.maxRate,
        describe: "highest rate tried, per second",
      })
      .option("factor", { type: "number", default: DEFAULT_SEARCH.factor, describe: "step-up multiplier" })
      .option("precision", {
        type: "number",
        default: DEFAULT_SEARCH.precision,
        describe: "bisection stops when (first fail − last pass) ≤ precision × last pass",
      })
      .option("repeats", {
        type: "number",
        default: DEFAULT_SEARCH.repeats,
        describe: "extra runs of each boundary rate (the band)",
      })
      .option("retries", {
        type: "number",
        default: DEFAULT_SEARCH.retries,
        describe: "times an inconclusive (generator-limited) step is run again before the search stops there",
      })
      .option("warmup", {
        type: "number",
        default: DEFAULT_WINDOW.warmupS,
        describe: "seconds at the start of each step that are not judged",
      })
      .option("steady", {
        type: "number",
        default: DEFAULT_WINDOW.steadyS,
        describe: "seconds judged per step",
      })
      .option("budget", {
        type: "number",
        describe: "seconds the whole search may take (no step starts past it)",
      })
      .option("min", {
        type: "number",
        describe: "CI gate: exit 1 when the capacity found is below this rate",
      })
      .option("terminals", {
        type: "number",
        describe:
          "cap on the terminals a step uses (default: rate × (connect + response timeout) × 1.1); arrivals finding none free are dropped and the step is inconclusive",
      })
      .epilogue(
        "Exit: 0 an answer (at or above --min when given); 1 below --min; 2 no usable answer (a generator-limited step, a step that failed to run, Ctrl-C) or a harness failure.",
      ),
  handler: async (argv) => {
    const result = await runCapacity({
      profile: argv.profile,
      reportsDir: argv["reports-dir"],
      ...(argv.operation ? { operation: argv.operation } : {}),
      search: {
        startRate: argv.start,
        maxRate: argv.max,
        factor: argv.factor,
        precision: argv.precision,
        repeats: argv.repeats,
        retries: argv.retries,
      },
      window: { warmupS: argv.warmup, steadyS: argv.steady },
      ...(argv.budget !== undefined ? { budgetS: argv.budget } : {}),
      ...(argv.min !== undefined ? { minRate: argv.min } : {}),
      ...(argv.terminals !== undefined ? { maxTerminals: argv.terminals } : {}),
      ...labRunOptionsOf(argv),
    });
    process.exitCode = result.verdict.exitCode;
  },
};
