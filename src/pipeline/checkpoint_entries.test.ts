import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Catalog } from "../catalog/catalog.js";
import { keygen } from "./keygen.js";
import { type PackOptions, pack } from "./pack.js";
import { compareTrees, flatDrives, packOpts, removeDir, tempDir } from "./testkit.js";
import { unpack } from "./unpack.js";

// Entries wait in memory (about 1 KB each) until a checkpoint records them. With checkpoints
// only every 256 MiB of log, a million 1 KB files would all have waited: a checkpoint also comes
// after checkpointEntries entries.

let dir = "";
let src = "";
const key = keygen();
const FILES = 600;

before(async () => {
  dir = await tempDir("ferry-ckpt-entries-");
  src = join(dir, "src");
  for (let i = 0; i < FILES; i++) {
    const sub = join(src, `d${i % 6}`);
    await mkdir(sub, { recursive: true });
    await writeFile(join(sub, `f${i}.bin`), randomBytes(1000 + ((i * 37) % 2000)));
  }
});
after(() => removeDir(dir));

const run = async (name: string, extra: Partial<PackOptions>) => {
  const drives = flatDrives(join(dir, name), 4);
  let checkpoints = 0;
  const opts = packOpts(src, drives, join(dir, `${name}.db`), {
    recipients: [key.recipient],
    checkpointBytes: 1 << 30,
    onEvent: (e) => {
      if (e.type === "checkpoint") checkpoints++;
    },
    ...extra,
  });
  return { drives, opts, result: await pack(opts), checkpoints: () => checkpoints };
};

test("many small files get checkpoints by count, not only by log bytes", async () => {
  const byBytes = await run("bytes", {});
  // The default count is far above 607 entries (600 files, 7 folders): only the two at the end,
  // after the data and after the index.
  assert.equal(byBytes.checkpoints(), 2);
  const byCount = await run("count", { checkpointEntries: 100 });
  assert.ok(byCount.checkpoints() >= 2 + 5, `${byCount.checkpoints()} checkpoints`);
  const to = join(dir, "out-count");
  await unpack({ drives: byCount.drives.map((d) => d.path), to, unlock: { identities: [key.identity] } });
  await compareTrees(src, to);
});

test("a pack stopped after a checkpoint by count resumes from it", async () => {
  let seen = 0;
  const drives = flatDrives(join(dir, "resume"), 4);
  const opts = packOpts(src, drives, join(dir, "resume.db"), {
    recipients: [key.recipient],
    checkpointBytes: 1 << 30,
    checkpointEntries: 150,
  });
  await assert.rejects(
    pack({
      ...opts,
      onCheckpoint: () => {
        if (++seen === 2) throw new Error("stopped");
      },
    }),
    /stopped/,
  );
  // The two checkpoints recorded about 300 entries, though the log never reached checkpointBytes.
  const cat = Catalog.open(opts.catalog!);
  const recorded = cat.countEntries(cat.setsForSource(src)[0]!.no);
  cat.close();
  assert.ok(recorded >= 290 && recorded < FILES, `${recorded} entries recorded`);
  const r = await pack(opts);
  assert.equal(r.resumed, true);
  assert.equal(r.stats.files, FILES);
  const to = join(dir, "out-resume");
  await unpack({ drives: drives.map((d) => d.path), to, unlock: { identities: [key.identity] } });
  await compareTrees(src, to);
});
