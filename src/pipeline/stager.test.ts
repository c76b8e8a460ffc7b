import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { DIRECT_ALIGN, native } from "../native/index.js";
import { AlignedPool, Stager } from "./stager.js";

/** Whether `b` starts on a DIRECT_ALIGN boundary in memory (only the native kernel can tell). */
const aligned = (b: Buffer): boolean => native === null || native.alignGap(b, DIRECT_ALIGN) === 0;

/**
 * Stages `pieces` as unpack does (reserve and fill in place; append what does not fit) and
 * returns the file the pushes and the tail make, checking every push on the way.
 */
function stage(pool: AlignedPool, pieces: Buffer[], expected: number): { file: Buffer; pushes: number } {
  const file = Buffer.alloc(pieces.reduce((n, p) => n + p.length, 0));
  const written: Buffer[] = [];
  let next = 0;
  const s = new Stager(
    pool,
    (b, pos) => {
      assert.equal(pos, next, "pushes come in file order, back to back");
      assert.equal(pos % DIRECT_ALIGN, 0, "file offset aligned");
      assert.equal(b.length % DIRECT_ALIGN, 0, "length whole units");
      assert.ok(b.length > 0);
      assert.ok(aligned(b), "memory aligned");
      b.copy(file, pos);
      written.push(b);
      next = pos + b.length;
    },
    expected,
  );
  for (const p of pieces) {
    const into = s.reserve(p.length);
    if (into) {
      assert.equal(into.length, p.length);
      p.copy(into);
      s.commit(p.length);
    } else s.append(p);
  }
  const tail = s.finish();
  assert.ok(tail.length < DIRECT_ALIGN);
  assert.equal(s.length, file.length);
  assert.equal(next + tail.length, file.length);
  tail.copy(file, next);
  for (const b of written) pool.give(b);
  return { file, pushes: written.length };
}

test("stager: any mix of piece sizes comes out as the same bytes in aligned whole units plus a short tail", () => {
  const pool = new AlignedPool(64 << 10, 1 << 20, 8 << 20);
  const sizes = [
    [],
    [0],
    [1],
    [4095],
    [4096],
    [4097],
    [1 << 20],
    [(1 << 20) + 1],
    [3 << 20], // larger than any staging buffer: appended
    [1000, 5000, 70_000, 1 << 20, 3, 4093, (1 << 20) - 7, 2_500_000, 12],
    Array.from({ length: 200 }, (_, i) => (i * 7919) % 50_000),
  ];
  for (const list of sizes) {
    const pieces = list.map((n) => randomBytes(n));
    const want = Buffer.concat(pieces);
    // The expected size right, too small (a lying index) and too large.
    for (const expected of [want.length, 0, want.length * 3 + 1]) {
      const { file } = stage(pool, pieces, expected);
      assert.ok(file.equals(want), `sizes ${list.slice(0, 5).join(",")}… expected ${expected}`);
    }
  }
});

test("stager: staging buffers are sized to the file and reused once given back", () => {
  const pool = new AlignedPool(64 << 10, 1 << 20, 8 << 20);
  const a = pool.take(300_000);
  assert.equal(a.length, 512 << 10);
  assert.ok(aligned(a));
  pool.give(a.subarray(4096, 8192)); // a view counts as the buffer
  const b = pool.take(400_000);
  assert.equal(b.buffer, a.buffer, "the buffer given back is lent again");
  assert.equal(pool.take(5 << 20).length, 1 << 20, "capped at the largest size");
  assert.equal(pool.take(1).length, 64 << 10);
  pool.give(Buffer.alloc(4096)); // not the pool's: ignored
  pool.give(b);
  pool.give(b); // twice: ignored the second time
  assert.equal(pool.take(400_000).buffer, b.buffer);
  assert.notEqual(pool.take(400_000).buffer, b.buffer);
  // A 300 kB file goes out in one push from a 512 KiB buffer, not a 1 MiB one.
  const { pushes } = stage(pool, [randomBytes(100_000), randomBytes(200_000)], 300_000);
  assert.equal(pushes, 1);
});

test("stager: a discarded file gives its buffer back unwritten", () => {
  const pool = new AlignedPool(64 << 10, 64 << 10, 1 << 20);
  const s = new Stager(pool, () => assert.fail("nothing may be pushed"), 10_000);
  const into = s.reserve(10_000)!;
  s.commit(10_000);
  s.discard();
  assert.equal(pool.take(1).buffer, into.buffer);
});

test("stager: with a cap, buffers for the rest of the file stay under it, yet a bigger chunk still fits whole", () => {
  const pool = new AlignedPool(64 << 10, 1 << 20, 8 << 20);
  const pushed: number[] = [];
  const file: Buffer[] = [];
  const s = new Stager(
    pool,
    (b) => {
      pushed.push(b.length);
      file.push(Buffer.from(b));
      pool.give(b);
    },
    1_000_000,
    128 << 10,
  );
  const pieces = [...Array.from({ length: 10 }, () => randomBytes(50_000)), randomBytes(300_000)];
  let inPlace = 0;
  for (const p of pieces) {
    const into = s.reserve(p.length);
    if (into) {
      p.copy(into);
      s.commit(p.length);
      inPlace++;
    } else s.append(p);
  }
  const tail = s.finish();
  assert.equal(inPlace, pieces.length, "every piece, the 300 kB one too, was staged in place");
  assert.ok(Buffer.concat([...file, tail]).equals(Buffer.concat(pieces)));
  assert.ok(
    pushed.slice(0, -1).every((n) => n <= 128 << 10),
    `pushes ${pushed.join(",")}`,
  );
  assert.ok(pushed.at(-1)! >= 300_000 - DIRECT_ALIGN, "the big chunk went out from a buffer that held it");
});

test("stager: with no free buffer of the size asked for, a larger free one is lent instead of a new one", () => {
  const pool = new AlignedPool(64 << 10, 1 << 20, 8 << 20);
  const big = pool.take(1 << 20);
  pool.give(big);
  const small = pool.take(100_000);
  assert.equal(small.buffer, big.buffer, "the free 1 MiB buffer serves a 128 KiB request");
  assert.equal(small.length, 1 << 20);
  assert.notEqual(pool.take(100_000).buffer, big.buffer, "nothing free: a new buffer");
  pool.give(small);
  assert.equal(pool.take(1 << 20).buffer, big.buffer, "given back whole");
});
