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

// Review finding: the count was checked only when a new chunk was stored, so a tree of folders,
// empty files and duplicates (no new chunk) still waited in memory until the end.
test("entries that store no new chunk (folders, empty files, duplicates) still get checkpoints by count", async () => {
  const tree = join(dir, "nochunks");
  const same = randomBytes(3000);
  for (let i = 0; i < 400; i++) {
    const sub = join(tree, `d${i % 40}`, `e${i % 7}`);
    await mkdir(sub, { recursive: true });
    await writeFile(join(sub, `empty${i}`), "");
    await writeFile(join(sub, `dup${i}`), same);
  }
  for (const threads of [0, 2]) {
    const drives = flatDrives(join(dir, `nochunks-${threads}`), 4);
    let checkpoints = 0;
    await pack(
      packOpts(tree, drives, join(dir, `nochunks-${threads}.db`), {
        recipients: [key.recipient],
        threads,
        checkpointBytes: 1 << 30,
        checkpointEntries: 100,
        onEvent: (e) => {
          if (e.type === "checkpoint") checkpoints++;
        },
      }),
    );
    // 1,121 entries (800 files, 321 folders) and a single stored chunk: without the count, only
    // the two checkpoints at the end. With workers the count is checked per batch of up to 256
    // files, so it may pass 100 before a checkpoint comes.
    assert.ok(checkpoints >= 2 + 4, `threads ${threads}: ${checkpoints} checkpoints`);
    const to = join(dir, `out-nochunks-${threads}`);
    await unpack({ drives: drives.map((d) => d.path), to, unlock: { identities: [key.identity] } });
    await compareTrees(tree, to);
  }
});
