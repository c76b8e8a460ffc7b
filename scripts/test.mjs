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
// A test or suite that hangs fails by name after 15 minutes instead of holding CI until its own
// limit; a test file whose tests are done exits even if a handle leaked (--test-force-exit);
// the whole run is stopped after 75 minutes as a last resort.
const TEST_TIMEOUT_MS = 15 * 60_000;
const RUN_TIMEOUT_MS = 75 * 60_000;
const r = spawnSync(
  process.execPath,
  [
    "--test",
    "--test-concurrency=2",
    "--test-force-exit",
    `--test-timeout=${TEST_TIMEOUT_MS}`,
    ...process.argv.slice(2),
    ...files,
  ],
  { stdio: "inherit", timeout: RUN_TIMEOUT_MS, killSignal: "SIGKILL" },
);
if (r.error) console.error(`test run stopped: ${r.error.message}`);
process.exit(r.status ?? 1);
