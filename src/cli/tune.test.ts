import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";

/** A child that (maybe) tunes, allocates 2 million short-lived objects, and prints new space's size. */
function newSpaceAfterChurn(tune: boolean): number {
  const script = `
const { tuneYoungGeneration } = await import(${JSON.stringify(new URL("./tune.js", import.meta.url).href)});
const v8 = await import("node:v8");
const took = ${tune} ? tuneYoungGeneration({}) : false;
let keep = [];
for (let i = 0; i < 2_000_000; i++) { keep.push({ a: i, b: [i, i + 1] }); if (keep.length > 2000) keep = []; }
const ns = v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space");
console.log(JSON.stringify({ took, size: ns.space_size }));`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { took: boolean; size: number };
  return out.took || !tune ? out.size : -1;
}

test("tuneYoungGeneration keeps V8's young generation at its start size through a long run", (t) => {
  const tuned = newSpaceAfterChurn(true);
  if (tuned < 0) {
    t.skip("this V8 froze its flags: the tuning is a no-op");
    return;
  }
  const plain = newSpaceAfterChurn(false);
  assert.ok(plain >= 4 * tuned, `new space ${plain} bytes by default, ${tuned} tuned`);
  assert.ok(tuned <= 4 << 20, `tuned new space stays small: ${tuned} bytes`);
});

test("FERRY_V8_TUNE=0 leaves V8's default", async () => {
  const { tuneYoungGeneration } = await import("./tune.js");
  assert.equal(tuneYoungGeneration({ FERRY_V8_TUNE: "0" }), false);
});
