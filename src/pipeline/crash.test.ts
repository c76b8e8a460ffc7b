/**
 * Interruptions: pack and unpack killed with SIGKILL in a child process (from inside at a
 * checkpoint, and from outside at seeded random times) and then resumed; a full verify
 * killed after its first state save and resumed without re-reading; a drive that fills up.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type DriveSpec, keygen, pack, unpack, verify } from "../index.js";
import { DriveReader } from "./drive_reader.js";
import * as tk from "./testkit.js";

const key = keygen();
const unlock = { identities: [key.identity] };

const hasLabels = (drives: DriveSpec[]) => drives.every((d) => existsSync(join(d.path, "ferry", "LABEL")));

describe("pack killed with SIGKILL", () => {
  let dir = "";
  let src = "";
  before(async () => {
    dir = await tk.tempDir();
    src = join(dir, "src");
    await tk.makeDataset(src, { seed: 21, scale: 2 });
  });
  after(() => tk.removeDir(dir));

  const finishAndCheck = async (drives: DriveSpec[], catalog: string, name: string) => {
    const r = await pack(tk.packOpts(src, drives, catalog, { recipients: [key.recipient], fsync: true }));
    const paths = drives.map((d) => d.path);
    const v = await verify({ drives: paths, full: true, unlock, statePath: null });
    assert.equal(v.exitCode, 0, v.repairPlan.join("\n"));
    assert.deepEqual(v.decrypt?.failed, []);
    const to = join(dir, `out-${name}`);
    await unpack({ drives: paths, to, unlock });
    await tk.compareTrees(src, to);
    return r;
  };

  test("from inside, right after a checkpoint, twice; then the rerun resumes", async () => {
    const drives = tk.flatDrives(join(dir, "inside"), 5);
    const catalog = join(dir, "inside.db");
    const opts = tk.packOpts(src, drives, catalog, {
      recipients: [key.recipient],
      fsync: true,
      checkpointBytes: 48 << 10,
    });
    const first = tk.startChild({ op: "pack", opts, killAtCheckpoint: 2 });
    const r1 = await first.done;
    assert.equal(r1.signal, "SIGKILL", r1.stderr);
    assert.match(r1.stdout, /^start false$/m);
    assert.match(r1.stdout, /^checkpoint 2 /m);
    assert.ok(hasLabels(drives));
    // An interrupted set has no manifest yet: it is refused as incomplete, not as damaged.
    const paths = drives.map((d) => d.path);
    await tk.rejectsWith(verify({ drives: paths, statePath: null }), "E_INCOMPLETE_SET");
    await tk.rejectsWith(unpack({ drives: paths, to: join(dir, "never"), unlock }), "E_INCOMPLETE_SET");
    assert.ok(!existsSync(join(dir, "never")));
    const second = tk.startChild({ op: "pack", opts, killAtCheckpoint: 3 });
    const r2 = await second.done;
    assert.equal(r2.signal, "SIGKILL", r2.stderr);
    assert.match(r2.stdout, /^start true$/m, "the second run resumes");
    // Progress is kept: the second run's first checkpoint is past the first run's last one.
    const stripesAt = (out: string, n: number) =>
      Number(new RegExp(`^checkpoint ${n} (\\d+)$`, "m").exec(out)![1]);
    assert.ok(stripesAt(r2.stdout, 1) > stripesAt(r1.stdout, 2));
    const r = await finishAndCheck(drives, catalog, "inside");
    assert.equal(r.resumed, true);
    assert.equal(r.alreadyComplete, false);
  });

  test("from outside at seeded random times; then the rerun resumes", async () => {
    const drives = tk.flatDrives(join(dir, "outside"), 5);
    const catalog = join(dir, "outside.db");
    const opts = tk.packOpts(src, drives, catalog, {
      recipients: [key.recipient],
      fsync: true,
      checkpointBytes: 32 << 10,
    });
    const rand = tk.rng(0xfe77);
    let interrupted = 0;
    let completed = false;
    for (let i = 0; i < 3 && !completed; i++) {
      const child = tk.startChild({ op: "pack", opts });
      await child.waitLine("start");
      await tk.sleep(Math.floor(rand() * 400));
      child.proc.kill("SIGKILL");
      const res = await child.done;
      if (res.stdout.includes("done ")) completed = true;
      else {
        assert.equal(res.signal, "SIGKILL", res.stderr);
        interrupted++;
      }
    }
    assert.ok(interrupted >= 1, "at least one kill must land mid-pack");
    const labelled = hasLabels(drives);
    const r = await finishAndCheck(drives, catalog, "outside");
    if (completed) assert.equal(r.alreadyComplete, true);
    else if (labelled) {
      // (alreadyComplete only if a kill landed between the catalog's last write and "done")
      assert.ok(r.resumed || r.alreadyComplete, "an interrupted labelled set must be resumed");
    }
  });
});

describe("unpack killed with SIGKILL", () => {
  let dir = "";
  before(async () => {
    dir = await tk.tempDir();
  });
  after(() => tk.removeDir(dir));

  test("mid-way, twice; the rerun resumes and the result is byte-exact", async () => {
    const src = join(dir, "src");
    await tk.makeDataset(src, { seed: 4, scale: 6 });
    tk.makeManyFiles(join(src, "many"), 600);
    const drives = tk.flatDrives(join(dir, "d"), 4);
    const paths = drives.map((d) => d.path);
    await pack(tk.packOpts(src, drives, join(dir, "catalog.db"), { recipients: [key.recipient] }));
    const to = join(dir, "out");
    const rand = tk.rng(77);
    const journal = () => readdirSync(to).find((f) => f.startsWith(".ferry-unpack-"));
    let kills = 0;
    for (let i = 0; i < 6 && kills < 2; i++) {
      // Unpack from a degraded set so the rerun also has to rebuild stripes.
      const child = tk.startChild({ op: "unpack", opts: { drives: paths.slice(1), to, unlock } });
      await child.waitLine("start");
      const t0 = Date.now();
      while (!(existsSync(to) && journal()) && Date.now() - t0 < 20_000) await tk.sleep(5);
      await tk.sleep(Math.floor(rand() * 150));
      child.proc.kill("SIGKILL");
      const res = await child.done;
      if (res.stdout.includes("done ") || !journal()) {
        // Finished before the kill (a finished run removes its journal): start over.
        await tk.removeDir(to);
        kills = 0;
        continue;
      }
      assert.equal(res.signal, "SIGKILL", res.stderr);
      kills++;
    }
    assert.equal(kills, 2, "two kills must land mid-unpack");
    const r = await unpack({ drives: paths.slice(1), to, unlock });
    assert.equal(r.resumed, true);
    assert.deepEqual(r.lost, []);
    await tk.compareTrees(src, to);
  });
});

describe("verify --full killed after its first state save", () => {
  let dir = "";
  before(async () => {
    dir = await tk.tempDir();
  });
  after(() => tk.removeDir(dir));

  test("the rerun resumes from the saved state and does not re-read checked blocks", async () => {
    const src = join(dir, "src");
    await tk.makeDataset(src, { seed: 8 });
    // Two drives, 512-byte blocks: ~800 blocks per drive, several 256-block batches.
    const drives = tk.flatDrives(join(dir, "d"), 2);
    const paths = drives.map((d) => d.path);
    const B = 512;
    await pack(
      tk.packOpts(src, drives, join(dir, "catalog.db"), {
        tolerate: "1",
        blockSize: B,
        recipients: [key.recipient],
      }),
    );
    const blocks = (await verify({ drives: paths, statePath: null })).drives.map((d) => d.blocks);
    assert.ok(
      blocks.every((b) => b > 600),
      `blocks per drive: ${blocks}`,
    );
    // One damaged block early on drive 0 (scanned before the kill), one late on drive 1.
    const late = blocks[1]! - 5;
    await tk.flipPayloadByte(paths[0]!, 3, B, 10);
    await tk.flipPayloadByte(paths[1]!, late, B, 10);

    const statePath = join(dir, "state", "verify.json");
    const res = await tk.verifyKilledAfterSave(paths, statePath);
    assert.equal(res.signal, "SIGKILL", `${res.stdout}\n${res.stderr}`);
    const saved = JSON.parse(readFileSync(statePath, "utf8")) as {
      drives: Record<string, { checked: number }>;
    };
    const savedChecked = Object.values(saved.drives).reduce((a, d) => a + d.checked, 0);
    assert.ok(savedChecked > 0);

    let reads = 0;
    const orig = DriveReader.prototype.readBlock;
    DriveReader.prototype.readBlock = function (this: DriveReader, ...args) {
      reads++;
      return orig.apply(this, args);
    };
    let resumedBlocks = -1;
    let total = -1;
    let v: Awaited<ReturnType<typeof verify>>;
    try {
      v = await verify({
        drives: paths,
        full: true,
        statePath,
        onEvent: (e) => {
          if (e.type === "start") {
            resumedBlocks = e.resumedBlocks;
            total = e.blocks;
          }
        },
      });
    } finally {
      DriveReader.prototype.readBlock = orig;
    }
    assert.equal(resumedBlocks, savedChecked);
    assert.ok(resumedBlocks > 0 && resumedBlocks < total);
    assert.equal(reads, total - resumedBlocks, "only unchecked blocks are read again");
    assert.equal(v.exitCode, 3);
    assert.equal(v.drives[0]!.damaged, 1);
    assert.ok(
      v.drives[0]!.problems.some((p) => p.startsWith("block 3:")),
      "damage found before the kill is kept",
    );
    assert.equal(v.drives[1]!.damaged, 1);
    assert.ok(v.drives[1]!.problems.some((p) => p.startsWith(`block ${late}:`)));
    assert.equal(v.drives[0]!.ok + v.drives[0]!.damaged, blocks[0]);
    assert.equal(v.drives[1]!.ok + v.drives[1]!.damaged, blocks[1]);
    assert.ok(!existsSync(statePath), "a finished run removes its state");
    // restart ignores saved state.
    const again = await verify({ drives: paths, full: true, statePath, restart: true });
    assert.equal(again.exitCode, 3);

    // Resumed with a key: the keyed pass decrypts every chunk (it keeps no progress of its own),
    // while the blocks the saved state had checked are not counted again.
    assert.equal((await tk.verifyKilledAfterSave(paths, statePath)).signal, "SIGKILL");
    let resumedKeyed = -1;
    const k = await verify({
      drives: paths,
      full: true,
      statePath,
      unlock,
      onEvent: (e) => {
        if (e.type === "start") resumedKeyed = e.resumedBlocks;
      },
    });
    assert.ok(resumedKeyed > 0, "the keyed rerun resumes the scan");
    assert.equal(k.exitCode, 3);
    assert.deepEqual(k.decrypt?.failed, []);
    assert.deepEqual(
      k.drives.map((d) => [d.ok, d.damaged, d.missing]),
      v.drives.map((d) => [d.ok, d.damaged, d.missing]),
    );
    assert.ok(!existsSync(statePath));
  });
});

describe("a drive that fills up", () => {
  let dir = "";
  let mnt = "";
  let mounted = false;
  before(async () => {
    dir = await tk.tempDir();
    mnt = join(dir, "small-drive");
    mkdirSync(mnt);
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=6m", "tmpfs", mnt], { stdio: "pipe" });
      mounted = true;
    } catch {
      mounted = false;
    }
  });
  after(async () => {
    if (mounted) execFileSync("umount", [mnt]);
    await tk.removeDir(dir);
  });

  test("pack stops with E_DRIVE_FULL; after the drive grows, the rerun completes and verifies", async (t) => {
    if (!mounted) {
      t.skip("cannot mount a tmpfs here (needs root and mount rights): drive-full path untested");
      return;
    }
    const src = join(dir, "src");
    mkdirSync(src);
    const rand = tk.rng(66);
    for (let i = 0; i < 5; i++) await writeFile(join(src, `part-${i}.bin`), tk.randomData(rand, 1 << 20));
    const drives: DriveSpec[] = [
      { bag: "a", path: join(dir, "big-0") },
      { bag: "b", path: mnt },
      { bag: "c", path: join(dir, "big-1") },
    ];
    const opts = tk.packOpts(src, drives, join(dir, "catalog.db"), {
      tolerate: "1",
      blockSize: 16384,
      recipients: [key.recipient],
      checkpointBytes: 256 << 10,
    });
    const e = await tk.rejectsWith(pack(opts), "E_DRIVE_FULL");
    assert.ok(e.message.includes(mnt), e.message);
    execFileSync("mount", ["-o", "remount,size=32m", mnt]);
    const r = await pack(opts);
    assert.equal(r.resumed, true);
    const paths = drives.map((d) => d.path);
    const v = await verify({ drives: paths, full: true, unlock, statePath: null });
    assert.equal(v.exitCode, 0);
    const to = join(dir, "out");
    await unpack({ drives: paths, to, unlock });
    await tk.compareTrees(src, to);
  });
});
