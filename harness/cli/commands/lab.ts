import type { Argv, CommandModule } from "yargs";
import { listManaged, removeManaged } from "../../lab/runtime/containers.ts";

const status: CommandModule<object, object> = {
  command: "status",
  describe: "List the containers posstorm started on this engine",
  handler: async () => {
    const containers = await listManaged();
    if (containers.length === 0) {
      console.log("no posstorm containers");
      return;
    }
    for (const c of containers) {
      console.log(
        `${c.id.slice(0, 12)}  ${c.role.padEnd(10)}  ${c.state.padEnd(8)}  session ${c.session}  owner pid ${c.ownerPid}`,
      );
    }
  },
};

const down: CommandModule<object, { stale: boolean }> = {
  command: "down",
  describe: "Remove posstorm's containers (all, or only those whose process died)",
  builder: (y) =>
    y.option("stale", { type: "boolean", default: false, describe: "only containers whose owner died" }),
  handler: async (argv) => {
    const removed = await removeManaged(argv.stale ? { stale: true } : { all: true });
    console.log(
      `removed ${removed.length} container(s)${removed.length ? `: ${removed.map((c) => c.role).join(", ")}` : ""}`,
    );
  },
};

export const labCommand: CommandModule = {
  command: "lab <command>",
  describe: "Manage the lab's containers",
  builder: (y: Argv) => y.command(status).command(down).demandCommand(1),
  handler: () => undefined,
};
