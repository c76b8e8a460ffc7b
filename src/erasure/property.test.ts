import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { FerryError } from "../errors.js";
import { WIDE_TABLE_MIN_BYTES } from "./kernel.js";
import { ReedSolomon } from "./reedsolomon.js";

/** Copies `src` into a fresh buffer at byte offset `off`, so shards have mixed alignment. */
function at(src: Uint8Array, off: number): Uint8Array {
  const big = new Uint8Array(src.length + off);
  big.set(src, off);
  return big.subarray(off);
}

/** k, m, shard length, data and a random erasure order over all k+m shards. */
const stripe = (maxLen: number) =>
  fc
    .record({
      k: fc.integer({ min: 1, max: 20 }),
      m: fc.integer({ min: 0, max: 8 }),
      len: fc.integer({ min: 0, max: maxLen }),
    })
    .chain(({ k, m, len }) =>
      fc.record({
        k: fc.constant(k),
        m: fc.constant(m),
        data: fc.array(fc.uint8Array({ minLength: len, maxLength: len }), { minLength: k, maxLength: k }),
        offsets: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: k + m, maxLength: k + m }),
        order: fc.shuffledSubarray(
          Array.from({ length: k + m }, (_, i) => i),
          { minLength: k + m, maxLength: k + m },
        ),
        lose: fc.integer({ min: 0, max: m }),
      }),
    );

function encoded(k: number, m: number, data: Uint8Array[], offsets: number[]): Uint8Array[] {
  const len = data[0]!.length;
  const shards = [...data.map((d, j) => at(d, offsets[j]!))];
  for (let i = 0; i < m; i++) shards.push(at(new Uint8Array(len), offsets[k + i]!));
  new ReedSolomon(k, m).encode(shards);
  return shards;
}

test("property: any ≤ m erasures reconstruct byte-exact; verify holds; dataOnly rebuilds only data", () => {
  fc.assert(
    fc.property(stripe(300), ({ k, m, data, offsets, order, lose }) => {
      const rs = new ReedSolomon(k, m);
      const shards = encoded(k, m, data, offsets);
      assert.ok(rs.verify(shards));
      for (let j = 0; j < k; j++) assert.deepEqual(Uint8Array.from(shards[j]!), data[j]);
      const lost = order.slice(0, lose);
      const holes: (Uint8Array | null)[] = shards.slice();
      for (const i of lost) holes[i] = null;
      const dataOnly: (Uint8Array | null)[] = holes.slice();
      rs.reconstruct(holes);
      assert.deepEqual(
        holes.map((s) => Uint8Array.from(s!)),
        shards.map((s) => Uint8Array.from(s)),
      );
      rs.reconstruct(dataOnly, { dataOnly: true });
      for (let i = 0; i < k + m; i++) {
        if (i >= k && lost.includes(i)) assert.equal(dataOnly[i], null);
        else assert.deepEqual(Uint8Array.from(dataOnly[i]!), Uint8Array.from(shards[i]!));
      }
      // Into the caller's buffers: views of one arena full of garbage, at odd offsets.
      const len = shards[0]!.length;
      const arena = new Uint8Array(lose * (len + 3) + 3).fill(0xaa);
      let used = 0;
      const alloc = (n: number) => {
        const v = arena.subarray(3 + used * (len + 3), 3 + used * (len + 3) + n);
        used++;
        return v;
      };
      const into: (Uint8Array | null)[] = shards.slice();
      for (const i of lost) into[i] = null;
      rs.reconstruct(into, { alloc });
      assert.equal(used, lose, "one buffer per rebuilt shard");
      for (let i = 0; i < k + m; i++)
        assert.deepEqual(Uint8Array.from(into[i]!), Uint8Array.from(shards[i]!));
      for (const i of lost) if (len > 0) assert.equal(into[i]!.buffer, arena.buffer);
    }),
    { numRuns: 300 },
  );
});

test("property: more than m erasures throws E_UNRECOVERABLE", () => {
  fc.assert(
    fc.property(stripe(40), fc.integer({ min: 1, max: 256 }), ({ k, m, data, offsets, order }, extra) => {
      const rs = new ReedSolomon(k, m);
      const shards: (Uint8Array | null)[] = encoded(k, m, data, offsets);
      const count = m + 1 + (extra % k);
      for (const i of order.slice(0, count)) shards[i] = null;
      assert.throws(
        () => rs.reconstruct(shards),
        (e: unknown) => FerryError.is(e, "E_UNRECOVERABLE"),
      );
    }),
    { numRuns: 200 },
  );
});

test("property: the code is linear (parity(a ^ b) = parity(a) ^ parity(b))", () => {
  fc.assert(
    fc.property(stripe(200), fc.integer(), ({ k, m, data }, seed) => {
      const len = data[0]!.length;
      const other = data.map((d, j) => d.map((x, i) => (x * 31 + i * 7 + j + seed) & 0xff));
      const sum = data.map((d, j) => d.map((x, i) => x ^ other[j]![i]!));
      const zeros = new Array(k + m).fill(0);
      const pa = encoded(k, m, data, zeros).slice(k);
      const pb = encoded(k, m, other, zeros).slice(k);
      const ps = encoded(k, m, sum, zeros).slice(k);
      for (let i = 0; i < m; i++) {
        for (let b = 0; b < len; b++) assert.equal(ps[i]![b], pa[i]![b]! ^ pb[i]![b]!);
      }
    }),
    { numRuns: 100 },
  );
});

test("property: large shards (16-bit table path) with mixed alignment", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: WIDE_TABLE_MIN_BYTES, max: WIDE_TABLE_MIN_BYTES * 3 }),
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 12, maxLength: 12 }),
      (k, m, len, seed, offsets) => {
        let x = seed || 1;
        const data = Array.from({ length: k }, () => {
          const d = new Uint8Array(len);
          for (let i = 0; i < len; i++) {
            x ^= x << 13;
            x ^= x >>> 17;
            x ^= x << 5;
            d[i] = x & 0xff;
          }
          return d;
        });
        const rs = new ReedSolomon(k, m);
        const shards = encoded(k, m, data, offsets);
        const aligned = encoded(
          k,
          m,
          data,
          offsets.map(() => 0),
        );
        assert.deepEqual(
          shards.map((s) => Buffer.from(s).toString("base64")),
          aligned.map((s) => Buffer.from(s).toString("base64")),
        );
        const holes: (Uint8Array | null)[] = shards.slice();
        for (let i = 0; i < m; i++) holes[(seed + i * 5) % (k + m)] = null;
        rs.reconstruct(holes);
        for (let i = 0; i < k + m; i++) assert.ok(Buffer.from(holes[i]!).equals(shards[i]!), `shard ${i}`);
      },
    ),
    { numRuns: 15 },
  );
});
