import assert from "node:assert/strict";
import { test } from "node:test";
import { FerryError } from "../errors.js";
import { DECODE_CACHE_SIZE, ReedSolomon } from "./reedsolomon.js";
import { cloneShards, makeShards, slowMul, subsets } from "./testing.js";

const isCode = (code: string) => (e: unknown) => FerryError.is(e, code as never);

/** Parity by the textbook formula, byte by byte, independent of the kernel. */
function slowParity(k: number, m: number, data: readonly Uint8Array[], matrix: number[][]): Uint8Array[] {
  const len = data[0]!.length;
  return Array.from({ length: m }, (_, i) => {
    const p = new Uint8Array(len);
    for (let b = 0; b < len; b++) {
      let acc = 0;
      for (let j = 0; j < k; j++) acc ^= slowMul(matrix[i]![j]!, data[j]![b]!);
      p[b] = acc;
    }
    return p;
  });
}

test("constructor validates k and m", () => {
  const rs = new ReedSolomon(9, 3);
  assert.equal(rs.dataShards, 9);
  assert.equal(rs.parityShards, 3);
  assert.equal(rs.totalShards, 12);
  new ReedSolomon(1, 0);
  new ReedSolomon(1, 255);
  new ReedSolomon(256, 0);
  for (const [k, m] of [
    [0, 1],
    [-1, 2],
    [1.5, 1],
    [2, -1],
    [2, 0.5],
    [200, 57],
    [256, 1],
    [Number.NaN, 1],
  ] as const) {
    assert.throws(() => new ReedSolomon(k, m), isCode("E_USAGE"), `k=${k} m=${m}`);
  }
});

test("parityMatrix is the Cauchy matrix and a copy", () => {
  const rs = new ReedSolomon(2, 1);
  assert.deepEqual(rs.parityMatrix(), [[142, 244]]);
  rs.parityMatrix()[0]![0] = 0;
  assert.deepEqual(rs.parityMatrix(), [[142, 244]]);
  assert.deepEqual(new ReedSolomon(3, 0).parityMatrix(), []);
  // k=3, m=2: row 0 = inv(3^0), inv(3^1), inv(3^2) = inv(3), inv(2), inv(1); row 1 = inv(4), inv(5), inv(6).
  assert.deepEqual(new ReedSolomon(3, 2).parityMatrix(), [
    [244, 142, 1],
    [71, 167, 122],
  ]);
});

test("encode leaves data alone, overwrites preallocated parity, matches the formula", () => {
  for (const [k, m, len] of [
    [1, 1, 10],
    [3, 1, 1000],
    [9, 3, 20_003],
    [10, 4, 64],
    [3, 0, 5],
  ] as const) {
    const rs = new ReedSolomon(k, m);
    const shards = makeShards(k, m, len, k * 31 + m);
    const data = cloneShards(shards.slice(0, k));
    const parityBuffers = shards.slice(k);
    for (const p of parityBuffers) p.fill(0xa5); // garbage must be overwritten
    rs.encode(shards);
    assert.deepEqual(shards.slice(0, k), data);
    for (let i = 0; i < m; i++) assert.equal(shards[k + i], parityBuffers[i], "same buffer object");
    assert.deepEqual(shards.slice(k), slowParity(k, m, data, rs.parityMatrix()));
    assert.ok(rs.verify(shards));
  }
});

test("k=1: every parity shard is a copy-by-coefficient of the one data shard", () => {
  const rs = new ReedSolomon(1, 3);
  const shards = [Uint8Array.of(1, 2, 3), new Uint8Array(3), new Uint8Array(3), new Uint8Array(3)];
  rs.encode(shards);
  assert.deepEqual(shards[1], Uint8Array.of(1, 2, 3)); // inv(1 ^ 0) = 1
  assert.deepEqual(shards[2], Uint8Array.of(0x8e, slowMul(0x8e, 2), slowMul(0x8e, 3))); // inv(2)
});

const GEOMETRIES = [
  [1, 1],
  [2, 1],
  [3, 0],
  [3, 1],
  [4, 2],
  [5, 5],
  [9, 3],
  [10, 4],
] as const;

