import assert from "node:assert/strict";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { keygen } from "./keygen.js";
import { pack } from "./pack.js";
import { compareTrees, flatDrives, packOpts, randomData, removeDir, rng, tempDir } from "./testkit.js";
import { unpack } from "./unpack.js";

let dir = "";
const key = keygen();
before(async () => {
  dir = await tempDir("ferry-threads-");
});
after(() => removeDir(dir));

/** Small files (batched, some duplicates), big multi-chunk files, CSV, an empty file, a link. */
function source(root: string): void {
  const rand = rng(5);
  mkdirSync(join(root, "small", "x"), { recursive: true });
  mkdirSync(join(root, "big"), { recursive: true });
  for (let i = 0; i < 600; i++) {
    const n = 100 + Math.floor(rand() * 20_000);
    writeFileSync(
      join(root, "small", i % 2 ? "x" : "", `f${i}.bin`),
      i % 50 === 0 ? Buffer.alloc(n, 7) : randomData(rand, n),
    );
  }
  for (let i = 0; i < 4; i++)
    writeFileSync(join(root, "big", `v${i}.mp4`), randomData(rand, 1_500_000 + i * 700_000));
  writeFileSync(join(root, "big", "copy.mp4"), readFileSync(join(root, "big", "v1.mp4")));
  const rows = ["id,value"];
  for (let r = 0; r < 60_000; r++) rows.push(`${r},${r % 97}`);
  writeFileSync(join(root, "table.csv"), rows.join("\n"));
  writeFileSync(join(root, "empty"), "");
  symlinkSync("table.csv", join(root, "link"));
}

test("pack with worker threads restores the same tree and counts the same as pack on one thread", async () => {
  const src = join(dir, "src");
  source(src);
  const results = [];
  for (const threads of [0, 1, 2, 3]) {
    const drives = flatDrives(join(dir, `d${threads}`), 4);
    const r = await pack({
      ...packOpts(src, drives, join(dir, `c${threads}.db`), { recipients: [key.recipient] }),
      threads,
    });
    const out = join(dir, `o${threads}`);
    await unpack({ drives: drives.map((d) => d.path), to: out, unlock: { identities: [key.identity] } });
    await compareTrees(src, out);
    results.push(r.stats);
  }
  for (const s of results.slice(1)) assert.deepEqual(s, results[0]);
  assert.ok(results[0]!.dedupChunks > 0, "duplicates across files and workers are stored once");
  assert.ok(results[0]!.compressedChunks > 0);
});

test("pack with worker threads: a file that changes while a worker reads it is read again; one that keeps changing is left out", async () => {
  const src = join(dir, "changing");
  mkdirSync(src);
  const rand = rng(9);
  writeFileSync(join(src, "a.bin"), randomData(rand, 700_000));
  writeFileSync(join(src, "always.bin"), randomData(rand, 3000));
  writeFileSync(join(src, "b.txt"), "b\n");
  const drives = flatDrives(join(dir, "dc"), 3);
  const r = await pack({
    ...packOpts(src, drives, join(dir, "cc.db"), { tolerate: "1", recipients: [key.recipient] }),
    threads: 2,
    workerHook: new URL("./testdata/change_hook.js", import.meta.url).href,
  });
  assert.deepEqual(
    r.skipped.map((s) => [s.path, /changed while being read/.test(s.reason)]),
    [["always.bin", true]],
  );
  const out = join(dir, "oc");
  await unpack({ drives: drives.map((d) => d.path), to: out, unlock: { identities: [key.identity] } });
  assert.deepEqual(readFileSync(join(out, "a.bin")), readFileSync(join(src, "a.bin")));
  assert.match(
    readFileSync(join(out, "a.bin")).subarray(-40).toString(),
    /appended while a worker was reading/,
  );
  assert.equal(readFileSync(join(out, "b.txt"), "utf8"), "b\n");
});
