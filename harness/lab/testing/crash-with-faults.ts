// Test fixture: a run that will be killed. Starts a Toxiproxy container of its own (as a run's lab does) and a
// chaos timeline on the Toxiproxy at argv[2] (latency on `edge`, 5 % packet loss on `edge` in the kernel, `hsm`
// down; 60 s each), prints `READY <container id>` once all three are in effect, and waits (at most 60 s).
// Killed with SIGKILL it clears nothing: what `posstorm lab down --stale` must find and remove.
//   node crash-with-faults.ts <toxiproxy url> <edge listen port> <session>

import { awaitAllActive } from "../../chaos/testing/await-active.ts";
import { startTimeline } from "../../chaos/timeline.ts";
import { connectToxiproxy } from "../../chaos/toxiproxy.ts";
import { startToxiproxy } from "../toxiproxy.ts";

const [apiUrl, edgePort, session] = process.argv.slice(2);
if (!apiUrl || !edgePort || !session) {
  console.error("usage: crash-with-faults.ts <toxiproxy url> <edge listen port> <session>");
  process.exit(2);
}
const own = await startToxiproxy({ session });
const timeline = startTimeline(
  [
    { name: "slow", at: 0, for: 60, fault: { kind: "latency", link: "edge", latencyMs: 100 } },
    { name: "loss", at: 0, for: 60, fault: { kind: "packet-loss", link: "edge", lossPercent: 5 } },
    { name: "hsm-down", at: 0, for: 60, fault: { kind: "down", link: "hsm" } },
  ],
  {
    toxiproxy: connectToxiproxy(apiUrl),
    links: { edge: { listen: { host: "127.0.0.1", port: Number(edgePort) } } },
    admin: {},
  },
  { loadDurationS: 60 },
);
const failed = await awaitAllActive(timeline);
if (failed.length > 0) {
  console.log(`FAILED ${JSON.stringify(failed)}`);
  await timeline.abort("setup failed");
  await own.stop();
  process.exit(1);
}
console.log(`READY ${own.service.id}`);
await timeline.done;
await own.stop();