test("every erasure pattern of up to m shards reconstructs byte-exact", () => {
  let patterns = 0;
  for (const [k, m] of GEOMETRIES) {
    const rs = new ReedSolomon(k, m);
    const original = makeShards(k, m, 37, k * 100 + m);
    rs.encode(original);
    for (const lost of subsets(k + m, m)) {
      const shards: (Uint8Array | null)[] = cloneShards(original);
      for (const i of lost) shards[i] = null;
      rs.reconstruct(shards);
      assert.deepEqual(shards, original, `k=${k} m=${m} lost=${lost}`);
      for (const i of lost) assert.equal(shards[i]!.length, 37);
      // dataOnly rebuilds exactly the data shards and leaves parity holes alone.
      const partial: (Uint8Array | null)[] = cloneShards(original);
      for (const i of lost) partial[i] = null;
      rs.reconstruct(partial, { dataOnly: true });
      for (let i = 0; i < k + m; i++) {
        if (i < k || !lost.includes(i))
          assert.deepEqual(partial[i], original[i], `dataOnly ${lost} shard ${i}`);
        else assert.equal(partial[i], null, `dataOnly must not rebuild parity ${i}`);
      }
      patterns++;
    }
  }
  // Sum over geometries of C(k+m, 0) + ... + C(k+m, m).
  assert.equal(patterns, 3 + 4 + 1 + 5 + 22 + 638 + 299 + 1471);
});

test("every erasure pattern for (9,3) with 20 KiB shards (16-bit table path, odd tail)", () => {
  const k = 9;
  const m = 3;
  const rs = new ReedSolomon(k, m);
  const original = makeShards(k, m, 20_003, 5);
  rs.encode(original);
  for (const lost of subsets(k + m, m)) {
    const shards: (Uint8Array | undefined)[] = cloneShards(original);
    for (const i of lost) shards[i] = undefined;
    rs.reconstruct(shards);
    for (const i of lost) assert.ok(Buffer.from(shards[i]!).equals(original[i]!), `lost=${lost} shard ${i}`);
  }
});

test("more than m missing is E_UNRECOVERABLE, and the shards are left untouched", () => {
  for (const [k, m] of GEOMETRIES) {
    const rs = new ReedSolomon(k, m);
    const original = makeShards(k, m, 16, 3);
    rs.encode(original);
    for (let lostCount = m + 1; lostCount <= k + m; lostCount++) {
      const shards: (Uint8Array | null)[] = cloneShards(original);
      for (let i = 0; i < lostCount; i++) shards[(i * 7) % (k + m)] = null;
      const nulls = shards.filter((s) => s === null).length;
      if (nulls <= m) continue;
      const snapshot = shards.slice();
      assert.throws(
        () => rs.reconstruct(shards),
        (e: unknown) => {
          assert.ok(FerryError.is(e, "E_UNRECOVERABLE"));
          assert.match(e.message, new RegExp(`only ${k + m - nulls} of ${k + m} shards are present`));
          assert.match(e.message, new RegExp(`at least ${k} are needed`));
          assert.ok(e.hint);
          return true;
        },
      );
      assert.deepEqual(shards, snapshot);
      assert.throws(() => rs.reconstruct(shards, { dataOnly: true }), isCode("E_UNRECOVERABLE"));
    }
  }
});

test("dataOnly with only parity missing, and nothing missing, are no-ops", () => {
  const rs = new ReedSolomon(4, 2);
  const shards: (Uint8Array | null)[] = makeShards(4, 2, 9, 1);
  rs.encode(shards as Uint8Array[]);
  const copy = shards.slice();
  rs.reconstruct(shards);
  assert.deepEqual(shards, copy);
  shards[4] = null;
  shards[5] = null;
  rs.reconstruct(shards, { dataOnly: true });
  assert.equal(shards[4], null);
  assert.equal(rs.cachedDecodePlans, 0);
  rs.reconstruct(shards);
  assert.deepEqual(shards, copy);
});

test("verify detects a single flipped bit in any byte of any shard", () => {
  for (const [k, m, len] of [
    [1, 1, 5],
    [2, 1, 40],
    [9, 3, 100],
    [10, 4, 70_001], // more than one 64 KiB verify block
  ] as const) {
    const rs = new ReedSolomon(k, m);
    const shards = makeShards(k, m, len, 11);
    rs.encode(shards);
    assert.ok(rs.verify(shards));
    for (let s = 0; s < k + m; s++) {
      for (const pos of [0, 1, Math.floor(len / 2), len - 1]) {
        for (const bit of [0x01, 0x80]) {
          shards[s]![pos]! ^= bit;
          assert.equal(rs.verify(shards), false, `k=${k} m=${m} shard ${s} byte ${pos}`);
          shards[s]![pos]! ^= bit;
        }
      }
    }
    assert.ok(rs.verify(shards));
  }
});

