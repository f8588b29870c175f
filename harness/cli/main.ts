#!/usr/bin/env node
import { hideBin } from "yargs/helpers";
import { buildParser } from "./parser.ts";

await buildParser(hideBin(process.argv)).parseAsync();
