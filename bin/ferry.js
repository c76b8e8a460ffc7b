#!/usr/bin/env node
// Thin launcher: the CLI lives in dist/cli (built by `npm run build`).
import { runMain } from "../dist/cli/main.js";
runMain(process.argv.slice(2));
