import assert from "node:assert/strict";
import { test } from "node:test";
import { codeShards, mulAddRegion, mulRegion, WIDE_TABLE_MIN_BYTES, wideTable } from "./kernel.js";
import { seededBytes, slowMul } from "./testing.js";

// Lengths around every path boundary: byte-only (< 32), word path with 4-word unroll
// remainders, and the 16-bit table path (≥ WIDE_TABLE_MIN_BYTES) with odd tails.
const LENGTHS = [
  0,
  1,
  3,
  4,
  31,
  32,
  33,
  35,
  64,
  257,
  1000,
  WIDE_TABLE_MIN_BYTES - 1,
  WIDE_TABLE_MIN_BYTES + 7,
];
const COEFS = [0, 1, 2, 3, 0x1d, 0x8e, 0xf4, 0xff];

/** A region of `len` bytes at byte offset `off` inside a larger buffer filled with `fill`. */
function placed(src: Uint8Array, off: number, fill: number): Uint8Array {
  const big = new Uint8Array(src.length + 8).fill(fill);
  big.set(src, off);
  return big.subarray(off, off + src.length);
}

function naive(coef: number, src: Uint8Array, dst: Uint8Array, add: boolean): Uint8Array {
  const out = dst.slice();
  for (let i = 0; i < src.length; i++) out[i] = (add ? out[i]! : 0) ^ slowMul(coef, src[i]!);
  return out;
}

test("mulRegion and mulAddRegion match byte-wise reference at all lengths, coefficients and alignments", () => {
  let seed = 1;
  for (const len of LENGTHS) {
    for (const coef of COEFS) {
      // Same alignment (word path) and different alignment (byte fallback).
      for (const [so, dof] of [
        [0, 0],
        [1, 1],
        [3, 3],
        [0, 2],
        [1, 0],
      ] as const) {
        const src = placed(seededBytes(seed++, len), so, 0xaa);
        const dst = placed(seededBytes(seed++, len), dof, 0x55);
        const before = dst.slice();
        mulAddRegion(coef, src, dst);
        assert.deepEqual(dst, naive(coef, src, before, true), `add len=${len} c=${coef} off=${so},${dof}`);
        mulRegion(coef, src, dst);
        assert.deepEqual(dst, naive(coef, src, before, false), `set len=${len} c=${coef} off=${so},${dof}`);
        // Bytes around the region are untouched.
        const big = new Uint8Array(dst.buffer);
        assert.ok(big.subarray(0, dof).every((b) => b === 0x55));
        assert.ok(big.subarray(dof + len).every((b) => b === 0x55));
      }
    }
  }
});

test("every coefficient works on the 8-bit and the 16-bit path", () => {
  const small = seededBytes(99, 256 + 3);
  const large = seededBytes(100, WIDE_TABLE_MIN_BYTES + 3);
  for (let c = 0; c < 256; c++) {
    for (const src of [small, large]) {
      const dst = seededBytes(c, src.length);
      const before = dst.slice();
      mulAddRegion(c, src, dst);
      for (let i = 0; i < src.length; i++) {
        if (dst[i] !== (before[i]! ^ slowMul(c, src[i]!))) assert.fail(`c=${c} len=${src.length} i=${i}`);
      }
    }
  }
});

test("wideTable packs two products per entry", () => {
  const t = wideTable(0x8e);
  assert.equal(t[0x0102], (slowMul(0x8e, 1) << 8) | slowMul(0x8e, 2));
  assert.equal(wideTable(2)[0x0102], 0x0204);
  assert.equal(wideTable(0x8e), t, "cached");
});

test("codeShards computes a matrix-vector product and overwrites outputs", () => {
  const len = 77;
  const inputs = [seededBytes(1, len), seededBytes(2, len), seededBytes(3, len)];
  const coefs = Uint8Array.of(1, 2, 3, 0, 0, 0, 0x8e, 1, 0);
  const outputs = [seededBytes(7, len), seededBytes(8, len), seededBytes(9, len)];
  codeShards(coefs, inputs, outputs);
  for (let r = 0; r < 3; r++) {
    for (let b = 0; b < len; b++) {
      let want = 0;
      for (let j = 0; j < 3; j++) want ^= slowMul(coefs[r * 3 + j]!, inputs[j]![b]!);
      assert.equal(outputs[r]![b], want, `row ${r} byte ${b}`);
    }
  }
  // k=2, m=1 hand example: 142·1 ^ 244·2 = 0x8e ^ 0xf5 = 0x7b.
  const p = new Uint8Array(1);
  codeShards(Uint8Array.of(142, 244), [Uint8Array.of(1), Uint8Array.of(2)], [p]);
  assert.equal(p[0], 0x7b);
});

test("kernel rejects a destination shorter than the source", () => {
  assert.throws(() => mulRegion(2, new Uint8Array(4), new Uint8Array(3)), /shorter/);
  assert.throws(() => mulAddRegion(2, new Uint8Array(4), new Uint8Array(3)), /shorter/);
});
