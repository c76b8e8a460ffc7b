/**
 * End-to-end round trips: pack → verify → unpack byte-exact, with every subset of missing
 * drives the parity allows, beyond it, and on awkward datasets (unicode and non-UTF-8 names,
 * empty files and folders, symlinks, an empty source, one large file). 10,000 small files:
 * manyfiles.test.ts.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  lstatSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Chunker } from "../chunk/index.js";
import type { FileEntry } from "../format/index.js";
import { type DriveSpec, keygen, type PackResult, pack, unpack, verify } from "../index.js";
import * as tk from "./testkit.js";

const key = keygen();
const unlock = { identities: [key.identity] };

describe("round trip on 5 drives tolerating any 2", () => {
  let dir = "";
  let src = "";
  let drives: DriveSpec[] = [];
  let paths: string[] = [];
  let packed: PackResult;
  let ds: tk.Dataset;
  let outN = 0;
  const out = () => join(dir, `out-${outN++}`);

  before(async () => {
    dir = await tk.tempDir();
    src = join(dir, "src");
    ds = await tk.makeDataset(src);
    drives = tk.flatDrives(dir, 5);
    paths = drives.map((d) => d.path);
    packed = await pack(tk.packOpts(src, drives, join(dir, "catalog.db"), { recipients: [key.recipient] }));
  });
  after(() => tk.removeDir(dir));

  test("pack lays out one group of 3 data + 2 parity and the full set verifies healthy", async () => {
    assert.equal(packed.resumed, false);
    assert.equal(packed.alreadyComplete, false);
    assert.deepEqual(
      { k: packed.layout.k, m: packed.layout.m, groups: packed.layout.groups.length },
      { k: 3, m: 2, groups: 1 },
    );
    assert.equal(packed.stats.files, ds.files.length);
    assert.equal(packed.stats.bytes, ds.bytes);
    assert.equal(packed.stats.symlinks, 4);
    assert.ok(packed.stats.dedupChunks > 0, "duplicate files must dedup");
    assert.deepEqual(packed.skipped, []);
    const v = await verify({ drives: paths, full: true, unlock, statePath: null });
    assert.equal(v.status, "healthy");
    assert.equal(v.exitCode, 0);
    assert.equal(v.unrecoverableStripes, 0);
    assert.equal(v.degradedStripes, 0);
    assert.equal(v.decrypt?.files, ds.files.length);
    assert.deepEqual(v.decrypt?.failed, []);
    for (const d of v.drives) {
      assert.equal(d.ok, d.blocks);
      assert.equal(d.damaged + d.missing, 0);
      assert.deepEqual(d.problems, []);
    }
    const again = await pack(
      tk.packOpts(src, drives, join(dir, "catalog.db"), { recipients: [key.recipient] }),
    );
    assert.equal(again.alreadyComplete, true);
    assert.equal(again.set, packed.set);
  });

  test("the full set unpacks byte-exact, with unicode, raw-byte names, empty entries and symlinks", async () => {
    const to = out();
    const r = await unpack({ drives: paths, to, unlock });
    await tk.compareTrees(src, to);
    assert.deepEqual(
      { files: r.files, dirs: r.dirs, symlinks: r.symlinks, bytes: r.bytes },
      {
        files: packed.stats.files,
        dirs: packed.stats.dirs,
        symlinks: packed.stats.symlinks,
        bytes: packed.stats.bytes,
      },
    );
    assert.equal(r.repairedStripes, 0);
    assert.equal(r.badBlocks, 0);
    assert.deepEqual(r.lost, []);
    assert.equal(r.resumed, false);
    // Spot checks on top of compareTrees, so a broken comparison cannot hide them.
    assert.ok(existsSync(join(to, "données", "日本語 ✓.csv")));
    assert.ok(lstatSync(Buffer.concat([Buffer.from(`${to}/`), tk.INVALID_UTF8_NAME])).isFile());
    assert.equal(lstatSync(join(to, "empty.txt")).size, 0);
    assert.deepEqual(readdirSync(join(to, "empty-dir")), []);
    assert.ok(lstatSync(join(to, "links", "dangling")).isSymbolicLink());
    assert.equal(readlinkSync(join(to, "links", "dangling")), "../nowhere/missing.txt");
    assert.equal(lstatSync(join(to, "bin", "run.sh")).mode & 0o777, 0o755);
    assert.equal(lstatSync(join(to, "private")).mode & 0o777, 0o750);
  });

  test("every subset of up to 2 missing drives: verify says recoverable and unpack is byte-exact", async () => {
    const idx = [0, 1, 2, 3, 4];
    const cases = [...tk.subsets(idx, 1), ...tk.subsets(idx, 2)];
    assert.equal(cases.length, 15);
    for (const missing of cases) {
      const present = idx.filter((i) => !missing.includes(i)).map((i) => paths[i]!);
      const v = await verify({ drives: present, statePath: null });
      assert.equal(v.exitCode, 3, `missing ${missing}: exit code`);
      assert.equal(v.status, "degraded");
      assert.equal(v.recoverable, true);
      assert.equal(v.unrecoverableStripes, 0);
      assert.deepEqual(
        v.drives.filter((d) => !d.present).map((d) => d.index),
        missing,
      );
      const to = out();
      const r = await unpack({ drives: present, to, unlock });
      await tk.compareTrees(src, to);
      assert.deepEqual(r.lost, []);
      // Shards 0..2 of every stripe are data: only their loss needs a rebuild.
      assert.equal(
        r.repairedStripes > 0,
        missing.some((i) => i < 3),
        `missing ${missing}: repaired`,
      );
    }
  });

  test("3 missing drives lose every stripe: verify exit 4 names the loss, unpack refuses", async () => {
    for (const missing of tk.subsets([0, 1, 2, 3, 4], 3)) {
      const present = paths.filter((_, i) => !missing.includes(i));
      const v = await verify({ drives: present, statePath: null });
      assert.equal(v.exitCode, 4, `missing ${missing}`);
      assert.equal(v.status, "loss");
      assert.equal(v.recoverable, false);
      assert.equal(v.unrecoverableStripes, v.stripes);
      assert.equal(v.lostFiles, null, "without a key verify cannot name files");
      assert.ok(v.repairPlan.some((l) => l.includes("Data loss")));
    }
    // With a key, verify names what is lost. Whether the index itself survives depends on
    // whether a present drive holds a plain replica of it (manifest index.replicas).
    const present = paths.slice(3);
    const manifest = await tk.readManifest(paths[0]!);
    const replicas = (manifest.index as { replicas?: number[] }).replicas ?? [];
    const indexSurvives = replicas.some((i) => i >= 3);
    const v = await verify({ drives: present, unlock, statePath: null });
    assert.equal(v.exitCode, 4);
    const to = out();
    await mkdir(to);
    if (!indexSurvives) {
      assert.ok(v.lostFiles?.some((f) => f.includes("index itself is unrecoverable")));
      await tk.rejectsWith(unpack({ drives: present, to, unlock }), "E_UNRECOVERABLE");
      assert.deepEqual(readdirSync(to), [], "nothing may be written when the index is lost");
    } else {
      const nonEmpty = ds.files.filter((f) => !["empty.txt", "nested/a/empty-file"].includes(f)).sort();
      assert.deepEqual([...(v.lostFiles ?? [])].sort(), nonEmpty);
      const r = await unpack({ drives: present, to, unlock });
      assert.deepEqual(r.lost.map((l) => l.path).sort(), nonEmpty);
      assert.equal(r.files, 2, "only the empty files can be restored");
    }
  });
});

describe("round trip on awkward sources", () => {
  let dir = "";
  before(async () => {
    dir = await tk.tempDir();
  });
  after(() => tk.removeDir(dir));

  test("an empty source packs, verifies and unpacks to an empty folder", async () => {
    const src = join(dir, "empty-src");
    await mkdir(src);
    const drives = tk.flatDrives(join(dir, "e"), 3);
    const r = await pack(
      tk.packOpts(src, drives, join(dir, "e.db"), { tolerate: "1", recipients: [key.recipient] }),
    );
    assert.deepEqual([r.stats.files, r.stats.dirs, r.stats.symlinks, r.stats.bytes], [0, 0, 0, 0]);
    const paths = drives.map((d) => d.path);
    const v = await verify({ drives: paths, full: true, unlock, statePath: null });
    assert.equal(v.exitCode, 0);
    const to = join(dir, "e-out");
    const u = await unpack({ drives: paths.slice(1), to, unlock });
    assert.equal(u.files, 0);
    await tk.compareTrees(src, to);
  });

  test("a 20 MB and a 3 MB file with default chunk sizes round-trip with a data drive missing", async () => {
    const src = join(dir, "big-src");
    await mkdir(src);
    const big = tk.randomData(tk.rng(20), 20 << 20);
    await writeFile(join(src, "big.bin"), big);
    // Fits in pack's read buffer (cut in place) while big.bin streams through a Chunker.
    const mid = tk.randomData(tk.rng(21), 3 << 20);
    await writeFile(join(src, "mid.bin"), mid);
    const drives = tk.flatDrives(join(dir, "b"), 4);
    const r = await pack({
      source: src,
      drives,
      tolerate: "1",
      recipients: [key.recipient],
      catalog: join(dir, "b.db"),
      blockSize: 256 << 10,
      fsync: false,
    });
    assert.equal(r.stats.bytes, (20 << 20) + (3 << 20));
    assert.ok(r.stats.chunks >= 6, `expected several default-size chunks, got ${r.stats.chunks}`);
    // Both paths cut exactly where the content-defined chunker does.
    const info = await tk.inspectSet(
      drives.map((d) => d.path),
      key.identity,
    );
    for (const [name, data] of [
      ["big.bin", big],
      ["mid.bin", mid],
    ] as const) {
      const e = info.entries.find((x) => x.path.toString() === name) as FileEntry;
      const c = new Chunker();
      const want = [...c.push(data), ...c.finish()].map((b) => b.length);
      assert.deepEqual(
        e.chunks.map((x) => x.plainLength),
        want,
        name,
      );
    }
    const to = join(dir, "b-out");
    const u = await unpack({ drives: drives.slice(1).map((d) => d.path), to, unlock });
    assert.ok(u.repairedStripes > 0);
    await tk.compareTrees(src, to);
  });
});

describe("compareTrees, the yardstick of every round trip", () => {
  let dir = "";
  before(async () => {
    dir = await tk.tempDir();
  });
  after(() => tk.removeDir(dir));

  test("accepts an identical copy and catches every kind of difference", async () => {
    const a = join(dir, "a");
    await tk.makeDataset(a, { seed: 2, scale: 0.1 });
    let n = 0;
    const fresh = async () => {
      const b = join(dir, `b${n++}`);
      execFileSync("cp", ["-a", a, b]); // fs.cp cannot copy a name that is not UTF-8
      return b;
    };
    await tk.compareTrees(a, await fresh());
    const mutations: [string, (b: string) => void][] = [
      ["content", (b) => writeFileSync(join(b, "docs/README.txt"), "changed\n")],
      ["same-size content", (b) => writeFileSync(join(b, "nested/a/b/c/deep.txt"), "DEEP\n")],
      ["mode", (b) => chmodSync(join(b, "bin/run.sh"), 0o700)],
      ["folder mode", (b) => chmodSync(join(b, "private"), 0o755)],
      ["mtime", (b) => utimesSync(join(b, "empty.txt"), new Date(5000), new Date(5000))],
      [
        "symlink target",
        (b) => {
          rmSync(join(b, "links/dangling"));
          symlinkSync("elsewhere", join(b, "links/dangling"));
        },
      ],
      ["missing empty folder", (b) => rmSync(join(b, "empty-dir"), { recursive: true })],
      ["extra file", (b) => writeFileSync(join(b, "empty-dir", "extra"), "")],
      [
        "file instead of symlink",
        (b) => {
          rmSync(join(b, "links/to-csv"));
          writeFileSync(join(b, "links/to-csv"), "");
        },
      ],
    ];
    for (const [what, mutate] of mutations) {
      const b = await fresh();
      mutate(b);
      await assert.rejects(tk.compareTrees(a, b), assert.AssertionError, what);
    }
  });
});
