/**
 * Damage within and beyond the parity bound: a whole bag lost, a bag plus one more drive,
 * bit flips on one drive, and the same stripe damaged on more drives than parity covers.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { BLOCK_HEADER_SIZE } from "../format/index.js";
import { type DriveSpec, keygen, type PackResult, pack, unpack, verify } from "../index.js";
import * as tk from "./testkit.js";

const key = keygen();
const unlock = { identities: [key.identity] };

describe("12 drives in 4 bags tolerating a bag", () => {
  let dir = "";
  let src = "";
  let drives: DriveSpec[] = [];
  let paths: string[] = [];
  let packed: PackResult;
  let info: tk.SetInfo;

  before(async () => {
    dir = await tk.tempDir();
    src = join(dir, "src");
    await tk.makeDataset(src, { seed: 12, scale: 2 });
    drives = tk.twelveDrives(dir);
    paths = drives.map((d) => d.path);
    packed = await pack(
      tk.packOpts(src, drives, join(dir, "catalog.db"), { tolerate: "bag", recipients: [key.recipient] }),
    );
    info = await tk.inspectSet(paths, key.identity);
  });
  after(() => tk.removeDir(dir));

  test("the layout is 3 groups of one drive per bag, 3 data + 1 parity", () => {
    assert.equal(packed.layout.groups.length, 3);
    assert.equal(packed.layout.k, 3);
    assert.equal(packed.layout.m, 1);
    for (const g of packed.layout.groups) {
      const bags = g.drives.map((i) => drives[i]!.bag);
      assert.equal(new Set(bags).size, 4, "each group must span every bag");
    }
  });

  test("any whole bag lost: verify exit 3 (recoverable) and unpack is byte-exact", async () => {
    for (const bag of ["baga", "bagb", "bagc", "bagd"]) {
      const present = drives.filter((d) => d.bag !== bag).map((d) => d.path);
      assert.equal(present.length, 9);
      const v = await verify({ drives: present, statePath: null });
      assert.equal(v.exitCode, 3, `bag ${bag} lost`);
      assert.equal(v.recoverable, true);
      assert.equal(v.unrecoverableStripes, 0);
      assert.equal(v.degradedStripes, v.stripes);
      const b = v.bags.find((x) => x.bag === bag)!;
      assert.deepEqual([b.drives, b.present], [3, 0]);
      const to = join(dir, `out-${bag}`);
      const r = await unpack({ drives: present, to, unlock });
      await tk.compareTrees(src, to);
      assert.deepEqual(r.lost, []);
      if (bag !== "bagd") assert.ok(r.repairedStripes > 0, "a data drive was lost: stripes must be rebuilt");
    }
  });

  test("a bag plus one more drive: verify exit 4 names exactly the lost files, unpack restores the rest", async () => {
    // Lose bag a, plus the bag-b drive of a group that holds no part of the index.
    const G = packed.layout.groups.length;
    const group = [0, 1, 2].find((g) => ![...info.indexStripes].some((s) => s % G === g));
    assert.ok(group !== undefined, "some group must be free of the index");
    const extra = packed.layout.groups[group]!.drives.find((i) => drives[i]!.bag === "bagb")!;
    const present = paths.filter((_p, i) => drives[i]!.bag !== "baga" && i !== extra);
    const lostStripes = new Set<number>();
    for (let s = group; s < info.manifest.stripes; s += G) lostStripes.add(s);
    const expected = tk.filesInStripes(info, lostStripes);
    assert.ok(expected.length > 0 && expected.length < info.entries.length);

    const quick = await verify({ drives: present, statePath: null });
    assert.equal(quick.exitCode, 4);
    assert.equal(quick.unrecoverableStripes, lostStripes.size);
    assert.equal(quick.lostFiles, null);
    const v = await verify({ drives: present, unlock, statePath: null });
    assert.equal(v.exitCode, 4);
    assert.equal(v.status, "loss");
    assert.deepEqual([...(v.lostFiles ?? [])].sort(), expected);
    assert.ok(v.repairPlan[0]!.includes(`drive ${extra}`), v.repairPlan[0]);

    const to = join(dir, "out-partial");
    const r = await unpack({ drives: present, to, unlock });
    assert.deepEqual(r.lost.map((l) => l.path).sort(), expected);
    await tk.compareTrees(src, to, { absent: tk.rawFilesInStripes(info, lostStripes) });
  });
});

describe("bit flips on a 5-drive set tolerating 2", () => {
  let dir = "";
  let src = "";
  let paths: string[] = [];
  let info: tk.SetInfo;
  let n = 0;

  /** A fresh copy of the packed drives to damage. */
  const copySet = async (): Promise<string[]> => {
    const root = join(dir, `copy-${n++}`);
    const out: string[] = [];
    for (let i = 0; i < paths.length; i++) {
      const p = join(root, `drive-${i}`);
      await tk.copyDrive(paths[i]!, p);
      out.push(p);
    }
    return out;
  };

  before(async () => {
    dir = await tk.tempDir();
    src = join(dir, "src");
    await tk.makeDataset(src, { seed: 5 });
    const drives = tk.flatDrives(join(dir, "orig"), 5);
    paths = drives.map((d) => d.path);
    await pack(tk.packOpts(src, drives, join(dir, "catalog.db"), { recipients: [key.recipient] }));
    info = await tk.inspectSet(paths, key.identity);
  });
  after(() => tk.removeDir(dir));

  test("flips on one drive: verify --full names the drive and blocks (exit 3), unpack is byte-exact", async () => {
    const set = await copySet();
    const B = info.layout.blockSize;
    const hit = [0, 3, info.manifest.stripes - 1];
    for (const b of hit) await tk.flipPayloadByte(set[1]!, b, B, 7 * b);
    const quick = await verify({ drives: set, statePath: null });
    assert.equal(quick.exitCode, 0, "a quick verify does not read blocks");
    const v = await verify({ drives: set, full: true, unlock, statePath: null });
    assert.equal(v.exitCode, 3);
    assert.equal(v.status, "degraded");
    assert.equal(v.recoverable, true);
    const d1 = v.drives[1]!;
    assert.equal(d1.path, set[1]);
    assert.equal(d1.damaged, hit.length);
    assert.equal(d1.ok, d1.blocks - hit.length);
    for (const b of hit)
      assert.ok(
        d1.problems.some((p) => p.startsWith(`block ${b}:`)),
        `block ${b} named`,
      );
    for (const d of v.drives.filter((x) => x.index !== 1)) assert.equal(d.damaged, 0);
    assert.equal(v.degradedStripes, hit.length);
    assert.deepEqual(v.decrypt?.failed, []);
    assert.ok(v.repairPlan.some((l) => l.includes("drive 1") && l.includes("3 damaged")));
    const to = join(dir, "flip-out");
    const r = await unpack({ drives: set, to, unlock });
    await tk.compareTrees(src, to);
    assert.ok(r.badBlocks >= 1);
    assert.ok(r.repairedStripes >= 1);
  });

  test("a segment cut short (an interrupted copy): verify counts the missing blocks, unpack heals", async () => {
    const set = await copySet();
    const B = info.layout.blockSize;
    const cut = 4;
    const seg = tk.blockFile(set[2]!, 0, B).file;
    const blocks = info.manifest.drives[2]!.blocks;
    truncateSync(seg, (blocks - cut) * (BLOCK_HEADER_SIZE + B) + 100);
    const quick = await verify({ drives: set, statePath: null });
    assert.equal(quick.exitCode, 3);
    assert.equal(quick.drives[2]!.missing, cut);
    const full = await verify({ drives: set, full: true, statePath: null });
    assert.equal(full.exitCode, 3);
    assert.deepEqual([full.drives[2]!.missing, full.drives[2]!.ok], [cut, blocks - cut]);
    const to = join(dir, "cut-out");
    await unpack({ drives: set, to, unlock });
    await tk.compareTrees(src, to);
  });

  test("a bit flip in a SUMS file: verify names it, unpack is byte-exact", async () => {
    const set = await copySet();
    const sums = readFileSync(tk.sumsPath(set[4]!));
    sums[32 * 6 + 5]! ^= 1;
    writeFileSync(tk.sumsPath(set[4]!), sums);
    const quick = await verify({ drives: set, statePath: null });
    assert.equal(quick.exitCode, 3);
    assert.ok(quick.drives[4]!.problems.some((p) => p.includes("SUMS")));
    const full = await verify({ drives: set, full: true, statePath: null });
    assert.equal(full.drives[4]!.damaged, 1);
    assert.ok(full.drives[4]!.problems.some((p) => p.startsWith("block 6:")));
    const to = join(dir, "sums-out");
    await unpack({ drives: set, to, unlock });
    await tk.compareTrees(src, to);
  });

  test("the same stripe damaged on m drives is still recoverable", async () => {
    const set = await copySet();
    const B = info.layout.blockSize;
    await tk.flipPayloadByte(set[0]!, 2, B);
    await tk.flipPayloadByte(set[4]!, 2, B);
    const v = await verify({ drives: set, full: true, statePath: null });
    assert.equal(v.exitCode, 3);
    assert.equal(v.unrecoverableStripes, 0);
    const to = join(dir, "m-out");
    await unpack({ drives: set, to, unlock });
    await tk.compareTrees(src, to);
  });

  test("a stripe damaged on 3 drives: verify --full exit 4 names exactly its files, unpack restores the rest", async () => {
    const set = await copySet();
    const B = info.layout.blockSize;
    // A stripe in the middle, away from the index, that some files use.
    const s = Math.floor(info.manifest.stripes / 2);
    assert.ok(!info.indexStripes.has(s));
    const expected = tk.filesInStripes(info, new Set([s]));
    assert.ok(expected.length > 0);
    for (const d of [0, 2, 3]) await tk.flipPayloadByte(set[d]!, s, B, 1000 + d);
    const v = await verify({ drives: set, full: true, unlock, statePath: null });
    assert.equal(v.exitCode, 4);
    assert.equal(v.unrecoverableStripes, 1);
    assert.deepEqual([...(v.lostFiles ?? [])].sort(), expected);
    const to = join(dir, "lost-out");
    const r = await unpack({ drives: set, to, unlock });
    assert.deepEqual(r.lost.map((l) => l.path).sort(), expected);
    for (const l of r.lost) assert.match(l.reason, /stripe/);
    await tk.compareTrees(src, to, { absent: tk.rawFilesInStripes(info, new Set([s])) });
    // A lost file leaves no temp file behind.
    assert.ok(!readdirSync(to, { recursive: true }).some((f) => String(f).includes(".ferry-tmp")));
  });
});
