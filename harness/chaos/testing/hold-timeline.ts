// Test fixture: runs a chaos timeline (latency and packet loss on `edge`, `hsm` down, 60 s each) against
// the Toxiproxy at argv[2], prints `READY` once all three are applied, and waits to be interrupted.
// Proves that Ctrl-C leaves no toxic, no disabled proxy and no nftables table behind.
//   node hold-timeline.ts <toxiproxy url> <edge listen port>

import { startTimeline } from "../timeline.ts";
import { connectToxiproxy } from "../toxiproxy.ts";
import { awaitAllActive } from "./await-active.ts";

const [apiUrl, edgePort] = process.argv.slice(2);
if (!apiUrl || !edgePort) {
  console.error("usage: hold-timeline.ts <toxiproxy url> <edge listen port>");
  process.exit(2);
}
const toxiproxy = connectToxiproxy(apiUrl);
const timeline = startTimeline(
  [
    { name: "slow", at: 0, for: 60, fault: { kind: "latency", link: "edge", latencyMs: 100 } },
    { name: "loss", at: 0, for: 60, fault: { kind: "packet-loss", link: "edge", lossPercent: 5 } },
    { name: "hsm-down", at: 0, for: 60, fault: { kind: "down", link: "hsm" } },
  ],
  { toxiproxy, links: { edge: { listen: { host: "127.0.0.1", port: Number(edgePort) } } }, admin: {} },
  { loadDurationS: 60 },
);
const failed = await awaitAllActive(timeline);
if (failed.length > 0) {
  console.log(`FAILED ${JSON.stringify(failed)}`);
  await timeline.abort("setup failed");
  process.exit(1);
}
console.log("READY");
await timeline.done;
