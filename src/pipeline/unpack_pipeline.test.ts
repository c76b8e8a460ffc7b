/**
 * The pipelined read path of unpack: chunks opened straight from block views, pooled buffers,
 * stripe read-ahead (also across a missing bag and past a lost stripe), and files finishing in
 * the background while the next ones are read, with the journal and resume still exact.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { constants as fsc, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { open as aeadOpen, seal } from "../crypto/index.js";
import { FerryError } from "../errors.js";
import { ENTRY_FILE, stripeDataSize } from "../format/index.js";
import { native } from "../native/index.js";
import { keygen, pack, unpack, verify } from "../index.js";
import { openSet, StripeReader } from "./open_set.js";
import { openPieces } from "./read_aead.js";
import { BufferPool } from "./read_pool.js";
import * as tk from "./testkit.js";
import { FileWriter, readIndex, targetError } from "./unpack.js";

const key = keygen();
const unlock = { identities: [key.identity] };

/** Splits `b` into consecutive pieces at random points. */
function split(b: Buffer, rand: () => number, parts: number): Buffer[] {
  const cuts = Array.from({ length: parts - 1 }, () => Math.floor(rand() * (b.length + 1))).sort(
    (x, y) => x - y,
  );
  const out: Buffer[] = [];
  let at = 0;
  for (const c of [...cuts, b.length]) {
    out.push(b.subarray(at, c));
    at = c;
  }
  return out;
}

describe("openPieces", () => {
  test("opens exactly what open opens, however the sealed bytes are split", () => {
    const rand = tk.rng(5);
    const k = randomBytes(32);
    for (const n of [0, 1, 11, 12, 100, 65536, 65536 * 3 + 7]) {
      const plain = randomBytes(n);
      const aad = Buffer.from(`aad ${n}`);
      const sealed = seal(k, plain, aad);
      for (const parts of [1, 2, 3, 7]) {
        const pieces = split(sealed, rand, parts);
        assert.ok(openPieces(k, pieces, aad).equals(plain));
        const out = Buffer.alloc(n + 5, 0xee);
        const got = openPieces(k, pieces, aad, out);
        assert.ok(got.equals(plain));
        assert.equal(got.buffer, out.buffer, "written into the caller's buffer");
      }
    }
  });

  test("refuses a modified byte, a wrong aad or a short input with E_DECRYPT, as open does", () => {
    const rand = tk.rng(6);
    const k = randomBytes(32);
    const plain = randomBytes(200_000);
    const sealed = seal(k, plain, Buffer.from("a"));
    for (const at of [0, 5, 12, 1000, 150_000, sealed.length - 1]) {
      const bad = Buffer.from(sealed);
      bad[at]! ^= 1;
      const out = Buffer.alloc(plain.length);
      assert.throws(
        () => openPieces(k, split(bad, rand, 3), Buffer.from("a"), out),
        (e: unknown) => FerryError.is(e, "E_DECRYPT"),
      );
      assert.ok(
        out.every((x) => x === 0),
        "no unauthenticated plaintext is left in the output",
      );
    }
    assert.throws(
      () => openPieces(k, split(sealed, rand, 3), Buffer.from("b")),
      (e: unknown) => FerryError.is(e, "E_DECRYPT"),
    );
    assert.throws(
      () => openPieces(k, [sealed.subarray(0, 10), sealed.subarray(10, 20)], Buffer.from("a")),
      (e: unknown) => FerryError.is(e, "E_DECRYPT"),
    );
    assert.ok(aeadOpen(k, sealed, Buffer.from("a")).equals(plain));
  });
});

describe("BufferPool", () => {
  test("reuses what is given back, once, and ignores foreign buffers", () => {
    const pool = new BufferPool(1 << 20, 1 << 18);
    const a = pool.take(1000);
    assert.equal(a.length, 1000);
    pool.give(a);
    pool.give(a); // twice: ignored
    const b = pool.take(2000);
    const c = pool.take(2000);
    assert.equal(b.buffer, a.buffer, "same class: reused");
    assert.notEqual(c.buffer, a.buffer, "given twice, lent once");
    pool.give(Buffer.alloc(100)); // not the pool's: ignored
    const big = pool.take(1 << 19);
    assert.equal(big.length, 1 << 19);
    pool.give(big);
    assert.notEqual(pool.take(1 << 19).buffer, big.buffer, "larger than the pool keeps: never pooled");
  });
});

