/**
 * Deliberate tampering and mix-ups: edited manifests and labels, block payloads with forged
 * header hashes, reordered blocks, a genuine but stale block replayed from an earlier run,
 * wrong keys, a drive of another set and the same drive given twice.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { BLOCK_HEADER_SIZE, readBlockHeader } from "../format/index.js";
import { type DriveSpec, keygen, pack, unpack, verify } from "../index.js";
import * as tk from "./testkit.js";

const key = keygen();
const other = keygen();
const unlock = { identities: [key.identity] };
const PASS = "correct horse battery staple";

describe("tampered sets", () => {
  let dir = "";
  let src = "";
  let paths: string[] = [];
  let n = 0;

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
  const out = () => join(dir, `out-${n++}`);

  before(async () => {
    dir = await tk.tempDir();
    src = join(dir, "src");
    await tk.makeDataset(src, { seed: 3 });
    const drives = tk.flatDrives(join(dir, "orig"), 5);
    paths = drives.map((d) => d.path);
    await pack(
      tk.packOpts(src, drives, join(dir, "catalog.db"), {
        recipients: [key.recipient],
        passphrase: PASS,
        scryptLogN: 10,
      }),
    );
  });
  after(() => tk.removeDir(dir));

  /** Changes one digit of the "finished" time in a manifest: still valid JSON, bad signature. */
  const editManifest = async (drive: string) => {
    const p = tk.manifestPath(drive);
    const b = await readFile(p);
    const at = b.indexOf('"finished":"') + 14;
    b[at] = b[at] === 0x31 ? 0x32 : 0x31;
    await writeFile(p, b);
  };

  test("a manifest edited on one drive is refused and the other drives' copy is used", async () => {
    const set = await copySet();
    await editManifest(set[2]!);
    // And one with a byte of its JSON broken.
    const p3 = tk.manifestPath(set[3]!);
    const b = await readFile(p3);
    b[20] = 0x7b;
    await writeFile(p3, b);
    const v = await verify({ drives: set, statePath: null });
    assert.equal(v.exitCode, 3);
    assert.ok(
      v.drives[2]!.problems.some((p) => p.includes("signature")),
      v.drives[2]!.problems.join(),
    );
    assert.ok(v.drives[3]!.problems.length > 0);
    assert.deepEqual(v.drives[0]!.problems, []);
    const to = out();
    await unpack({ drives: set, to, unlock });
    await tk.compareTrees(src, to);
  });

  test("a drive that lost its MANIFEST is named by verify (exit 3); alone it cannot open the set", async () => {
    const set = await copySet();
    rmSync(tk.manifestPath(set[1]!));
    const v = await verify({ drives: set, statePath: null });
    assert.equal(v.exitCode, 3);
    assert.ok(
      v.drives[1]!.problems.some((p) => p.includes("MANIFEST missing")),
      v.drives[1]!.problems.join(),
    );
    assert.ok(v.repairPlan.some((l) => l.includes("drive 1") && l.includes("MANIFEST")));
    await tk.rejectsWith(verify({ drives: [set[1]!], statePath: null }), "E_INCOMPLETE_SET");
    const to = out();
    await unpack({ drives: set, to, unlock });
    await tk.compareTrees(src, to);
  });

  test("manifests edited on every drive: E_SIGNATURE, nothing unpacked", async () => {
    const set = await copySet();
    for (const d of set) await editManifest(d);
    await tk.rejectsWith(verify({ drives: set, statePath: null }), "E_SIGNATURE");
    const to = out();
    await tk.rejectsWith(unpack({ drives: set, to, unlock }), "E_SIGNATURE");
    assert.ok(!existsSync(to) || readdirSync(to).length === 0);
  });

  test("an edited label is refused with E_SIGNATURE", async () => {
    const set = await copySet();
    const p = join(set[1]!, "ferry", "LABEL");
    const b = await readFile(p);
    const at = b.indexOf('"created":"') + 13;
    b[at] = b[at] === 0x31 ? 0x32 : 0x31;
    await writeFile(p, b);
    const e = await tk.rejectsWith(verify({ drives: set, statePath: null }), "E_SIGNATURE");
    assert.match(e.message, /drive-1/);
  });

  test("a block payload changed with a recomputed header hash is caught by SUMS and healed", async () => {
    const set = await copySet();
    const B = 4096;
    const rec = await tk.readRecord(set[0]!, 2, B);
    rec[BLOCK_HEADER_SIZE + 33]! ^= 0xff;
    tk.rehashRecord(rec);
    await tk.writeRecord(set[0]!, 2, B, rec);
    const v = await verify({ drives: set, full: true, unlock, statePath: null });
    assert.equal(v.exitCode, 3);
    assert.equal(v.drives[0]!.damaged, 1);
    assert.ok(v.drives[0]!.problems.some((p) => p.startsWith("block 2:") && p.includes("SUMS")));
    const to = out();
    const r = await unpack({ drives: set, to, unlock });
    await tk.compareTrees(src, to);
    assert.ok(r.repairedStripes >= 1);
  });

  test("a block rewritten together with its SUMS entry: the signed manifest exposes SUMS, parity heals", async () => {
    const set = await copySet();
    const B = 4096;
    const rec = await tk.readRecord(set[0]!, 2, B);
    rec[BLOCK_HEADER_SIZE + 33]! ^= 0xff;
    tk.rehashRecord(rec);
    await tk.writeRecord(set[0]!, 2, B, rec);
    const sums = await readFile(tk.sumsPath(set[0]!));
    rec.copy(sums, 2 * 32, 40, 72);
    await writeFile(tk.sumsPath(set[0]!), sums);
    const quick = await verify({ drives: set, statePath: null });
    assert.equal(quick.exitCode, 3);
    assert.ok(quick.drives[0]!.problems.some((p) => p.includes("SUMS file does not match the manifest")));
    const v = await verify({ drives: set, full: true, unlock, statePath: null });
    assert.equal(v.exitCode, 3, v.repairPlan.join("\n"));
    assert.deepEqual(v.decrypt?.failed, []);
    const to = out();
    await unpack({ drives: set, to, unlock });
    await tk.compareTrees(src, to);
  });

  test("a block rewritten and the SUMS file cut short: parity heals", async () => {
    const set = await copySet();
    const B = 4096;
    const rec = await tk.readRecord(set[1]!, 5, B);
    rec[BLOCK_HEADER_SIZE + 99]! ^= 0xff;
    tk.rehashRecord(rec);
    await tk.writeRecord(set[1]!, 5, B, rec);
    const sums = await readFile(tk.sumsPath(set[1]!));
    await writeFile(tk.sumsPath(set[1]!), sums.subarray(0, 5 * 32));
    const v = await verify({ drives: set, full: true, unlock, statePath: null });
    assert.equal(v.exitCode, 3, v.repairPlan.join("\n"));
    assert.ok(v.drives[1]!.problems.some((p) => p.includes("SUMS")));
    const to = out();
    await unpack({ drives: set, to, unlock });
    await tk.compareTrees(src, to);
  });

  test("two blocks of a drive swapped (reordered) are detected and healed", async () => {
    const set = await copySet();
    const B = 4096;
    const a = await tk.readRecord(set[1]!, 1, B);
    const b = await tk.readRecord(set[1]!, 4, B);
    await tk.writeRecord(set[1]!, 1, B, b);
    await tk.writeRecord(set[1]!, 4, B, a);
    const v = await verify({ drives: set, full: true, statePath: null });
    assert.equal(v.exitCode, 3);
    assert.equal(v.drives[1]!.damaged, 2);
    assert.ok(v.drives[1]!.problems.some((p) => p.startsWith("block 1:") && p.includes("stripe 4")));
    assert.ok(v.drives[1]!.problems.some((p) => p.startsWith("block 4:") && p.includes("stripe 1")));
    const to = out();
    await unpack({ drives: set, to, unlock });
    await tk.compareTrees(src, to);
  });

  test("a stripe's blocks swapped between two drives are detected and healed", async () => {
    const set = await copySet();
    const B = 4096;
    const a = await tk.readRecord(set[0]!, 3, B);
    const b = await tk.readRecord(set[1]!, 3, B);
    await tk.writeRecord(set[0]!, 3, B, b);
    await tk.writeRecord(set[1]!, 3, B, a);
    const v = await verify({ drives: set, full: true, statePath: null });
    assert.equal(v.exitCode, 3);
    assert.deepEqual(
      v.drives.map((d) => d.damaged),
      [1, 1, 0, 0, 0],
    );
    assert.ok(v.drives[0]!.problems.some((p) => p.includes("shard 1")));
    const to = out();
    await unpack({ drives: set, to, unlock });
    await tk.compareTrees(src, to);
  });

  test("wrong identity: E_KEY before anything is written into the target", async () => {
    const to = out();
    await mkdir(to);
    await tk.rejectsWith(unpack({ drives: paths, to, unlock: { identities: [other.identity] } }), "E_KEY");
    assert.deepEqual(readdirSync(to), []);
    const fresh = out();
    await tk.rejectsWith(
      unpack({ drives: paths, to: fresh, unlock: { identities: [other.identity] } }),
      "E_KEY",
    );
    assert.ok(!existsSync(fresh), "the target must not even be created");
    await tk.rejectsWith(unpack({ drives: paths, to: fresh, unlock: {} }), "E_KEY");
    await tk.rejectsWith(
      verify({ drives: paths, unlock: { identities: [other.identity] }, statePath: null }),
      "E_KEY",
    );
  });

  test("wrong passphrase: E_KEY; the right one opens the set", async () => {
    const to = out();
    await mkdir(to);
    await tk.rejectsWith(unpack({ drives: paths, to, unlock: { passphrase: "wrong" } }), "E_KEY");
    assert.deepEqual(readdirSync(to), []);
    const v = await verify({ drives: paths, full: true, unlock: { passphrase: PASS }, statePath: null });
    assert.equal(v.exitCode, 0);
    assert.deepEqual(v.decrypt?.failed, []);
  });

  test("verify without a key still checks everything it can (exit 0)", async () => {
    const v = await verify({ drives: paths, full: true, statePath: null });
    assert.equal(v.exitCode, 0);
    assert.equal(v.decrypt, null);
    assert.ok(v.drives.every((d) => d.ok === d.blocks && d.blocks > 0));
  });

  test("a drive of another set: E_FOREIGN_DRIVE naming it", async () => {
    const src2 = join(dir, "src2");
    await mkdir(src2);
    await writeFile(join(src2, "a.txt"), "another set\n");
    const drives2 = tk.flatDrives(join(dir, "set2"), 3);
    await pack(
      tk.packOpts(src2, drives2, join(dir, "catalog.db"), { tolerate: "1", recipients: [key.recipient] }),
    );
    const foreign = drives2[1]!.path;
    const mixed = [...paths.slice(0, 4), foreign];
    const e = await tk.rejectsWith(verify({ drives: mixed, statePath: null }), "E_FOREIGN_DRIVE");
    assert.ok(e.message.includes(foreign), e.message);
    const to = out();
    const e2 = await tk.rejectsWith(unpack({ drives: [foreign, ...paths], to, unlock }), "E_FOREIGN_DRIVE");
    assert.ok(e2.message.includes(foreign), e2.message);
    assert.ok(!existsSync(to));
  });

  test("the same drive twice (a copied drive folder): E_DUPLICATE_DRIVE", async () => {
    const copy = join(dir, "copy-of-drive-3");
    await tk.copyDrive(paths[3]!, copy);
    const e = await tk.rejectsWith(
      verify({ drives: [...paths, copy], statePath: null }),
      "E_DUPLICATE_DRIVE",
    );
    assert.ok(e.message.includes(copy) && e.message.includes(paths[3]!), e.message);
    await tk.rejectsWith(
      unpack({ drives: [paths[0]!, paths[3]!, copy], to: out(), unlock }),
      "E_DUPLICATE_DRIVE",
    );
  });
});

