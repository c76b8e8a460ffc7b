/**
 * Fault class 1, drive loss, exhaustively: on 12 drives in 4 bags tolerating a bag, and on
 * 12 drives tolerating any 2, every combination of lost drives up to the tolerance restores
 * byte-exact, and every combination beyond it is reported as loss (exit 4) naming exactly the
 * files that touch unrecoverable stripes. The fast subset samples the combinations; the full
 * run takes them all (every subset up to tolerance + 1).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type DriveSpec, keygen, pack, unpack, verify } from "../index.js";
import * as tk from "../pipeline/testkit.js";
import * as fk from "./kit.js";

const key = keygen();
const unlock = { identities: [key.identity] };
const INDEX_LOST = "(the index itself is unrecoverable: every file is at risk)";

interface Fixture {
  src: string;
  drives: DriveSpec[];
  paths: string[];
  info: tk.SetInfo;
}

/** What losing `lost` (drive indexes) must do, from the layout alone. */
function expectation(f: Fixture, lost: Set<number>) {
  const { layout, manifest } = f.info;
  const G = layout.groups.length;
  const badGroups = layout.groups
    .map((g, gi) => ({ gi, n: g.drives.filter((d) => lost.has(d)).length }))
    .filter((x) => x.n > layout.m)
    .map((x) => x.gi);
  const stripes = new Set<number>();
  for (let s = 0; s < manifest.stripes; s++) if (badGroups.includes(s % G)) stripes.add(s);
  const replicas = manifest.index.replicas ?? [];
  const indexLost =
    [...f.info.indexStripes].some((s) => stripes.has(s)) && replicas.every((d) => lost.has(d));
  return { stripes, indexLost, files: tk.filesInStripes(f.info, stripes) };
}

async function runCombos(
  t: fk.Tally,
  f: Fixture,
  dir: string,
  combos: number[][],
  unpackEvery: number,
): Promise<void> {
  let i = 0;
  for (const combo of combos) {
    const lost = new Set(combo);
    const present = f.paths.filter((_p, d) => !lost.has(d));
    const want = expectation(f, lost);
    const what = `lost drives [${combo.join(",")}]`;
    t.cases++;
    const v = await verify({ drives: present, unlock, statePath: null });
    const doUnpack = i++ % unpackEvery === 0;
    if (want.stripes.size === 0) {
      assert.equal(v.exitCode, lost.size ? 3 : 0, what);
      assert.equal(v.unrecoverableStripes, 0, what);
      assert.equal(v.lostFiles, null, what);
      if (doUnpack) {
        const to = join(dir, `out-${t.name}-${i}`);
        const r = await unpack({ drives: present, to, unlock });
        assert.deepEqual(r.lost, [], what);
        await fk.expectSameTree(t, f.src, to);
        await tk.removeDir(to);
      }
      t.healed++;
      continue;
    }
    assert.equal(v.exitCode, 4, what);
    assert.equal(v.status, "loss", what);
    assert.equal(v.unrecoverableStripes, want.stripes.size, what);
    if (want.indexLost) {
      assert.ok(v.lostFiles?.includes(INDEX_LOST), `${what}: ${v.lostFiles}`);
    } else {
      assert.deepEqual([...(v.lostFiles ?? [])].sort(), want.files, what);
      if (doUnpack) {
        const to = join(dir, `out-${t.name}-${i}`);
        const r = await unpack({ drives: present, to, unlock });
        assert.deepEqual(r.lost.map((l) => l.path).sort(), want.files, what);
        await fk.expectSameTree(t, f.src, to, { absent: tk.rawFilesInStripes(f.info, want.stripes) });
        await tk.removeDir(to);
      }
    }
    t.detected++;
  }
}

