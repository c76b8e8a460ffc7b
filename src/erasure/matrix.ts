/**
 * Small dense matrices over GF(2^8), stored row-major in a flat Uint8Array
 * (entry (r, c) of a matrix with `cols` columns is at r·cols + c). Only what the
 * Reed-Solomon code needs: the Cauchy construction, row selection, Gauss-Jordan
 * inversion and a multiply for tests.
 */

import { FerryError } from "../errors.js";
import { GF_INV, GF_MUL_ROWS } from "./galois.js";

/**
 * The m×k Cauchy parity matrix: C[i][j] = inverse((k + i) XOR j). Same as the parity
 * rows of ISA-L's gf_gen_cauchy1_matrix. Requires k ≥ 1, m ≥ 0, k + m ≤ 256 (then
 * (k + i) XOR j is never 0, because k + i ≥ k > j).
 *
 * @example
 * cauchyParityMatrix(2, 1); // Uint8Array [142, 244]  (inv(2), inv(3))
 */
export function cauchyParityMatrix(k: number, m: number): Uint8Array {
  const out = new Uint8Array(m * k);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < k; j++) out[i * k + j] = GF_INV[(k + i) ^ j]!;
  }
  return out;
}

/**
 * The full (k+m)×k systematic encoding matrix [I_k; C]: row r < k is the unit row e_r
 * (data shard r is stored unchanged), row k + i is Cauchy parity row i.
 *
 * @example
 * encodingMatrix(2, 1); // Uint8Array [1, 0,  0, 1,  142, 244]
 */
export function encodingMatrix(k: number, m: number): Uint8Array {
  const out = new Uint8Array((k + m) * k);
  for (let r = 0; r < k; r++) out[r * k + r] = 1;
  out.set(cauchyParityMatrix(k, m), k * k);
  return out;
}

/**
 * The k×k identity matrix.
 *
 * @example
 * identityMatrix(2); // Uint8Array [1, 0, 0, 1]
 */
export function identityMatrix(n: number): Uint8Array {
  const out = new Uint8Array(n * n);
  for (let r = 0; r < n; r++) out[r * n + r] = 1;
  return out;
}

/**
 * A new matrix made of the given rows of `matrix` (which has `cols` columns), in order.
 *
 * @example
 * selectRows(encodingMatrix(2, 1), 2, [1, 2]); // Uint8Array [0, 1, 142, 244]
 */
export function selectRows(matrix: Uint8Array, cols: number, rows: readonly number[]): Uint8Array {
  const out = new Uint8Array(rows.length * cols);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    out.set(matrix.subarray(r * cols, r * cols + cols), i * cols);
  }
  return out;
}

/**
 * The product of an (aRows × inner) matrix and an (inner × bCols) matrix.
 *
 * @example
 * multiplyMatrices(Uint8Array.of(2), 1, 1, Uint8Array.of(0x8e), 1); // Uint8Array [1]
 */
export function multiplyMatrices(
  a: Uint8Array,
  aRows: number,
  inner: number,
  b: Uint8Array,
  bCols: number,
): Uint8Array {
  const out = new Uint8Array(aRows * bCols);
  for (let r = 0; r < aRows; r++) {
    for (let t = 0; t < inner; t++) {
      const mul = GF_MUL_ROWS[a[r * inner + t]!]!;
      for (let c = 0; c < bCols; c++) out[r * bCols + c]! ^= mul[b[t * bCols + c]!]!;
    }
  }
  return out;
}

/**
 * Inverts an n×n matrix by Gauss-Jordan elimination over GF(2^8). Pivoting: for column
 * c, the first row at or below c with a non-zero entry is swapped into place. The
 * input is not modified.
 *
 * @throws FerryError("E_INTERNAL") when the matrix is singular (impossible for any k
 *   rows of a ferry encoding matrix, which is MDS).
 * @example
 * // rows 1 and 2 of [I; C] for k=2, m=1 (data shard 0 lost)
 * invertMatrix(Uint8Array.of(0, 1, 142, 244), 2); // Uint8Array [245, 2, 1, 0]
 */
export function invertMatrix(matrix: Uint8Array, n: number): Uint8Array {
  if (matrix.length !== n * n) {
    throw new FerryError("E_INTERNAL", `invertMatrix: ${matrix.length} entries is not ${n}×${n}`);
  }
  const a = matrix.slice();
  const inv = identityMatrix(n);
  for (let c = 0; c < n; c++) {
    let p = c;
    while (p < n && a[p * n + c] === 0) p++;
    if (p === n) {
      throw new FerryError("E_INTERNAL", `invertMatrix: matrix is singular (column ${c})`);
    }
    if (p !== c) {
      swapRows(a, n, p, c);
      swapRows(inv, n, p, c);
    }
    const scale = GF_MUL_ROWS[GF_INV[a[c * n + c]!]!]!;
    const rc = c * n;
    for (let x = 0; x < n; x++) {
      a[rc + x] = scale[a[rc + x]!]!;
      inv[rc + x] = scale[inv[rc + x]!]!;
    }
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = a[r * n + c]!;
      if (f === 0) continue;
      const mul = GF_MUL_ROWS[f]!;
      const rr = r * n;
      for (let x = 0; x < n; x++) {
        a[rr + x]! ^= mul[a[rc + x]!]!;
        inv[rr + x]! ^= mul[inv[rc + x]!]!;
      }
    }
  }
  return inv;
}

function swapRows(m: Uint8Array, n: number, r1: number, r2: number): void {
  for (let x = 0; x < n; x++) {
    const t = m[r1 * n + x]!;
    m[r1 * n + x] = m[r2 * n + x]!;
    m[r2 * n + x] = t;
  }
}
