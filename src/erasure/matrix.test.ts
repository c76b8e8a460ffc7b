import assert from "node:assert/strict";
import { test } from "node:test";
import { FerryError } from "../errors.js";
import { gfInv } from "./galois.js";
import {
  cauchyParityMatrix,
  encodingMatrix,
  identityMatrix,
  invertMatrix,
  multiplyMatrices,
  selectRows,
} from "./matrix.js";
import { subsets } from "./testing.js";

test("Cauchy parity matrix is inverse((k + i) XOR j)", () => {
  assert.deepEqual(cauchyParityMatrix(2, 1), Uint8Array.of(0x8e, 0xf4));
  assert.deepEqual(encodingMatrix(2, 1), Uint8Array.of(1, 0, 0, 1, 0x8e, 0xf4));
  for (const [k, m] of [
    [1, 1],
    [3, 2],
    [9, 3],
    [10, 4],
    [200, 56],
  ] as const) {
    const c = cauchyParityMatrix(k, m);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < k; j++) {
        assert.equal(c[i * k + j], gfInv((k + i) ^ j));
        assert.notEqual(c[i * k + j], 0);
      }
    }
  }
});

test("inverse times matrix is the identity for every k-row choice of [I; C] (k=4, m=3)", () => {
  const k = 4;
  const m = 3;
  const enc = encodingMatrix(k, m);
  let checked = 0;
  for (const rows of subsets(k + m, k)) {
    if (rows.length !== k) continue;
    const sub = selectRows(enc, k, rows);
    const inv = invertMatrix(sub, k);
    assert.deepEqual(multiplyMatrices(inv, k, k, sub, k), identityMatrix(k), `rows ${rows}`);
    assert.deepEqual(multiplyMatrices(sub, k, k, inv, k), identityMatrix(k), `rows ${rows}`);
    checked++;
  }
  assert.equal(checked, 35); // C(7, 4)
});

test("invertMatrix: hand example, input untouched, singular rejected", () => {
  const a = Uint8Array.of(0, 1, 142, 244);
  assert.deepEqual(invertMatrix(a, 2), Uint8Array.of(245, 2, 1, 0));
  assert.deepEqual(a, Uint8Array.of(0, 1, 142, 244));
  assert.throws(
    () => invertMatrix(Uint8Array.of(1, 2, 2, 4), 2), // row 2 = 2·row 1
    (e: unknown) => FerryError.is(e, "E_INTERNAL"),
  );
  assert.throws(
    () => invertMatrix(new Uint8Array(3), 2),
    (e: unknown) => FerryError.is(e, "E_INTERNAL"),
  );
});

test("large inversion: last 200 rows of the (200, 56) code", () => {
  const k = 200;
  const m = 56;
  const rows = Array.from({ length: k }, (_, i) => i + m);
  const sub = selectRows(encodingMatrix(k, m), k, rows);
  const inv = invertMatrix(sub, k);
  assert.deepEqual(multiplyMatrices(sub, k, k, inv, k), identityMatrix(k));
});
