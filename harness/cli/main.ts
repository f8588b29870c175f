#!/usr/bin/env node
import { hideBin } from "yargs/helpers";
import { isInterrupted } from "../shared/shutdown.ts";
import { buildParser } from "./parser.ts";

try {
  await buildParser(hideBin(process.argv)).parseAsync();
  // A command is done when its handler returns: keep-alive sockets and stray timers of libraries must not
  // hold the process (and a CI job) open.
  if (!isInterrupted()) process.exit(process.exitCode ?? 0);
} catch (error) {
  // After Ctrl-C the interrupt handler finishes the cleanups and exits 2; a failure it caused
  // (an aborted fleet, a stopped container) must not end the process first.
  if (!isInterrupted()) {
    console.error(`posstorm: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  }
}
