#!/usr/bin/env node
import { hideBin } from "yargs/helpers";
import { isInterrupted } from "../lab/shutdown.ts";
import { buildParser } from "./parser.ts";

try {
  await buildParser(hideBin(process.argv)).parseAsync();
} catch (error) {
  // After Ctrl-C the interrupt handler finishes the cleanups and exits 2; a failure it caused
  // (an aborted k6, a stopped container) must not end the process first.
  if (!isInterrupted()) {
    console.error(`posstorm: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 2;
  }
}
