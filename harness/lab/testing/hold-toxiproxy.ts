// Test fixture: starts a Toxiproxy container, prints `READY <container id>`, and waits to be
// interrupted or killed (at most 60 s). Used to prove that Ctrl-C and crashes leave nothing behind.
import { startToxiproxy } from "../toxiproxy.ts";

const session = process.argv[2] ?? "hold";
const toxiproxy = await startToxiproxy({ session });
console.log(`READY ${toxiproxy.service.id}`);
setTimeout(async () => {
  await toxiproxy.stop();
  process.exit(0);
}, 60_000);
