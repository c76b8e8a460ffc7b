/**
 * Fault class 3, tamper and mix-up, and class 7, wrong secrets, as counted matrices: edited
 * manifests, labels and index copies, forged blocks (payload changed, header hash and SUMS
 * entry recomputed), blocks swapped on a drive and across drives, blocks replayed from
 * another stripe or from an earlier (interrupted) pack of the same set, a drive of another
 * set, a duplicated drive, renamed and reordered drive folders; then wrong identities,
 * wrong passphrases, recipient lists without the key and malformed identities. Every case
 * is refused with a typed error or healed byte-exact; none is silently accepted.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { BLOCK_HEADER_SIZE, INDEX_FILE } from "../format/index.js";
import { type DriveSpec, FerryError, keygen, pack, unpack, verify } from "../index.js";
import * as tk from "../pipeline/testkit.js";
import * as fk from "./kit.js";

const key = keygen();
const unlock = { identities: [key.identity] };
const PASS = "correct horse battery staple";

const KINDS = [
  "manifest edited",
  "label edited",
  "index copy edited",
  "block forged (hash and SUMS entry recomputed)",
  "blocks swapped on a drive",
  "blocks swapped across drives",
  "block replayed from another stripe",
  "block replayed from an older pack of the set",
  "drive of another set",
  "duplicated drive",
  "drive folders renamed and reordered",
] as const;
type Kind = (typeof KINDS)[number];

describe("fault class 3: tamper and mix-up", () => {
  let dir = "";
  let src = "";
  let drives: DriveSpec[] = [];
  let paths: string[] = [];
  let foreign = "";
  let info: tk.SetInfo;
  /** Genuine blocks of an earlier, interrupted run that differ from the final ones. */
  const stale: { drive: number; n: number; rec: Buffer }[] = [];
  const rand = fk.classRng("tamper");
  let outN = 0;

  before(async () => {
    console.log(fk.banner("tamper"));
    dir = await tk.tempDir("ferry-faults-tamper-");
    src = join(dir, "src");
    await tk.makeDataset(src, { seed: fk.SEED + 3, scale: 0.5 });
    tk.mkfifo(join(src, "zzz-pipe"));
    drives = tk.flatDrives(join(dir, "d"), 5);
    paths = drives.map((d) => d.path);
    const opts = tk.packOpts(src, drives, join(dir, "catalog.db"), {
      recipients: [key.recipient],
      passphrase: PASS,
      scryptLogN: 10,
    });
    // The first run stops at the pipe (walked last) after writing stripes it never
    // checkpointed; the rerun writes them again with fresh nonces: the old ones are stale.
    // One thread: stripes are then on the drives when the walk meets the pipe (with workers,
    // the walk runs ahead of the writes).
    await assert.rejects(
      pack({
        ...opts,
        threads: 0,
        onEvent: (e) => {
          if (e.type === "skip") throw new Error("interrupted");
        },
      }),
      /interrupted/,
    );
    const B = tk.BLOCK;
    const old = new Map<string, Buffer>();
    for (let d = 0; d < paths.length; d++) {
      for (let n = 0; ; n++) {
        try {
          old.set(`${d}:${n}`, await tk.readRecord(paths[d]!, n, B));
        } catch {
          break;
        }
      }
    }
    const r = await pack(opts);
    assert.equal(r.resumed, true);
    for (const [k, rec] of old) {
      const [d, n] = k.split(":").map(Number) as [number, number];
      const cur = await tk.readRecord(paths[d]!, n, B).catch(() => null);
      if (cur && !cur.equals(rec)) stale.push({ drive: d, n, rec });
    }
    assert.ok(stale.length > 0, "the interrupted run must leave stale blocks");
    rmSync(join(src, "zzz-pipe"));
    info = await tk.inspectSet(paths, key.identity);
    // Another set for the foreign-drive case.
    const src2 = join(dir, "src2");
    await mkdir(src2);
    await writeFile(join(src2, "other.txt"), "another set\n");
    const d2 = tk.flatDrives(join(dir, "other"), 3);
    await pack(
      tk.packOpts(src2, d2, join(dir, "catalog.db"), { tolerate: "1", recipients: [key.recipient] }),
    );
    foreign = d2[1]!.path;
  });
  after(() => tk.removeDir(dir));

  const out = () => join(dir, `out-${outN++}`);
  const flipByte = async (file: string, restorer: fk.Restorer) => {
    await restorer.keep(file);
    const b = await readFile(file);
    b[fk.pick(rand, b.length)]! ^= 1 + fk.pick(rand, 255);
    await writeFile(file, b);
  };

  /** verify --full and unpack both heal: exit 3, byte-exact. */
  const expectHealed = async (set: string[], what: string, t: fk.Tally) => {
    const v = await verify({ drives: set, full: true, unlock, statePath: null });
    assert.equal(v.exitCode, 3, `${what}: ${v.repairPlan.join(" / ")}`);
    assert.deepEqual(v.decrypt?.failed, [], what);
    const to = out();
    await unpack({ drives: set, to, unlock });
    await fk.expectSameTree(t, src, to);
    await tk.removeDir(to);
    t.healed++;
  };

  /** verify and unpack both refuse with a FerryError; nothing is written. */
  const expectRefused = async (set: string[], what: string, t: fk.Tally, code?: string) => {
    for (const run of [
      () => verify({ drives: set, statePath: null }),
      () => unpack({ drives: set, to: join(dir, "never"), unlock }),
    ]) {
      try {
        await run();
        t.wrongBytes++;
        assert.fail(`${what}: accepted`);
      } catch (e) {
        assert.ok(FerryError.is(e), `${what}: not a FerryError: ${(e as Error)?.stack}`);
        if (code) assert.equal(e.code, code, what);
      }
    }
    assert.ok(!existsSync(join(dir, "never")), `${what}: the target was created`);
    t.refused++;
  };

  const swapRecords = async (a: [number, number], b: [number, number], restorer: fk.Restorer) => {
    const B = tk.BLOCK;
    await restorer.keep(tk.blockFile(paths[a[0]]!, a[1], B).file);
    await restorer.keep(tk.blockFile(paths[b[0]]!, b[1], B).file);
    const ra = await tk.readRecord(paths[a[0]]!, a[1], B);
    const rb = await tk.readRecord(paths[b[0]]!, b[1], B);
    await tk.writeRecord(paths[a[0]]!, a[1], B, rb);
    await tk.writeRecord(paths[b[0]]!, b[1], B, ra);
  };

  test("random tampering: always refused or healed, never accepted", async () => {
    const trials = fk.scale(44, 440);
    const tallies = new Map<Kind, fk.Tally>(KINDS.map((k) => [k, new fk.Tally("tamper", k)]));
    const restorer = new fk.Restorer();
    const B = tk.BLOCK;
    const blocksOf = (d: number) => info.manifest.drives[d]!.blocks;
    for (let trial = 0; trial < trials; trial++) {
      const kind = KINDS[trial % KINDS.length]!;
      const t = tallies.get(kind)!;
      const what = `trial ${trial}: ${kind}`;
      t.cases++;
      const d = fk.pick(rand, paths.length);
      switch (kind) {
        case "manifest edited": {
          const which = fk.sample(rand, paths, 1 + fk.pick(rand, paths.length));
          for (const p of which) await flipByte(tk.manifestPath(p), restorer);
          if (which.length < paths.length) {
            const v = await verify({ drives: paths, statePath: null });
            for (const p of which) {
              const r = v.drives.find((x) => x.path === p)!;
              assert.ok(r.problems.length > 0, `${what}: ${p} not named`);
            }
            await expectHealed(paths, what, t);
          } else await expectRefused(paths, what, t);
          break;
        }
        case "label edited":
          await flipByte(join(paths[d]!, "ferry", "LABEL"), restorer);
          await expectRefused(paths, what, t);
          break;
        case "index copy edited": {
          const replicas = info.manifest.index.replicas ?? [];
          const r = replicas[fk.pick(rand, replicas.length)]!;
          await flipByte(join(paths[r]!, "ferry", INDEX_FILE), restorer);
          const v = await verify({ drives: paths, statePath: null });
          assert.ok(
            v.drives[r]!.problems.some((p) => p.includes("index copy")),
            what,
          );
          await expectHealed(paths, what, t);
          break;
        }
        case "block forged (hash and SUMS entry recomputed)": {
          const n = fk.pick(rand, blocksOf(d));
          await restorer.keep(tk.blockFile(paths[d]!, n, B).file);
          await restorer.keep(tk.sumsPath(paths[d]!));
          const rec = await tk.readRecord(paths[d]!, n, B);
          rec[BLOCK_HEADER_SIZE + fk.pick(rand, B)]! ^= 1 + fk.pick(rand, 255);
          tk.rehashRecord(rec);
          await tk.writeRecord(paths[d]!, n, B, rec);
          const sums = await readFile(tk.sumsPath(paths[d]!));
          rec.copy(sums, n * 32, 40, 72);
          await writeFile(tk.sumsPath(paths[d]!), sums);
          await expectHealed(paths, what, t);
          break;
        }
        case "blocks swapped on a drive": {
          const [a, b] = fk.sample(
            rand,
            Array.from({ length: blocksOf(d) }, (_x, i) => i),
            2,
          );
          await swapRecords([d, a!], [d, b!], restorer);
          await expectHealed(paths, what, t);
          break;
        }
        case "blocks swapped across drives": {
          const e = (d + 1 + fk.pick(rand, paths.length - 1)) % paths.length;
          const n = fk.pick(rand, Math.min(blocksOf(d), blocksOf(e)));
          await swapRecords([d, n], [e, n], restorer);
          await expectHealed(paths, what, t);
          break;
        }
        case "block replayed from another stripe": {
          const [a, b] = fk.sample(
            rand,
            Array.from({ length: blocksOf(d) }, (_x, i) => i),
            2,
          );
          await restorer.keep(tk.blockFile(paths[d]!, b!, B).file);
          await tk.writeRecord(paths[d]!, b!, B, await tk.readRecord(paths[d]!, a!, B));
          await expectHealed(paths, what, t);
          break;
        }
        case "block replayed from an older pack of the set": {
          const s = stale[fk.pick(rand, stale.length)]!;
          await restorer.keep(tk.blockFile(paths[s.drive]!, s.n, B).file);
          await tk.writeRecord(paths[s.drive]!, s.n, B, s.rec);
          const v = await verify({ drives: paths, full: true, statePath: null });
          assert.ok(
            v.drives[s.drive]!.problems.some((p) => p.includes("replayed or stale")),
            v.drives[s.drive]!.problems.join(),
          );
          await expectHealed(paths, what, t);
          break;
        }
        case "drive of another set": {
          const set = paths.slice();
          set.splice(fk.pick(rand, set.length + 1), 0, foreign);
          await expectRefused(set, what, t, "E_FOREIGN_DRIVE");
          break;
        }
        case "duplicated drive": {
          const copy = join(dir, `dup-${trial}`);
          await tk.copyDrive(paths[d]!, copy);
          const set = paths.slice();
          set.splice(fk.pick(rand, set.length + 1), 0, copy);
          await expectRefused(set, what, t, "E_DUPLICATE_DRIVE");
          await tk.removeDir(copy);
          break;
        }
        case "drive folders renamed and reordered": {
          const renamed = paths.map((_p, i) => join(dir, `renamed-${trial}-${i}`));
          for (let i = 0; i < paths.length; i++) await rename(paths[i]!, renamed[i]!);
          try {
            const order = fk.sample(rand, renamed, renamed.length).sort(() => rand() - 0.5);
            const v = await verify({ drives: order, full: true, unlock, statePath: null });
            assert.equal(v.exitCode, 0, what);
            const to = out();
            await unpack({ drives: order, to, unlock });
            await fk.expectSameTree(t, src, to);
            await tk.removeDir(to);
            t.healed++;
          } finally {
            for (let i = 0; i < paths.length; i++) await rename(renamed[i]!, paths[i]!);
          }
          break;
        }
      }
      await restorer.restore();
    }
    assert.equal((await verify({ drives: paths, full: true, statePath: null })).exitCode, 0);
    for (const t of tallies.values()) t.save();
  });
});