test("verify with m = 0 or empty shards is true", () => {
  assert.ok(new ReedSolomon(3, 0).verify(makeShards(3, 0, 10, 1)));
  const rs = new ReedSolomon(2, 2);
  const empty = makeShards(2, 2, 0, 1);
  rs.encode(empty);
  assert.ok(rs.verify(empty));
  const shards: (Uint8Array | null)[] = empty.slice();
  shards[0] = null;
  shards[3] = null;
  rs.reconstruct(shards);
  assert.deepEqual(shards, makeShards(2, 2, 0, 1));
});

test("size and shape mistakes are E_USAGE", () => {
  const rs = new ReedSolomon(3, 2);
  const good = makeShards(3, 2, 8, 1);
  assert.throws(() => rs.encode(good.slice(0, 4)), isCode("E_USAGE"));
  assert.throws(() => rs.encode([...good, new Uint8Array(8)]), isCode("E_USAGE"));
  const short = good.slice();
  short[4] = new Uint8Array(7);
  assert.throws(() => rs.encode(short), isCode("E_USAGE"));
  assert.throws(() => rs.verify(short), isCode("E_USAGE"));
  const holed = good.slice() as (Uint8Array | null)[];
  holed[3] = null;
  assert.throws(() => rs.encode(holed as Uint8Array[]), isCode("E_USAGE"));
  assert.throws(() => rs.verify(holed as Uint8Array[]), isCode("E_USAGE"));
  const mixed = good.slice() as (Uint8Array | null)[];
  mixed[0] = null;
  mixed[2] = new Uint8Array(9);
  assert.throws(() => rs.reconstruct(mixed), isCode("E_USAGE"));
  assert.throws(() => rs.reconstruct(good.slice(0, 3)), isCode("E_USAGE"));
  assert.throws(() => rs.reconstruct([1, 2, 3, 4, 5] as unknown as Uint8Array[]), isCode("E_USAGE"));
});

test("Buffers, pooled Buffers and unaligned subarrays work", () => {
  const k = 4;
  const m = 2;
  const rs = new ReedSolomon(k, m);
  const ref = makeShards(k, m, 5000, 21);
  rs.encode(ref);
  // Each shard at a different byte offset inside its backing store.
  const backing = new Uint8Array(6 * 5010);
  const odd = ref.map((s, i) => {
    const view = backing.subarray(i * 5010 + i, i * 5010 + i + 5000);
    view.set(i < k ? s : new Uint8Array(5000));
    return view;
  });
  rs.encode(odd);
  assert.deepEqual(odd, ref);
  assert.ok(rs.verify(odd));
  const bufs: (Uint8Array | null)[] = ref.map((s) => Buffer.from(s));
  bufs[1] = null;
  bufs[4] = null;
  rs.reconstruct(bufs);
  assert.deepEqual(
    bufs.map((b) => Uint8Array.from(b!)),
    ref,
  );
});

test("decode plans are cached per erasure pattern and bounded", () => {
  const k = 6;
  const m = 3;
  const rs = new ReedSolomon(k, m);
  const original = makeShards(k, m, 50, 8);
  rs.encode(original);
  const run = (lost: number[]) => {
    const shards: (Uint8Array | null)[] = original.slice();
    for (const i of lost) shards[i] = null;
    rs.reconstruct(shards);
    assert.deepEqual(shards, original, `lost ${lost}`);
  };
  run([0, 1]);
  assert.equal(rs.cachedDecodePlans, 1);
  run([0, 1]);
  assert.equal(rs.cachedDecodePlans, 1);
  run([0, 8]); // another pattern, another plan
  assert.equal(rs.cachedDecodePlans, 2);
  let count = 0;
  for (const lost of subsets(k + m, m)) {
    if (!lost.some((i) => i < k)) continue;
    run(lost);
    count++;
  }
  assert.ok(count > DECODE_CACHE_SIZE);
  assert.equal(rs.cachedDecodePlans, DECODE_CACHE_SIZE);
  // Results stay right after eviction.
  run([0, 1]);
  run([2, 3, 4]);
});

test("(200, 56): lose the first 56 shards (all data rows replaced by parity)", () => {
  const k = 200;
  const m = 56;
  const rs = new ReedSolomon(k, m);
  const original = makeShards(k, m, 33, 2);
  rs.encode(original);
  const shards: (Uint8Array | null)[] = original.slice();
  for (let i = 0; i < m; i++) shards[i] = null;
  rs.reconstruct(shards);
  assert.deepEqual(shards, original);
});