describe("StripeReader with read-ahead", () => {
  let dir = "";
  let src = "";
  let drives: string[] = [];
  before(async () => {
    dir = await tk.tempDir();
    src = join(dir, "src");
    await tk.makeDataset(src, { seed: 21 });
    const specs = tk.driveSpecs(join(dir, "drives"), 4, 1);
    await pack(
      tk.packOpts(src, specs, join(dir, "cat.db"), { tolerate: "bag", recipients: [key.recipient] }),
    );
    drives = specs.map((d) => d.path);
  });
  after(() => tk.removeDir(dir));

  /** Copies of the set's drives under `name`, to damage. */
  async function copyDrives(name: string): Promise<string[]> {
    const copies = join(dir, name);
    mkdirSync(copies);
    const paths: string[] = [];
    for (const [i, p] of drives.entries()) {
      paths.push(join(copies, `d${i}`));
      await tk.copyDrive(p, paths[i]!);
    }
    return paths;
  }

  /** The whole log, read stripe by stripe without read-ahead or pieces. */
  async function wholeLog(paths: string[]): Promise<Buffer> {
    const set = await openSet(paths, { unlock });
    const r = new StripeReader(set, { readAheadBytes: 0 });
    try {
      const parts: Buffer[] = [];
      for (let s = 0; s < set.manifest!.stripes; s++) parts.push(await r.readStripe(s));
      return Buffer.concat(parts);
    } finally {
      await r.close();
    }
  }

  for (const missing of [false, true]) {
    test(`random ranges read the same bytes as whole stripes${missing ? ", a bag missing" : ""}`, async () => {
      const paths = missing ? drives.slice(1) : drives;
      const log = await wholeLog(drives);
      const set = await openSet(paths, { unlock });
      // Small windows, so that read-ahead, eviction and buffer reuse all happen often.
      const size = stripeDataSize(set.layout);
      const r = new StripeReader(set, { cacheBytes: 2 * size, readAheadBytes: 3 * size });
      const rand = tk.rng(missing ? 2 : 1);
      try {
        let pos = 0;
        const reads: Promise<void>[] = [];
        while (pos < log.length) {
          const len = Math.min(log.length - pos, 1 + Math.floor(rand() * set.layout.blockSize * 2.5));
          const at = rand() < 0.1 ? Math.floor(rand() * pos) : pos; // sometimes a jump back
          const want = log.subarray(at, at + len);
          reads.push(r.readLog(at, len).then((got) => assert.ok(got.equals(want), `log ${at}+${len}`)));
          reads.push(
            r.withLog(at, len, (pieces) => {
              assert.ok(Buffer.concat(pieces).equals(want), `pieces ${at}+${len}`);
            }),
          );
          if (at === pos) pos += len;
          if (reads.length > 6) await reads.shift();
        }
        await Promise.all(reads);
        if (missing) assert.ok(r.repairedStripes > 0);
      } finally {
        await r.close();
      }
    });
  }

  test("a drive not at hand: a stripe's first wave of reads already asks parity (k reads at once)", async () => {
    const set = await openSet(drives.slice(1), { unlock });
    const { k, groups } = set.layout;
    assert.equal(groups[0]!.drives[0], 0, "drive 0 holds a data shard of stripe 0");
    let inFlight = 0;
    let most = 0;
    let calls = 0;
    for (const d of set.drives) {
      if (!d) continue;
      const read = d.readBlock.bind(d);
      d.readBlock = async (...a: Parameters<typeof read>) => {
        calls++;
        most = Math.max(most, ++inFlight);
        try {
          await new Promise((r) => setTimeout(r, 5));
          return await read(...a);
        } finally {
          inFlight--;
        }
      };
    }
    const r = new StripeReader(set, { readAheadBytes: 0 });
    try {
      const whole = await wholeLog(drives);
      const size = stripeDataSize(set.layout);
      assert.ok((await r.readStripe(0)).equals(whole.subarray(0, size)));
      assert.equal(calls, k, "one read per block needed, none for the missing drive");
      assert.equal(most, k, "all of them in one wave");
      assert.equal(r.repairedStripes, 1);
    } finally {
      await r.close();
    }
  });

  test("lazyChecks: a damaged payload passes a header-only read; recheck reads it fully and rebuilds it", async () => {
    const paths = await copyDrives("lazy");
    const log = await wholeLog(drives);
    const set = await openSet(paths, { unlock });
    const { layout } = set;
    const size = stripeDataSize(layout);
    const { group, n } = tk.blockOf(layout, 1);
    const drive = layout.groups[group]!.drives[0]!;
    await tk.flipPayloadByte(paths[drive]!, n, layout.blockSize, 100);
    const want = log.subarray(size, size + 200);

    const strict = new StripeReader(set, { readAheadBytes: 0 });
    const lazy = new StripeReader(set, { readAheadBytes: 0, lazyChecks: true });
    try {
      assert.ok((await strict.readLog(size, 200)).equals(want), "the default reader hashes every block");
      assert.equal(strict.recheck(size, 200), false, "nothing to recheck without lazyChecks");

      const quick = await lazy.readLog(size, 200);
      assert.notEqual(quick[100], want[100], "read by header only, the flipped byte comes through");
      assert.ok(quick.subarray(0, 100).equals(want.subarray(0, 100)));
      assert.equal(lazy.bad.length, 0);
      assert.equal(lazy.recheck(size, 200), true);
      assert.ok((await lazy.readLog(size, 200)).equals(want), "read again with every check, rebuilt");
      assert.deepEqual(
        lazy.bad.map((b) => [b.drive, b.block, b.stripe, b.reason]),
        [[drive, n, 1, "block checksum mismatch"]],
      );
      assert.equal(lazy.repairedStripes, 1);
      assert.equal(lazy.recheck(size + 50, 10), false, "already read with every check");
      assert.ok((await lazy.readLog(0, size)).equals(log.subarray(0, size)), "other stripes unaffected");
    } finally {
      await strict.close();
      await lazy.close();
    }
    // End to end: unpack (lazy) finds the damage through the chunk's AEAD and heals it.
    const to = join(dir, "lazy-out");
    const r = await unpack({ drives: paths, to, unlock });
    await tk.compareTrees(src, to);
    assert.equal(r.lost.length, 0);
    assert.ok(r.badBlocks >= 1 && r.repairedStripes >= 1, `bad ${r.badBlocks} repaired ${r.repairedStripes}`);
  });

  test("a lost stripe read ahead fails only the readers that ask for it", async () => {
    const paths = await copyDrives("lost");
    const set = await openSet(paths, { unlock });
    const { layout } = set;
    const size = stripeDataSize(layout);
    // Stripe 1 on two drives of its group: beyond what one parity block rebuilds.
    const { group, n } = tk.blockOf(layout, 1);
    for (const d of layout.groups[group]!.drives.slice(0, 2))
      await tk.flipPayloadByte(paths[d]!, n, layout.blockSize);
    const r = new StripeReader(set, { readAheadBytes: 4 * size });
    try {
      await r.readLog(0, 10); // reads stripe 1 ahead, which fails
      await new Promise((res) => setTimeout(res, 50));
      await assert.rejects(r.readLog(size, 10), (e: unknown) => FerryError.is(e, "E_UNRECOVERABLE"));
      if (set.manifest!.stripes > 2) assert.equal((await r.readLog(2 * size, 10)).length, 10);
    } finally {
      await r.close();
    }
  });
});

