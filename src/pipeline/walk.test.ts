import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Chunker } from "../chunk/index.js";
import { PackPool, type PackWorkerEvent } from "./pack_pool.js";
import { removeDir, SMALL_CHUNKS, tempDir } from "./testkit.js";
import { walk } from "./walk.js";

let dir = "";
before(async () => {
  dir = await tempDir("ferry-walk-");
  mkdirSync(join(dir, "src", "d"), { recursive: true });
  writeFileSync(join(dir, "src", "d", "f"), "x");
  writeFileSync(join(dir, "src", "a.txt"), "aa");
  symlinkSync("a.txt", join(dir, "src", "l"));
  execFileSync("mkfifo", [join(dir, "src", "p")]);
});
after(() => removeDir(dir));

const summary = async (statFiles: boolean) => {
  const out: [string, string, string][] = [];
  for await (const it of walk(join(dir, "src"), { statFiles })) {
    const st = it.kind === "skip" ? it.reason : it.st === null ? "unstatted" : `size ${it.st.size}`;
    out.push([it.rel.toString(), it.kind, it.kind === "dir" || it.kind === "skip" ? "" : st]);
  }
  return out;
};

test("walk: same items in the same order with or without a stat per regular file", async () => {
  const statted = await summary(true);
  assert.deepEqual(statted, [
    ["a.txt", "file", "size 2"],
    ["d", "dir", ""],
    ["d/f", "file", "size 1"],
    ["l", "symlink", "size 5"],
    ["p", "skip", ""],
  ]);
  const unstatted = statted.map(([p, kind, st]) => [p, kind, kind === "file" ? "unstatted" : st]);
  assert.deepEqual(await summary(false), unstatted);
});

test("pack worker: a file bigger than the batch's hand-back size comes back unread; a FIFO is skipped, not waited on", {
  timeout: 20_000,
}, async () => {
  const big = join(dir, "big");
  writeFileSync(big, Buffer.alloc(5000, 1));
  const events: PackWorkerEvent[] = [];
  const pool = new PackPool(
    1,
    {
      idKey: Buffer.alloc(32, 1),
      chunkKey: Buffer.alloc(32, 2),
      setId: Buffer.alloc(16, 3),
      chunk: new Chunker(SMALL_CHUNKS).params,
      readSize: 1 << 16,
      directReads: false,
      tuneYoungGeneration: false,
      outSize: 1 << 16,
      outBuffers: 2,
      hook: null,
    },
    (e) => {
      events.push(...e);
    },
  );
  try {
    const path = (p: string) => Buffer.from(p);
    await pool.submit(
      [
        { job: 1, path: path(join(dir, "src", "p")) },
        { job: 2, path: path(big) },
        { job: 3, path: path(join(dir, "src", "a.txt")) },
      ],
      0,
      4096,
    );
    await pool.drain();
  } finally {
    await pool.close();
  }
  const of = (job: number) => events.filter((e) => "job" in e && e.job === job).map((e) => e.t);
  assert.deepEqual(of(1), ["s"]);
  assert.match((events.find((e) => e.t === "s") as { reason: string }).reason, /no longer a regular file/);
  assert.deepEqual(of(2), ["b"]);
  assert.equal((events.find((e) => e.t === "b") as { size: number }).size, 5000);
  assert.deepEqual(of(3), ["c", "d"]);
});
