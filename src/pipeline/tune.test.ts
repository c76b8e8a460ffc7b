import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

/**
 * A child that (maybe) tunes, (maybe) runs a step that starts worker threads (pack with two, or
 * unpack's small-file writer), allocates 2 million short-lived objects, and prints new space's size.
 */
function newSpaceAfterChurn(tune: boolean, step: "" | "pack" | "small" = ""): number {
  const url = (p: string) => JSON.stringify(new URL(p, import.meta.url).href);
  const packStep = `
const fs = await import("node:fs");
const { join } = await import("node:path");
const { tmpdir } = await import("node:os");
const { randomBytes } = await import("node:crypto");
const { keygen, pack } = await import(${url("../index.js")});
const dir = fs.mkdtempSync(join(tmpdir(), "ferry-tune-"));
try {
  fs.mkdirSync(join(dir, "src"));
  fs.writeFileSync(join(dir, "src", "a.bin"), randomBytes(3 << 20));
  fs.writeFileSync(join(dir, "src", "b.txt"), "b");
  const drives = [0, 1, 2].map((i) => ({ bag: "b" + i, path: join(dir, "d" + i) }));
  await pack({ source: join(dir, "src"), drives, tolerate: "1", recipients: [keygen().recipient],
    catalog: join(dir, "c.db"), fsync: false, threads: 2 });
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}`;
  const smallStep = `
const fs = await import("node:fs");
const { join } = await import("node:path");
const { tmpdir } = await import("node:os");
const { SmallFileWriter } = await import(${url("./small_writer.js")});
const dir = fs.mkdtempSync(join(tmpdir(), "ferry-tune-"));
try {
  const w = new SmallFileWriter(false);
  await w.write({ tmp: Buffer.from(join(dir, ".t")), path: Buffer.from(join(dir, "a")), data: [Buffer.from("a")],
    mode: 0o644, uid: 0, gid: 0, mtime: 1 });
  await w.close();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}`;
  const script = `
const { tuneYoungGeneration } = await import(${url("./tune.js")});
const v8 = await import("node:v8");
const took = ${tune} ? tuneYoungGeneration({}) : false;
${step === "pack" ? packStep : step === "small" ? smallStep : ""}
let keep = [];
for (let i = 0; i < 2_000_000; i++) { keep.push({ a: i, b: [i, i + 1] }); if (keep.length > 2000) keep = []; }
const ns = v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space");
console.log(JSON.stringify({ took, size: ns.space_size }));`;
  // A file, not --eval: worker threads inherit the child's flags, and --input-type is refused there.
  const dir = mkdtempSync(join(tmpdir(), "ferry-tune-script-"));
  const file = join(dir, "child.mjs");
  writeFileSync(file, script);
  const r = spawnSync(process.execPath, [file], { encoding: "utf8" });
  rmSync(dir, { recursive: true, force: true });
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

test("pack's worker threads, whose start resets V8's flags, set the tuning again", (t) => {
  const tuned = newSpaceAfterChurn(true, "pack");
  if (tuned < 0) {
    t.skip("this V8 froze its flags: the tuning is a no-op");
    return;
  }
  assert.ok(tuned <= 4 << 20, `new space after a pack with workers: ${tuned} bytes`);
});

test("unpack's small-file writer thread, whose start resets V8's flags, sets the tuning again", (t) => {
  const tuned = newSpaceAfterChurn(true, "small");
  if (tuned < 0) {
    t.skip("this V8 froze its flags: the tuning is a no-op");
    return;
  }
  assert.ok(tuned <= 4 << 20, `new space after the small-file writer ran: ${tuned} bytes`);
});

test("FERRY_V8_TUNE=0 leaves V8's default", async () => {
  const { tuneYoungGeneration } = await import("./tune.js");
  assert.equal(tuneYoungGeneration({ FERRY_V8_TUNE: "0" }), false);
});