describe("unpack finishing files in the background", () => {
  let dir = "";
  let src = "";
  let drives: string[] = [];
  let setHex = "";
  before(async () => {
    dir = await tk.tempDir();
    src = join(dir, "src");
    tk.makeManyFiles(src, 300);
    const specs = tk.flatDrives(join(dir, "drives"), 3);
    setHex = (
      await pack({
        ...tk.packOpts(src, specs, join(dir, "cat.db"), { tolerate: "1", recipients: [key.recipient] }),
        fsync: false,
      })
    ).set;
    drives = specs.map((d) => d.path);
  });
  after(() => tk.removeDir(dir));

  test("many small files in one folder: all restored, no temp file left", async () => {
    const to = join(dir, "out");
    const r = await unpack({ drives: drives.slice(1), to, unlock });
    assert.equal(r.files, 300);
    await tk.compareTrees(src, to);
    assert.ok(!readdirSync(to, { recursive: true }).some((f) => String(f).includes(".ferry-tmp")));
  });

  test("a file that cannot land stops the run; the journal never counts it or later files done; resume finishes", async () => {
    const to = join(dir, "out-blocked");
    // A folder where a file of the middle folder goes: its rename fails in the background.
    mkdirSync(join(to, "d001", "f150.txt"), { recursive: true });
    await tk.rejectsWith(unpack({ drives, to, unlock }), "E_UNSAFE_PATH");
    const journal = JSON.parse(
      readFileSync(join(to, `.ferry-unpack-${setHex.slice(0, 16)}.json`), "utf8"),
    ) as { pass: number; done: number };
    assert.equal(journal.pass, 1);
    const info = await tk.inspectSet(drives, key.identity);
    const blocked = info.entries.findIndex((e) => e.path.toString() === "d001/f150.txt");
    assert.ok(blocked > 0);
    assert.ok(
      journal.done <= blocked,
      `journal counts ${journal.done} entries done, entry ${blocked} failed`,
    );
    assert.ok(!readdirSync(to, { recursive: true }).some((f) => String(f).includes(".ferry-tmp")));
    await tk.removeDir(join(to, "d001", "f150.txt"));
    const r = await unpack({ drives, to, unlock });
    assert.equal(r.resumed, true);
    await tk.compareTrees(src, to);
  });
});