describe("fault class 7: wrong secrets", () => {
  let dir = "";
  let paths: string[] = [];
  const rand = fk.classRng("secrets");

  before(async () => {
    dir = await tk.tempDir("ferry-faults-secrets-");
    const src = join(dir, "src");
    await mkdir(src);
    await writeFile(join(src, "a.txt"), "secret stuff\n".repeat(100));
    const others = [keygen(), keygen()];
    const drives = tk.flatDrives(join(dir, "d"), 3);
    paths = drives.map((d) => d.path);
    await pack(
      tk.packOpts(src, drives, join(dir, "catalog.db"), {
        tolerate: "1",
        recipients: [key.recipient, ...others.map((o) => o.recipient)],
        passphrase: PASS,
        scryptLogN: 10,
      }),
    );
  });
  after(() => tk.removeDir(dir));

  test("wrong identity, passphrase, recipients, malformed keys: a typed error before any output", async () => {
    const cases: { name: string; unlock: Parameters<typeof unpack>[0]["unlock"]; code: string }[] = [];
    const n = fk.scale(3, 20);
    for (let i = 0; i < n; i++)
      cases.push({ name: "wrong identity", unlock: { identities: [keygen().identity] }, code: "E_KEY" });
    for (let i = 0; i < n; i++)
      cases.push({
        name: "several identities, none on the recipient list",
        unlock: { identities: [keygen().identity, keygen().identity, keygen().identity] },
        code: "E_KEY",
      });
    for (let i = 0; i < n; i++)
      cases.push({
        name: "wrong passphrase",
        unlock: { passphrase: tk.randomData(rand, 1 + fk.pick(rand, 40)).toString("base64") },
        code: "E_KEY",
      });
    cases.push({ name: "wrong passphrase", unlock: { passphrase: `${PASS} ` }, code: "E_KEY" });
    cases.push({ name: "wrong passphrase", unlock: { passphrase: "" }, code: "E_KEY" });
    cases.push({ name: "no key at all", unlock: {}, code: "E_KEY" });
    const good = key.identity;
    for (const bad of [
      good.slice(0, -1),
      `${good.slice(0, -2)}qq`,
      `${good}x`,
      "AGE-SECRET-KEY-1",
      "not a key",
    ])
      cases.push({ name: "malformed identity", unlock: { identities: [bad] }, code: "E_BAD_KEY_FILE" });
    const tallies = new Map<string, fk.Tally>();
    let i = 0;
    for (const c of cases) {
      const t = tallies.get(c.name) ?? new fk.Tally("secrets", c.name);
      tallies.set(c.name, t);
      t.cases++;
      const fresh = join(dir, `fresh-${i}`);
      const empty = join(dir, `empty-${i++}`);
      await mkdir(empty);
      for (const run of [
        () => unpack({ drives: paths, to: fresh, unlock: c.unlock }),
        () => unpack({ drives: paths, to: empty, unlock: c.unlock }),
        () => verify({ drives: paths, full: true, unlock: c.unlock, statePath: null }),
      ]) {
        try {
          await run();
          t.wrongBytes++;
          assert.fail(`${c.name}: accepted`);
        } catch (e) {
          assert.ok(FerryError.is(e), `${c.name}: ${(e as Error)?.stack}`);
          if (c.name === "malformed identity")
            assert.ok(["E_BAD_KEY_FILE", "E_KEY"].includes(e.code), e.code);
          else assert.equal(e.code, c.code, `${c.name}: ${e.message}`);
          assert.ok(e.message.length > 10 && !/undefined|\[object/.test(e.message), e.message);
        }
      }
      assert.ok(!existsSync(fresh), `${c.name}: the target was created`);
      assert.deepEqual(readdirSync(empty), [], `${c.name}: something was written`);
      t.refused++;
    }
    for (const t of tallies.values()) t.save();
  });
});