describe("a replayed block", () => {
  let dir = "";
  before(async () => {
    dir = await tk.tempDir();
  });
  after(() => tk.removeDir(dir));

  test("a genuine block of the same set, from an interrupted earlier run, is caught as stale", async () => {
    const src = join(dir, "src");
    await tk.makeDataset(src, { seed: 9 });
    // Pack stops when it meets this pipe (walked last), after writing stripes it never
    // checkpointed: the resumed run rewrites them with fresh nonces.
    tk.mkfifo(join(src, "zzz-pipe"));
    const drives: DriveSpec[] = tk.flatDrives(join(dir, "d"), 4);
    // One thread: files are then written in walk order, so stripes are on the drives when the
    // walk meets the pipe (with workers, the walk runs ahead of the writes).
    const opts = tk.packOpts(src, drives, join(dir, "catalog.db"), {
      recipients: [key.recipient],
      threads: 0,
    });
    await assert.rejects(
      pack({
        ...opts,
        onEvent: (e) => {
          if (e.type === "skip") throw new Error("interrupted");
        },
      }),
      /interrupted/,
    );
    const B = 4096;
    const old = await tk.readRecord(drives[0]!.path, 1, B);
    const r = await pack(opts);
    assert.equal(r.resumed, true);
    assert.deepEqual(
      r.skipped.map((s) => s.path),
      ["zzz-pipe"],
    );
    const cur = await tk.readRecord(drives[0]!.path, 1, B);
    const ho = readBlockHeader(old)!;
    const hc = readBlockHeader(cur)!;
    assert.ok(ho.setId.equals(hc.setId));
    assert.deepEqual([ho.stripe, ho.shard, ho.group], [hc.stripe, hc.shard, hc.group]);
    assert.ok(!old.equals(cur), "the rewritten stripe must differ (fresh nonces)");
    await tk.writeRecord(drives[0]!.path, 1, B, old);
    const paths = drives.map((d) => d.path);
    const v = await verify({ drives: paths, full: true, statePath: null });
    assert.equal(v.exitCode, 3);
    assert.equal(v.drives[0]!.damaged, 1);
    assert.ok(v.drives[0]!.problems.some((p) => p.startsWith("block 1:") && p.includes("replayed or stale")));
    rmSync(join(src, "zzz-pipe"));
    const to = join(dir, "out");
    await unpack({ drives: paths, to, unlock });
    await tk.compareTrees(src, to);
  });
});