test("a failed write of the target says what to do for its cause", () => {
  const errno = (code: string) => Object.assign(new Error(code), { code });
  const full = targetError(errno("ENOSPC"), 'write "a.bin" into the target');
  assert.equal(full.code, "E_TARGET");
  assert.match(full.message, /cannot write "a.bin" into the target: ENOSPC/);
  assert.match(full.hint ?? "", /full/);
  assert.match(targetError(errno("EACCES"), "write x").hint ?? "", /permissions/);
  assert.match(targetError(errno("EINVAL"), "write x").hint ?? "", /permissions/);
  const typed = new FerryError("E_UNSAFE_PATH", "no");
  assert.equal(targetError(typed, "write x"), typed, "a typed error passes through");
});

test("a write an O_DIRECT file refuses says to turn O_DIRECT off; the same through the page cache is written", async () => {
  const dir = await tk.tempDir();
  try {
    const path = join(dir, "f");
    if (!native || !tk.takesDirect(join(dir, "probe"))) return; // no O_DIRECT here: nothing to refuse
    // An unaligned buffer: O_DIRECT refuses it with EINVAL.
    const odd = Buffer.alloc(1000, 7);
    const fh = await open(path, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_DIRECT, 0o600);
    const given: Buffer[] = [];
    const w = new FileWriter(
      fh,
      true,
      (b) => given.push(b),
      () => undefined,
    );
    w.push(odd, 0);
    await w.settle();
    await fh.close();
    assert.ok(FerryError.is(w.error, "E_TARGET"), String(w.error));
    assert.match((w.error as FerryError).hint ?? "", /FERRY_DIRECT=0/);
    assert.deepEqual(given, [odd], "the buffer is given back anyway");
    const plain = await open(path, "w");
    const b = new FileWriter(
      plain,
      false,
      () => undefined,
      () => undefined,
    );
    b.push(odd, 0);
    await b.settle();
    await plain.close();
    assert.equal(b.error, null);
    assert.ok(readFileSync(path).equals(odd));
  } finally {
    await tk.removeDir(dir);
  }
});

