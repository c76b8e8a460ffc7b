/**
 * 10,000 small files: pack, unpack from a degraded set, byte-exact. In a file of its own
 * because it is the slowest round trip (file-system latency per file), so that the test
 * runner overlaps it with the other files.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { keygen, pack, unpack } from "../index.js";
import * as tk from "./testkit.js";

const key = keygen();
const unlock = { identities: [key.identity] };

describe("round trip of many small files", () => {
  let dir = "";
  before(async () => {
    dir = await tk.tempDir();
  });
  after(() => tk.removeDir(dir));

  test("10,000 small files round-trip", async () => {
    const src = join(dir, "many-src");
    tk.makeManyFiles(src, 10_000);
    const drives = tk.flatDrives(join(dir, "m"), 3);
    const r = await pack({
      source: src,
      drives,
      tolerate: "1",
      recipients: [key.recipient],
      catalog: join(dir, "m.db"),
      blockSize: 64 << 10,
      fsync: false,
    });
    assert.equal(r.stats.files, 10_000);
    assert.equal(r.stats.dirs, 100);
    const to = join(dir, "m-out");
    const u = await unpack({ drives: drives.slice(0, 2).map((d) => d.path), to, unlock });
    assert.equal(u.files, 10_000);
    await tk.compareTrees(src, to);
  });
});
