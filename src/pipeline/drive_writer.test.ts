import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { BLOCK_HEADER_SIZE, BLOCKS_DIR, blockLocation, DRIVE_DIR, SUMS_FILE } from "../format/index.js";
import { allocAligned, DIRECT_ALIGN, native } from "../native/index.js";
import { DriveWriter } from "./drive_writer.js";
import { removeDir, takesDirect, tempDir } from "./testkit.js";

let dir = "";
before(async () => {
  dir = await tempDir("ferry-drive-writer-");
});
after(() => removeDir(dir));

test("drive writer: syncs while blocks keep coming lose no SUMS entry and leave them in block order", async () => {
  const bs = 512;
  const w = new DriveWriter(join(dir, "d"), { index: 0, id: "00", bag: "a", group: 0, shard: 0 }, bs, true);
  await w.prepare();
  const hashes: Buffer[] = [];
  const record = Buffer.alloc(BLOCK_HEADER_SIZE + bs);
  const syncs: Promise<void>[] = [];
  // Blocks are written one after another (as the stripe writer does for one drive); syncs
  // start in between and overlap the next writes, as pack's background checkpoints do.
  for (let n = 0; n < 700; n++) {
    const h = randomBytes(32);
    hashes.push(h);
    await w.writeBlock(n, record, h);
    if (n % 97 === 0) syncs.push(w.sync());
  }
  await Promise.all(syncs);
  await w.close();
  const sums = readFileSync(join(dir, "d", DRIVE_DIR, SUMS_FILE));
  assert.equal(sums.length, 700 * 32);
  assert.ok(sums.equals(Buffer.concat(hashes)));
});

test("drive writer: overlapping writes land in order, in runs, with O_DIRECT where the filesystem takes it", async () => {
  const bs = DIRECT_ALIGN - BLOCK_HEADER_SIZE; // 4 KiB records
  const root = join(dir, "direct");
  const w = new DriveWriter(root, { index: 0, id: "00", bag: "a", group: 0, shard: 0 }, bs, true, true);
  await w.prepare();
  const want = native !== null && takesDirect(join(root, "probe"));
  const records = Array.from({ length: 40 }, (_, n) => {
    const r = allocAligned(BLOCK_HEADER_SIZE + bs);
    r.fill(n + 1);
    return r;
  });
  const hashes = records.map(() => randomBytes(32));
  // All handed over at once, as the stripe writer does with several stripes in flight.
  await Promise.all(records.map((r, n) => w.writeBlock(n, r, hashes[n]!)));
  await w.close();
  assert.equal(w.direct, want, "O_DIRECT is used exactly where the filesystem takes it");
  const seg = readFileSync(join(root, DRIVE_DIR, BLOCKS_DIR, blockLocation(0, bs).segment));
  assert.ok(seg.equals(Buffer.concat(records)));
  assert.ok(readFileSync(join(root, DRIVE_DIR, SUMS_FILE)).equals(Buffer.concat(hashes)));
});

test("drive writer: records that are not whole 4 KiB units are written through the page cache", () => {
  const w = new DriveWriter(
    join(dir, "x"),
    { index: 0, id: "00", bag: "a", group: 0, shard: 0 },
    1 << 20,
    true,
    true,
  );
  assert.equal(w.direct, false);
});

test("drive writer: a failed write fails the blocks queued behind it and every later one", async () => {
  const bs = 512;
  const root = join(dir, "broken");
  const w = new DriveWriter(root, { index: 0, id: "00", bag: "a", group: 0, shard: 0 }, bs, true);
  await w.prepare();
  // The blocks folder replaced by a file: the segment cannot be opened.
  rmSync(join(root, DRIVE_DIR, BLOCKS_DIR), { recursive: true });
  writeFileSync(join(root, DRIVE_DIR, BLOCKS_DIR), "not a folder");
  const record = Buffer.alloc(BLOCK_HEADER_SIZE + bs);
  const queued = [0, 1, 2].map((n) => w.writeBlock(n, record, randomBytes(32)));
  for (const p of queued) await assert.rejects(p, { code: "E_DRIVE_IO" });
  await assert.rejects(w.writeBlock(3, record, randomBytes(32)), { code: "E_DRIVE_IO" });
});
