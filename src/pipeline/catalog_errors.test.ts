import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import Database from "better-sqlite3";
import { FerryError } from "../errors.js";
import { keygen } from "./keygen.js";
import { pack } from "./pack.js";
import { compareTrees, flatDrives, makeDataset, packOpts, removeDir, tempDir } from "./testkit.js";
import { unpack } from "./unpack.js";
import { verify } from "./verify.js";

let dir = "";
before(async () => {
  dir = await tempDir("ferry-catalog-err-");
});
after(() => removeDir(dir));

// Review finding: a failed catalog commit used to be reported as one unreadable file while the
// files of that checkpoint silently dropped out of the set.
test("a catalog that cannot be written stops pack with E_CATALOG; the rerun loses nothing", async () => {
  const src = join(dir, "src");
  const ds = await makeDataset(src, { seed: 3 });
  const key = keygen();
  const catalog = join(dir, "cat.db");
  const drives = flatDrives(join(dir, "drives"), 3);
  const opts = packOpts(src, drives, catalog, {
    tolerate: "1",
    recipients: [key.recipient],
    checkpointBytes: 64 << 10,
  });
  let locker: Database.Database | null = null;
  await assert.rejects(
    pack({
      ...opts,
      onCheckpoint: () => {
        if (locker) return;
        // Another process takes the catalog's write lock: the next commit waits, then fails.
        locker = new Database(catalog);
        locker.exec("BEGIN IMMEDIATE");
      },
    }),
    (e) => FerryError.is(e, "E_CATALOG") && /another process|catalog/i.test(`${e.message} ${e.hint}`),
  );
  assert.ok(locker, "a checkpoint happened");
  (locker as unknown as Database.Database).exec("ROLLBACK");
  (locker as unknown as Database.Database).close();

  const r = await pack(opts);
  assert.equal(r.resumed, true);
  assert.equal(r.skipped.length, 0);
  // The manifest's totals cover the whole set, not just what the resumed run packed.
  assert.equal(r.stats.files, ds.files.length);
  assert.equal(r.stats.bytes, ds.bytes);
  const paths = drives.map((d) => d.path);
  assert.equal((await verify({ drives: paths, full: true, statePath: null })).exitCode, 0);
  const out = join(dir, "out");
  await unpack({ drives: paths, to: out, unlock: { identities: [key.identity] } });
  await compareTrees(src, out);
});
