// Runs one lab program for the `local` runtime and ties its life to the harness: the harness holds
// this process's stdin open; when it closes (the harness exited, even by kill -9) or SIGTERM/SIGINT
// arrives, the program is stopped. Usage: node guard.ts <command> [args…]
import { spawn } from "node:child_process";

const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error("guard: usage: guard.ts <command> [args…]");
  process.exit(2);
}
const child = spawn(command, args, { stdio: ["ignore", "inherit", "inherit"] });
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  child.kill("SIGTERM");
  setTimeout(() => child.kill("SIGKILL"), 3_000).unref();
};
process.stdin.on("end", stop);
process.stdin.on("close", stop);
process.stdin.resume();
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
child.on("error", (error) => {
  console.error(`guard: cannot start ${command}: ${error.message}`);
  process.exit(2);
});
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 128 + 15 : 1)));
