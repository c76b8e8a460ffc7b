/**
 * verify --full with a key reads the data blocks once: the keyed pass (every chunk decrypted, every
 * file hashed) reads them with every block check and the scan reads only the blocks it did not.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ENTRY_FILE } from "../format/index.js";
import { DriveReader } from "./drive_reader.js";
import { keygen } from "./keygen.js";
import { pack } from "./pack.js";
import * as tk from "./testkit.js";
import { verify } from "./verify.js";

const key = keygen();
const unlock = { identities: [key.identity] };

/** Runs `fn` counting every block read from any drive. */
async function countingReads<T>(fn: () => Promise<T>): Promise<{ value: T; reads: number }> {
  let reads = 0;
  const orig = DriveReader.prototype.readBlock;
  DriveReader.prototype.readBlock = function (this: DriveReader, ...args) {
    reads++;
    return orig.apply(this, args);
  };
  try {
    return { value: await fn(), reads };
  } finally {
    DriveReader.prototype.readBlock = orig;
  }
}

describe("verify --full with a key", () => {
  let dir = "";
  let paths: string[] = [];
  let total = 0;
  before(async () => {
    dir = await tk.tempDir();
    const src = join(dir, "src");
    await tk.makeDataset(src, { seed: 12, scale: 2 });
    const drives = tk.flatDrives(join(dir, "d"), 5);
    paths = drives.map((d) => d.path);
    await pack(
      tk.packOpts(src, drives, join(dir, "catalog.db"), {
        tolerate: "1",
        blockSize: tk.BLOCK,
        recipients: [key.recipient],
      }),
    );
    const q = await verify({ drives: paths, statePath: null });
    total = q.drives.reduce((a, d) => a + d.blocks, 0);
    assert.ok(total > 200, `blocks: ${total}`);
  });
  after(() => tk.removeDir(dir));

  test("reads every block once, and checks as many as the keyless scan", async () => {
    const keyless = await countingReads(() => verify({ drives: paths, full: true, statePath: null }));
    assert.equal(keyless.reads, total);
    const keyed = await countingReads(() => verify({ drives: paths, full: true, unlock, statePath: null }));
    const v = keyed.value;
    assert.equal(v.exitCode, 0);
    assert.ok((v.decrypt?.files ?? 0) > 0 && (v.decrypt?.chunks ?? 0) > 0);
    assert.deepEqual(v.decrypt?.failed, []);
    assert.deepEqual(
      v.drives.map((d) => [d.ok, d.damaged, d.missing]),
      keyless.value.drives.map((d) => [d.ok, d.damaged, d.missing]),
    );
    // Two passes read the data blocks twice (about 1.8 × here). A block may be read again only
    // where the keyed pass's cache gave it up (the index, read before the chunks, lies at the end).
    assert.ok(keyed.reads <= total * 1.05, `${keyed.reads} block reads for ${total} blocks`);
  });

  test("with a drive missing and a stripe lost: each block counted once, the lost files named", async () => {
    const B = tk.BLOCK;
    const info = await tk.inspectSet(paths, key.identity);
    // One group of 5 drives (k 4, m 1): block s of a drive is stripe s. Drive 3 is not at hand and
    // drive 1's block in a stripe away from the index is damaged: that stripe cannot be rebuilt.
    const s = Math.floor(info.manifest.stripes / 2);
    assert.ok(!info.indexStripes.has(s));
    const expected = tk.filesInStripes(info, new Set([s]));
    assert.ok(expected.length > 0);
    const copy = join(dir, "copy");
    const set: string[] = [];
    for (let i = 0; i < paths.length; i++) {
      const p = join(copy, `d${i}`);
      await tk.copyDrive(paths[i]!, p);
      set.push(p);
    }
    await tk.flipPayloadByte(set[1]!, s, B, 100);
    const at = set.filter((_, i) => i !== 3);
    const keyless = await verify({ drives: at, full: true, statePath: null });
    const { value: v, reads } = await countingReads(() =>
      verify({ drives: at, full: true, unlock, statePath: null }),
    );
    assert.equal(v.exitCode, 4);
    assert.equal(v.unrecoverableStripes, 1);
    assert.deepEqual([...(v.lostFiles ?? [])].sort(), expected);
    // Lost files are not decryption failures, and are not counted as checked.
    assert.deepEqual(v.decrypt?.failed, []);
    const files = info.entries.filter((e) => e.type === ENTRY_FILE).length;
    assert.equal(v.decrypt!.files, files - expected.length);
    assert.deepEqual(
      v.drives.map((d) => [d.ok, d.damaged, d.missing, d.present]),
      keyless.drives.map((d) => [d.ok, d.damaged, d.missing, d.present]),
    );
    assert.equal(v.drives[1]!.damaged, 1);
    assert.ok(v.drives[1]!.problems.some((p) => p.startsWith(`block ${s}:`)));
    const present = v.drives.filter((d) => d.present).reduce((a, d) => a + d.blocks, 0);
    assert.ok(reads <= present * 1.05, `${reads} block reads for ${present} blocks at hand`);
  });
});