describe("unpack and verify read the log in order", () => {
  let dir = "";
  before(async () => {
    dir = await tk.tempDir("ferry-logorder-");
  });
  after(() => tk.removeDir(dir));

  /** Packs `src` onto four drives (64 KiB blocks) with `threads` workers; opens the set. */
  async function packWith(src: string, name: string, threads: number) {
    const drives = tk.flatDrives(join(dir, name), 4);
    await pack({
      ...tk.packOpts(src, drives, join(dir, `${name}.db`), { recipients: [key.recipient] }),
      blockSize: 64 * 1024,
      threads,
    });
    const paths = drives.map((d) => d.path);
    const set = await openSet(paths, { unlock });
    return { paths, set, dataBlocks: set.manifest!.stripes * set.layout.k };
  }

  test("files packed side by side by two workers: unpack reads every block once; verify --identity, in the same order, checks every file", async () => {
    const src = join(dir, "src");
    mkdirSync(src);
    const rand = tk.rng(31);
    // Two big files chunked at the same time: their chunks alternate in the log, run by run.
    for (const name of ["a.bin", "b.bin", "c.bin"])
      writeFileSync(join(src, name), tk.randomData(rand, 16 << 20));
    for (let i = 0; i < 40; i++) writeFileSync(join(src, `s${i}.bin`), tk.randomData(rand, 20_000));
    const { paths, set, dataBlocks } = await packWith(src, "d", 2);
    // A stripe cache far smaller than a file: reading file by file would read the stretch where
    // a.bin and b.bin interleave twice.
    const cache = 1 << 20;
    const out = join(dir, "out");
    const r = await unpack({ drives: paths, to: out, unlock, readCacheBytes: cache });
    await tk.compareTrees(src, out);
    // Each of unpack's three passes reads the index, which lies at the end of the log.
    const size = stripeDataSize(set.layout);
    const pieces = set.manifest!.index.pieces;
    const indexStripes =
      Math.floor((pieces.at(-1)![0] + pieces.at(-1)![1] - 1) / size) - Math.floor(pieces[0]![0] / size) + 1;
    const most = dataBlocks + 3 * set.layout.k * indexStripes + set.layout.k;
    assert.ok(r.blocksRead <= most, `unpack read ${r.blocksRead} blocks; the set has ${dataBlocks}`);
    const rep = await verify({ drives: paths, unlock, full: true, statePath: null });
    assert.equal(rep.decrypt?.failed.length, 0);
    assert.equal(rep.decrypt?.files, 43);
  });

  test("unpack starting with one file open: it opens more as the set needs, restores every file, reads little twice", async () => {
    const src = join(dir, "src4");
    mkdirSync(src);
    const rand = tk.rng(47);
    // Four workers chunk four files at once; unpack starts with one file open (the growth rule
    // itself is pinned in log_order.test.ts).
    for (let i = 0; i < 6; i++) writeFileSync(join(src, `v${i}.bin`), tk.randomData(rand, 10 << 20));
    const { paths, set, dataBlocks } = await packWith(src, "d4", 4);
    const out = join(dir, "out4");
    const r = await unpack({ drives: paths, to: out, unlock, readCacheBytes: 1 << 20, openFiles: 1 });
    await tk.compareTrees(src, out);
    // Whether the layout calls for growth (it nearly always does): read one file at a time, some
    // file starts more than the cache behind the furthest chunk read (within the window: 32 MiB
    // per open file) and goes on past it.
    const spans: [number, number][] = [];
    const r0 = new StripeReader(set, {});
    for await (const e of readIndex(set, r0)) {
      if (e.type === ENTRY_FILE && e.chunks.length)
        spans.push([e.chunks[0]!.offset, e.chunks.at(-1)!.offset]);
    }
    await r0.close();
    let high = -1;
    let interleaved = false;
    for (const [first, last] of spans) {
      const behind = high - first;
      if (high >= 0 && last > high && behind > 1 << 20 && behind <= 32 << 20) interleaved = true;
      high = Math.max(high, last);
    }
    if (interleaved) assert.ok(r.openFiles > 1, "the limit grew");
    // Measured: 1,030–1,066 block reads for 970 blocks; 1,144–1,156 with the limit held at one.
    assert.ok(
      r.blocksRead <= dataBlocks * 1.3,
      `unpack read ${r.blocksRead} blocks; the set has ${dataBlocks}`,
    );
  });
});
