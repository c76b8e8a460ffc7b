#!/usr/bin/env node
// Thin launcher: the CLI lives in dist/cli (built by `npm run build`). V8's young generation is
// pinned first, before the CLI's modules load (see src/pipeline/tune.ts).
const { tuneYoungGeneration } = await import("../dist/pipeline/tune.js");
tuneYoungGeneration();
const { runMain } = await import("../dist/cli/main.js");
runMain(process.argv.slice(2));
