import { removeManaged } from "../runtime/containers.ts";

// Integration runs start clean: containers left by an earlier run whose process died (Ctrl-C, crash,
// kill -9) are removed before any test starts.
export default async function setup(): Promise<void> {
  const removed = await removeManaged({ stale: true });
  if (removed.length > 0) {
    console.log(
      `[posstorm] removed ${removed.length} stale container(s): ${removed.map((c) => c.role).join(", ")}`,
    );
  }
}
