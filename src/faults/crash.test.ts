/**
 * Fault class 4, crash torture: pack SIGKILLed at seeded random moments (from outside) and
 * at random checkpoints (from inside), rerun each time until it finishes, then verify --full
 * and a byte-exact unpack; unpack SIGKILLed mid-way and rerun; verify --full killed after a
 * state save and resumed; a drive (a size-limited tmpfs) that fills up mid-pack, stops
 * cleanly with E_DRIVE_FULL and resumes after it is replaced by a bigger one.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type DriveSpec, keygen, pack, unpack, verify } from "../index.js";
import * as tk from "../pipeline/testkit.js";
import * as fk from "./kit.js";

const key = keygen();
const unlock = { identities: [key.identity] };

describe("fault class 4: crash torture", () => {
  let dir = "";
  let src = "";
  const rand = fk.classRng("crash");
  before(async () => {
    console.log(fk.banner("crash"));
    dir = await tk.tempDir("ferry-faults-crash-");
    src = join(dir, "src");
    await tk.makeDataset(src, { seed: fk.SEED + 4, scale: 2 });
  });
  after(() => tk.removeDir(dir));

  const checkSet = async (paths: string[], t: fk.Tally, name: string) => {
    const v = await verify({ drives: paths, full: true, unlock, statePath: null });
    assert.equal(v.exitCode, 0, `${name}: ${v.repairPlan.join(" / ")}`);
    assert.deepEqual(v.decrypt?.failed, []);
    const to = join(dir, `out-${name}`);
    await unpack({ drives: paths, to, unlock });
    await fk.expectSameTree(t, src, to);
    await tk.removeDir(to);
  };

  test("pack killed with SIGKILL at random moments and checkpoints; every rerun resumes to a byte-exact set", async () => {
    const kills = fk.scale(3, 24);
    const t = new fk.Tally("crash", "pack killed (SIGKILL) at random points, rerun");
    let chain = 0;
    let landed = 0;
    while (landed < kills) {
      const drives = tk.flatDrives(join(dir, `pack-${chain}`), 5);
      const catalog = join(dir, `pack-${chain}.db`);
      const opts = tk.packOpts(src, drives, catalog, {
        recipients: [key.recipient],
        fsync: true,
        checkpointBytes: 32 << 10,
      });
      let inChain = 0;
      // Up to 4 kills per set, alternating outside (random time) and inside (random checkpoint).
      for (let i = 0; i < 4 && landed < kills; i++) {
        const inside = i % 2 === 1;
        const child = tk.startChild(
          inside ? { op: "pack", opts, killAtCheckpoint: 1 + fk.pick(rand, 4) } : { op: "pack", opts },
        );
        if (!inside) {
          await child.waitLine("start").catch(() => undefined);
          await tk.sleep(fk.pick(rand, 500));
          child.proc.kill("SIGKILL");
        }
        const res = await child.done;
        if (res.stdout.includes("done ")) break; // finished before the kill
        assert.equal(res.signal, "SIGKILL", res.stderr);
        landed++;
        inChain++;
        t.cases++;
      }
      const r = await pack(opts);
      assert.ok(r.resumed || r.alreadyComplete || !existsSync(join(drives[0]!.path, "ferry", "LABEL")));
      await checkSet(
        drives.map((d) => d.path),
        t,
        `pack-${chain}`,
      );
      t.healed += inChain;
      await tk.removeDir(join(dir, `pack-${chain}`));
      chain++;
    }
    t.notes = `${chain} sets, ${landed} kills that landed mid-pack; "healed" counts kills whose set verified and unpacked byte-exact after the rerun`;
    t.save();
  });

  test("unpack killed with SIGKILL mid-way; the rerun resumes byte-exact", async () => {
    const kills = fk.scale(1, 6);
    const t = new fk.Tally("crash", "unpack killed (SIGKILL) mid-way, rerun");
    const big = join(dir, "usrc");
    await tk.makeDataset(big, { seed: 4, scale: 4 });
    tk.makeManyFiles(join(big, "many"), 400);
    const drives = tk.flatDrives(join(dir, "u"), 4);
    const paths = drives.map((d) => d.path);
    await pack(tk.packOpts(big, drives, join(dir, "u.db"), { recipients: [key.recipient] }));
    let run = 0;
    while (t.cases < kills && run < kills * 6) {
      const to = join(dir, `uout-${run++}`);
      const journal = () => existsSync(to) && readdirSync(to).some((f) => f.startsWith(".ferry-unpack-"));
      let landed = 0;
      for (let i = 0; i < 3; i++) {
        const child = tk.startChild({ op: "unpack", opts: { drives: paths.slice(1), to, unlock } });
        await child.waitLine("start").catch(() => undefined);
        const t0 = Date.now();
        while (!journal() && Date.now() - t0 < 20_000 && child.proc.exitCode === null) await tk.sleep(5);
        await tk.sleep(fk.pick(rand, 120));
        child.proc.kill("SIGKILL");
        const res = await child.done;
        if (res.stdout.includes("done ") || !journal()) break;
        landed++;
      }
      const r = await unpack({ drives: paths.slice(1), to, unlock });
      assert.deepEqual(r.lost, []);
      await fk.expectSameTree(t, big, to);
      if (landed > 0) {
        assert.equal(r.resumed, true);
        t.cases += landed;
        t.healed += landed;
      }
      await tk.removeDir(to);
    }
    assert.ok(t.cases >= kills, `only ${t.cases} kills landed mid-unpack`);
    t.save();
  });

  test("verify --full killed after a state save; the rerun resumes and gives the same verdict", async () => {
    const runs = fk.scale(1, 3);
    const t = new fk.Tally("crash", "verify --full killed (SIGKILL) after a state save, resumed");
    const vsrc = join(dir, "vsrc");
    await tk.makeDataset(vsrc, { seed: 8, scale: 0.5 });
    const drives = tk.flatDrives(join(dir, "v"), 2);
    const paths = drives.map((d) => d.path);
    const B = 512;
    await pack(
      tk.packOpts(vsrc, drives, join(dir, "v.db"), {
        tolerate: "1",
        blockSize: B,
        recipients: [key.recipient],
      }),
    );
    const blocks = (await verify({ drives: paths, statePath: null })).drives.map((d) => d.blocks);
    await tk.flipPayloadByte(paths[0]!, 1 + fk.pick(rand, 10), B, 3);
    await tk.flipPayloadByte(paths[1]!, blocks[1]! - 1 - fk.pick(rand, 10), B, 3);
    const reference = await verify({ drives: paths, full: true, statePath: null });
    assert.equal(reference.exitCode, 3);
    for (let i = 0; i < runs; i++) {
      const statePath = join(dir, "state", `verify-${i}.json`);
      const res = await tk.verifyKilledAfterSave(paths, statePath, () => tk.sleep(fk.pick(rand, 300)));
      if (res.stdout.includes("done ")) continue;
      t.cases++;
      let resumed = 0;
      const v = await verify({
        drives: paths,
        full: true,
        statePath,
        onEvent: (e) => {
          if (e.type === "start") resumed = e.resumedBlocks;
        },
      });
      assert.ok(resumed > 0, "the rerun must resume");
      assert.equal(v.exitCode, reference.exitCode);
      assert.deepEqual(
        v.drives.map((d) => [d.ok, d.damaged, d.missing]),
        reference.drives.map((d) => [d.ok, d.damaged, d.missing]),
      );
      t.healed++;
    }
    t.save();
  });

  test("a drive that fills up mid-pack stops with E_DRIVE_FULL; after it is replaced by a bigger one, pack resumes", async (tc) => {
    const t = new fk.Tally("crash", "drive fills up mid-pack (tmpfs), replaced, resumed");
    const runs = fk.scale(1, 3);
    for (let i = 0; i < runs; i++) {
      const mnt = join(dir, `small-${i}`);
      mkdirSync(mnt);
      const size = 3 + fk.pick(rand, 4);
      try {
        execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}m`, "tmpfs", mnt], { stdio: "pipe" });
      } catch {
        t.notes = "skipped: cannot mount a tmpfs here (needs root)";
        tc.skip(t.notes);
        t.save();
        return;
      }
      try {
        const fsrc = join(dir, `fsrc-${i}`);
        mkdirSync(fsrc);
        for (let f = 0; f < 5; f++)
          await writeFile(join(fsrc, `part-${f}.bin`), tk.randomData(rand, 1 << 20));
        const drives: DriveSpec[] = [
          { bag: "a", path: join(dir, `big-${i}-0`) },
          { bag: "b", path: mnt },
          { bag: "c", path: join(dir, `big-${i}-1`) },
        ];
        const opts = tk.packOpts(fsrc, drives, join(dir, `full-${i}.db`), {
          tolerate: "1",
          blockSize: 16384,
          recipients: [key.recipient],
          checkpointBytes: 256 << 10,
        });
        t.cases++;
        const e = await tk.rejectsWith(pack(opts), "E_DRIVE_FULL");
        assert.ok(e.message.includes(mnt), e.message);
        // "Replace" the drive: copy what it holds onto a bigger one mounted at the same place.
        const hold = join(dir, `hold-${i}`);
        await tk.copyDrive(mnt, hold);
        execFileSync("umount", [mnt]);
        execFileSync("mount", ["-t", "tmpfs", "-o", "size=32m", "tmpfs", mnt]);
        execFileSync("cp", ["-a", `${hold}/.`, mnt]);
        const r = await pack(opts);
        assert.equal(r.resumed, true);
        const paths = drives.map((d) => d.path);
        const v = await verify({ drives: paths, full: true, unlock, statePath: null });
        assert.equal(v.exitCode, 0);
        const to = join(dir, `fout-${i}`);
        await unpack({ drives: paths, to, unlock });
        await fk.expectSameTree(t, fsrc, to);
        t.healed++;
      } finally {
        execFileSync("umount", [mnt]);
      }
    }
    t.save();
  });
});
