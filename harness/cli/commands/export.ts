import { relative } from "node:path";
import type { CommandModule } from "yargs";
import {
  DEFAULT_CPU,
  DEFAULT_IMAGE_REPOSITORY,
  DEFAULT_MEMORY,
  exportK8s,
  parseSegments,
} from "../../export/index.ts";

// `posstorm export k8s`: the work lives in harness/export/.

interface K8sArgs {
  profile: string;
  segments: string;
  out: string | undefined;
  image: string | undefined;
  name: string | undefined;
  namespace: string | undefined;
  target: string | undefined;
  "allow-remote": boolean;
  cpu: string;
  memory: string;
}

const k8sCommand: CommandModule<object, K8sArgs> = {
  command: "k8s <profile>",
  describe:
    "Write Kubernetes manifests that run the profile's fleet on agent pods (ConfigMap with the plan, headless Service, Indexed Job), and print the coordinator's command",
  builder: (y) =>
    y
      .positional("profile", {
        type: "string",
        demandOption: true,
        describe: "a name under profiles/ or a path",
      })
      .option("segments", {
        type: "string",
        demandOption: true,
        describe: "agent pods, one fleet segment each (a whole number >= 1)",
      })
      .option("out", {
        type: "string",
        describe: "folder to write (default: k8s/<name> in the current directory)",
      })
      .option("image", {
        type: "string",
        describe: `the agents' image, pushed where the cluster pulls from (default: ${DEFAULT_IMAGE_REPOSITORY}:<posstorm's version>)`,
      })
      .option("name", {
        type: "string",
        describe:
          "the Job's and the Service's name; the ConfigMap is <name>-plan (default: posstorm-<profile name>)",
      })
      .option("namespace", { type: "string", describe: "namespace written into each object (default: none)" })
      .option("target", {
        type: "string",
        describe: "host:port where the agents reach the switch (default: the profile's target)",
      })
      .option("allow-remote", {
        type: "boolean",
        default: false,
        describe: "allow a target outside 127.0.0.0/8 (the plan's and the agents' flag)",
      })
      .option("cpu", { type: "string", default: DEFAULT_CPU, describe: "CPU request of each agent pod" })
      .option("memory", {
        type: "string",
        default: DEFAULT_MEMORY,
        describe: "memory request of each agent pod",
      }),
  handler: async (argv) => {
    const result = await exportK8s({
      profile: argv.profile,
      segments: parseSegments(argv.segments),
      ...(argv.out !== undefined ? { out: argv.out } : {}),
      ...(argv.image !== undefined ? { image: argv.image } : {}),
      ...(argv.name !== undefined ? { name: argv.name } : {}),
      ...(argv.namespace !== undefined ? { namespace: argv.namespace } : {}),
      ...(argv.target !== undefined ? { target: argv.target } : {}),
      allowRemote: argv["allow-remote"],
      cpu: argv.cpu,
      memory: argv.memory,
    });
    // The folder as the user would type it: relative when it is under the current directory.
    const rel = relative(process.cwd(), result.dir);
    const dir = rel === "" ? "." : rel.startsWith("..") ? result.dir : rel;
    const ns = result.namespace !== undefined ? ` -n ${result.namespace}` : "";
    console.log(
      `wrote ${result.files.map((f) => f.name).join(", ")} to ${dir}: ${result.agents.length} agent pod(s) of ${result.image}, switch at ${result.plan.target.host}:${result.plan.target.port}`,
    );
    for (const warning of result.warnings) console.log(`warning: ${warning}`);
    console.log("then:");
    console.log(`  kubectl apply -f ${dir}`);
    console.log(
      `  kubectl wait${ns} --for=condition=Ready pod -l app.kubernetes.io/instance=${result.name} --timeout=5m`,
    );
    console.log(`  ${result.coordinator}`);
  },
};

export const exportCommand: CommandModule = {
  command: "export <engine>",
  describe: "Export a profile for another engine (k8s: its fleet on agent pods)",
  builder: (y) => y.command(k8sCommand).demandCommand(1),
  handler: () => undefined,
};