async function makeFixture(
  dir: string,
  name: string,
  drives: DriveSpec[],
  tolerate: string,
): Promise<Fixture> {
  const src = join(dir, "src");
  const paths = drives.map((d) => d.path);
  await pack(tk.packOpts(src, drives, join(dir, `${name}.db`), { tolerate, recipients: [key.recipient] }));
  return { src, drives, paths, info: await tk.inspectSet(paths, key.identity) };
}

describe("fault class 1: drive loss", () => {
  let dir = "";
  const rand = fk.classRng("loss");
  before(async () => {
    console.log(fk.banner("loss"));
    dir = await tk.tempDir("ferry-faults-loss-");
    await tk.makeDataset(join(dir, "src"), { seed: fk.SEED, scale: 0.6 });
  });
  after(() => tk.removeDir(dir));

  test("12 drives / 4 bags, tolerate bag: every loss within a bag heals, every bag + 1 more is named loss", async () => {
    const f = await makeFixture(dir, "bag", tk.twelveDrives(join(dir, "bag")), "bag");
    assert.deepEqual([f.info.layout.k, f.info.layout.m, f.info.layout.groups.length], [3, 1, 3]);
    const all = f.paths.map((_p, i) => i);
    const bagOf = (d: number) => f.drives[d]!.bag;
    const bags = [...new Set(f.drives.map((d) => d.bag))];
    // Within tolerance: nothing lost, and every non-empty subset of one bag's drives.
    const within: number[][] = [[]];
    for (const b of bags) {
      const members = all.filter((d) => bagOf(d) === b);
      for (let size = 1; size <= members.length; size++) within.push(...tk.subsets(members, size));
    }
    // Just beyond: a whole bag plus any one drive of another bag.
    const beyond: number[][] = [];
    for (const b of bags) {
      const members = all.filter((d) => bagOf(d) === b);
      for (const d of all) if (bagOf(d) !== b) beyond.push([...members, d].sort((x, y) => x - y));
    }
    // Also every pair of drives (some recoverable, some not: the oracle decides).
    const pairs = tk.subsets(all, 2).filter((p) => bagOf(p[0]!) !== bagOf(p[1]!));
    const tw = new fk.Tally("loss", "12 drives / 4 bags, tolerate bag: within");
    await runCombos(tw, f, dir, fk.FULL ? within : fk.sample(rand, within, 8), fk.scale(3, 1));
    assert.equal(tw.detected, 0, "a loss within a bag must never lose data");
    tw.save();
    const tb = new fk.Tally("loss", "12 drives / 4 bags, tolerate bag: bag + 1 drive, and cross-bag pairs");
    const combos = [...beyond, ...pairs];
    await runCombos(tb, f, dir, fk.FULL ? combos : fk.sample(rand, combos, 10), fk.scale(4, 1));
    assert.ok(tb.detected >= (fk.FULL ? beyond.length : 1));
    tb.save();
  });

  test("12 drives, tolerate 2: all 78 subsets of 1–2 lost drives heal; subsets of 3 are named loss", async () => {
    const f = await makeFixture(dir, "two", tk.flatDrives(join(dir, "two"), 12), "2");
    assert.equal(f.info.layout.m, 2);
    const all = f.paths.map((_p, i) => i);
    const within = [...tk.subsets(all, 1), ...tk.subsets(all, 2)];
    assert.equal(within.length, 78);
    const beyond = tk.subsets(all, 3);
    assert.equal(beyond.length, 220);
    const tw = new fk.Tally("loss", "12 drives, tolerate 2: 1–2 drives lost");
    await runCombos(tw, f, dir, fk.FULL ? within : fk.sample(rand, within, 10), fk.scale(4, 1));
    assert.equal(tw.detected, 0);
    tw.save();
    const tb = new fk.Tally("loss", "12 drives, tolerate 2: 3 drives lost");
    await runCombos(tb, f, dir, fk.FULL ? beyond : fk.sample(rand, beyond, 6), fk.scale(3, 4));
    assert.equal(tb.healed, 0);
    tb.save();
  });
});
