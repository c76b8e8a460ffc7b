/**
 * Fault class 2, bit rot: seeded random trials of flipped bits (header and payload), zeroed
 * 512-byte sectors, truncated, extended and deleted block segments and flipped SUMS entries,
 * on random drives. An oracle computes from the bytes which blocks are bad and whether each
 * stripe is still within parity; verify --full must count exactly those blocks and give
 * exit 3 (within) or 4 (beyond), and unpack (every few trials) restores byte-exact, or
 * restores everything but exactly the files on unrecoverable stripes.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { appendFile, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { BLOCK_HEADER_SIZE, BLOCKS_PER_SEGMENT } from "../format/index.js";
import { keygen, pack, unpack, verify } from "../index.js";
import * as tk from "../pipeline/testkit.js";
import * as fk from "./kit.js";

const key = keygen();
const unlock = { identities: [key.identity] };

const KINDS = [
  "flip-header",
  "flip-payload",
  "zero-sector",
  "truncate-segment",
  "extend-segment",
  "delete-segment",
  "flip-sums",
] as const;
type Kind = (typeof KINDS)[number];

describe("fault class 2: bit rot", () => {
  let dir = "";
  let src = "";
  let paths: string[] = [];
  let info: tk.SetInfo;
  let B = 0;
  let rec = 0;
  const rand = fk.classRng("bitrot");

  before(async () => {
    console.log(fk.banner("bitrot"));
    dir = await tk.tempDir("ferry-faults-bitrot-");
    src = join(dir, "src");
    await tk.makeDataset(src, { seed: fk.SEED + 2, scale: 0.5 });
    const drives = tk.flatDrives(join(dir, "d"), 6);
    paths = drives.map((d) => d.path);
    await pack(
      tk.packOpts(src, drives, join(dir, "catalog.db"), { tolerate: "2", recipients: [key.recipient] }),
    );
    info = await tk.inspectSet(paths, key.identity);
    B = info.layout.blockSize;
    rec = BLOCK_HEADER_SIZE + B;
    // One segment per drive keeps the byte-level oracle simple.
    assert.ok(info.manifest.drives.every((d) => d.blocks <= BLOCKS_PER_SEGMENT));
  });
  after(() => tk.removeDir(dir));

  /** Blocks of `drive` whose record bytes differ between `before` and `after` segment contents. */
  const changedBlocks = (blocks: number, old: Buffer, now: Buffer | null): number[] => {
    const out: number[] = [];
    for (let n = 0; n < blocks; n++) {
      const a = old.subarray(n * rec, (n + 1) * rec);
      const b = now ? now.subarray(n * rec, (n + 1) * rec) : Buffer.alloc(0);
      if (b.length < rec || !a.equals(b)) out.push(n);
    }
    return out;
  };

  /** Applies one random corruption; returns the bad blocks it makes on its drive. */
  const corrupt = async (kind: Kind, d: number, restorer: fk.Restorer): Promise<number[]> => {
    const blocks = info.manifest.drives[d]!.blocks;
    const seg = tk.blockFile(paths[d]!, 0, B).file;
    await restorer.keep(seg);
    await restorer.keep(tk.sumsPath(paths[d]!));
    if (!existsSync(seg)) return []; // already deleted by an earlier corruption of this trial
    const old = await readFile(seg);
    const n = fk.pick(rand, blocks);
    switch (kind) {
      case "flip-header":
      case "flip-payload": {
        const at =
          n * rec +
          (kind === "flip-header" ? fk.pick(rand, BLOCK_HEADER_SIZE) : BLOCK_HEADER_SIZE + fk.pick(rand, B));
        if (at >= old.length) return [];
        const now = Buffer.from(old);
        now[at]! ^= 1 << fk.pick(rand, 8);
        await writeFile(seg, now);
        return changedBlocks(blocks, old, now);
      }
      case "zero-sector": {
        const sectors = Math.floor(old.length / 512);
        const at = fk.pick(rand, sectors) * 512;
        const now = Buffer.from(old);
        now.fill(0, at, at + 512);
        await writeFile(seg, now);
        return changedBlocks(blocks, old, now);
      }
      case "truncate-segment": {
        const len = fk.pick(rand, old.length);
        await truncate(seg, len);
        return changedBlocks(blocks, old, old.subarray(0, len));
      }
      case "extend-segment":
        await appendFile(seg, tk.randomData(rand, 1 + fk.pick(rand, 2 * rec)));
        return [];
      case "delete-segment":
        await rm(seg);
        return changedBlocks(blocks, old, null);
      case "flip-sums": {
        const sums = await readFile(tk.sumsPath(paths[d]!));
        if (sums.length < (n + 1) * 32) return [];
        sums[n * 32 + fk.pick(rand, 32)]! ^= 1 << fk.pick(rand, 8);
        await writeFile(tk.sumsPath(paths[d]!), sums);
        return [n];
      }
    }
  };

  test("random corruptions: exact damage counts, exit 3 within parity and 4 beyond, byte-exact restores", async () => {
    const trials = fk.scale(120, 2000);
    const unpackEvery = fk.scale(12, 10);
    const G = info.layout.groups.length;
    const byKind = new Map<Kind, fk.Tally>(KINDS.map((k) => [k, new fk.Tally("bitrot", k)]));
    const total = new fk.Tally("bitrot", "all kinds, 1–4 corruptions per trial");
    const restorer = new fk.Restorer();
    for (let trial = 0; trial < trials; trial++) {
      // 1–4 corruptions of random kinds on random drives; mostly one, sometimes many.
      const count = 1 + Math.floor(rand() ** 2 * 4);
      const bad = paths.map(() => new Set<number>());
      // Blocks whose bytes changed: a flipped SUMS entry leaves its block intact, and unpack,
      // which trusts AEAD and hashes a block only where a chunk fails, still uses that block.
      const badBytes = paths.map(() => new Set<number>());
      const kinds: Kind[] = [];
      for (let c = 0; c < count; c++) {
        const kind = KINDS[fk.pick(rand, KINDS.length)]!;
        kinds.push(kind);
        const d = fk.pick(rand, paths.length);
        for (const n of await corrupt(kind, d, restorer)) {
          bad[d]!.add(n);
          if (kind !== "flip-sums") badBytes[d]!.add(n);
        }
      }
      const unrec = new Set<number>();
      /** Stripes unpack cannot rebuild: more than m blocks with changed bytes. */
      const unrecBytes = new Set<number>();
      let degraded = false;
      for (let s = 0; s < info.manifest.stripes; s++) {
        const n = Math.floor(s / G);
        const group = info.layout.groups[s % G]!.drives;
        const hits = group.filter((d) => bad[d]!.has(n)).length;
        if (hits > info.layout.m) unrec.add(s);
        else if (hits > 0) degraded = true;
        if (group.filter((d) => badBytes[d]!.has(n)).length > info.layout.m) unrecBytes.add(s);
      }
      const what = `trial ${trial} (${kinds.join(", ")})`;
      const v = await verify({ drives: paths, full: true, statePath: null });
      for (let d = 0; d < paths.length; d++) {
        const r = v.drives[d]!;
        assert.equal(r.damaged + r.missing, bad[d]!.size, `${what}: drive ${d} bad blocks`);
      }
      assert.equal(v.unrecoverableStripes, unrec.size, what);
      const anyBad = bad.some((b) => b.size > 0);
      const sumsChanged = kinds.includes("flip-sums");
      let outcome: "healed" | "detected" | "harmless";
      if (unrec.size > 0) {
        assert.equal(v.exitCode, 4, what);
        outcome = "detected";
      } else if (anyBad || sumsChanged) {
        assert.equal(v.exitCode, 3, what);
        outcome = "healed";
      } else {
        assert.ok(!degraded);
        assert.equal(v.exitCode, 0, `${what}: nothing damaged`);
        outcome = "harmless";
      }
      if (trial % unpackEvery === 0) {
        const to = join(dir, `out-${trial}`);
        const r = await unpack({ drives: paths, to, unlock });
        const lost = tk.filesInStripes(info, unrecBytes);
        assert.deepEqual(r.lost.map((l) => l.path).sort(), lost, what);
        await fk.expectSameTree(total, src, to, { absent: tk.rawFilesInStripes(info, unrecBytes) });
        await tk.removeDir(to);
      }
      total.cases++;
      total[outcome]++;
      for (const k of new Set(kinds)) {
        const t = byKind.get(k)!;
        t.cases++;
        t[outcome]++;
      }
      await restorer.restore();
    }
    // The originals are back: a full verify is clean again.
    assert.equal((await verify({ drives: paths, full: true, statePath: null })).exitCode, 0);
    for (const t of byKind.values()) t.save();
    total.notes = `6 drives tolerate 2 (k=${info.layout.k}, m=${info.layout.m}), ${info.manifest.stripes} stripes; unpack every ${unpackEvery}th trial`;
    total.save();
    assert.ok(total.detected > 0 && total.healed > 0, "trials must cover both sides of the bound");
  });
});
