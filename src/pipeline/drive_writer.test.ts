import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { BLOCK_HEADER_SIZE, DRIVE_DIR, SUMS_FILE } from "../format/index.js";
import { DriveWriter } from "./drive_writer.js";
import { removeDir, tempDir } from "./testkit.js";

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
  const header = Buffer.alloc(BLOCK_HEADER_SIZE);
  const payload = Buffer.alloc(bs);
  const syncs: Promise<void>[] = [];
  // Blocks are written one after another (as the stripe writer does for one drive); syncs
  // start in between and overlap the next writes, as pack's background checkpoints do.
  for (let n = 0; n < 700; n++) {
    const h = randomBytes(32);
    hashes.push(h);
    await w.writeBlock(n, header, payload, h);
    if (n % 97 === 0) syncs.push(w.sync());
  }
  await Promise.all(syncs);
  await w.close();
  const sums = readFileSync(join(dir, "d", DRIVE_DIR, SUMS_FILE));
  assert.equal(sums.length, 700 * 32);
  assert.ok(sums.equals(Buffer.concat(hashes)));
});
