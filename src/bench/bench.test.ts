import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

// Smoke only: the bench runs end to end on a tiny corpus and reports every ferry step.
// No timing is asserted (numbers belong to `npm run bench`, not to tests).
test("npm run bench --smoke reports every ferry step", () => {
  const dir = mkdtempSync(join(tmpdir(), "ferry-bench-smoke-"));
  try {
    const out = join(dir, "bench.json");
    const script = fileURLToPath(new URL("./bench.js", import.meta.url));
    const r = spawnSync(process.execPath, [script, "--smoke", "--no-s3", "--json", out, "--dir", dir], {
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(readFileSync(out, "utf8")) as {
      rows: { name: string; mbps: number }[];
      corpus: { bytes: number };
    };
    const names = j.rows.map((x) => x.name);
    for (const step of [
      "ferry pack (fsync)",
      "ferry verify --full",
      "ferry unpack",
      "ferry unpack, a bag missing",
    ]) {
      assert.ok(names.includes(step), step);
    }
    assert.ok(j.corpus.bytes > 20e6);
    assert.ok(j.rows.every((x) => x.mbps > 0));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
