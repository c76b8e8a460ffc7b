#!/usr/bin/env node
// Runs every compiled test file under dist/ with node's test runner. Listing the files
// ourselves works the same on Node 20 (directory arguments) and Node 22+ (glob arguments).
// Extra arguments are passed to `node --test` (e.g. --test-name-pattern=...).
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name);
    if (d.isDirectory()) return find(p);
    return d.name.endsWith(".test.js") ? [p] : [];
  });
}

const filter = process.env.FERRY_TEST_DIR ?? "dist";
const files = find(filter).sort();
if (files.length === 0) {
  console.error(`no test files under ${filter}/; run npm run build first`);
  process.exit(1);
}
const r = spawnSync(process.execPath, ["--test", "--test-concurrency=2", ...process.argv.slice(2), ...files], {
  stdio: "inherit",
});
process.exit(r.status ?? 1);
