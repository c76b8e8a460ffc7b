/**
 * Arithmetic in GF(2^8), the field ferry's Reed-Solomon code works in.
 *
 * Elements are the integers 0..255, read as polynomials over GF(2) (bit i is the
 * coefficient of x^i). Addition is XOR. Multiplication is polynomial multiplication
 * reduced modulo x^8 + x^4 + x^3 + x^2 + 1 (0x11D); 2 (the polynomial x) generates the
 * multiplicative group. This is the same field as Intel ISA-L and klauspost/reedsolomon,
 * and it is part of ferry's on-drive format: never change it.
 *
 * All tables are built once at module load (about 66 KiB) and never change.
 */

import { FerryError } from "../errors.js";

/**
 * The reducing polynomial x^8 + x^4 + x^3 + x^2 + 1, with the x^8 bit.
 *
 * @example
 * GF_POLYNOMIAL.toString(16); // "11d"
 */
export const GF_POLYNOMIAL = 0x11d;

/**
 * The generator of the multiplicative group used to build the exp/log tables.
 *
 * @example
 * GF_EXP[1] === GF_GENERATOR; // true
 */
export const GF_GENERATOR = 2;

/**
 * GF_EXP[i] = 2^i for 0 ≤ i < 510 (doubled so LOG[a] + LOG[b] needs no mod 255).
 *
 * @example
 * GF_EXP[8]; // 0x1d (x^8 reduced by 0x11D)
 */
export const GF_EXP: Uint8Array = new Uint8Array(512);

/**
 * GF_LOG[a] = i such that 2^i = a, for a ≠ 0. GF_LOG[0] is 0 and meaningless.
 *
 * @example
 * GF_LOG[0x1d]; // 8
 */
export const GF_LOG: Uint8Array = new Uint8Array(256);

/**
 * GF_INV[a] = a^-1 for a ≠ 0. GF_INV[0] is 0 (zero has no inverse).
 *
 * @example
 * GF_INV[2]; // 0x8e
 */
export const GF_INV: Uint8Array = new Uint8Array(256);

/**
 * The full multiplication table: GF_MUL[(a << 8) | b] = a·b. Row `a` (256 bytes
 * starting at a << 8) is the lookup table for "multiply by a".
 *
 * @example
 * GF_MUL[(3 << 8) | 7]; // 9
 */
export const GF_MUL: Uint8Array = new Uint8Array(65536);

/**
 * GF_MUL_ROWS[c] is a view of row c of {@link GF_MUL}: GF_MUL_ROWS[c][x] = c·x.
 *
 * @example
 * GF_MUL_ROWS[2]![0x80]; // 0x1d
 */
export const GF_MUL_ROWS: readonly Uint8Array[] = buildTables();

function buildTables(): Uint8Array[] {
  let x = 1;
  for (let i = 0; i < 255; i++) {
    GF_EXP[i] = x;
    GF_LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= GF_POLYNOMIAL;
  }
  for (let i = 255; i < 512; i++) GF_EXP[i] = GF_EXP[i - 255]!;
  for (let a = 1; a < 256; a++) {
    const la = GF_LOG[a]!;
    GF_INV[a] = GF_EXP[255 - la]!;
    const row = a << 8;
    for (let b = 1; b < 256; b++) GF_MUL[row | b] = GF_EXP[la + GF_LOG[b]!]!;
  }
  const rows: Uint8Array[] = [];
  for (let c = 0; c < 256; c++) rows.push(GF_MUL.subarray(c << 8, (c << 8) + 256));
  return rows;
}

/**
 * Multiplies two field elements.
 *
 * Precondition: `a` and `b` are integers in 0..255 (not checked; anything else gives
 * an unspecified result).
 *
 * @example
 * gfMul(2, 0x8e); // 1, because 0x8E is the inverse of 2 under 0x11D
 * gfMul(3, 7);    // 9  (x+1)(x^2+x+1) = x^3+1, no reduction needed
 */
export function gfMul(a: number, b: number): number {
  return GF_MUL[((a & 0xff) << 8) | (b & 0xff)]!;
}

/**
 * The multiplicative inverse of a non-zero field element.
 *
 * @throws FerryError("E_USAGE") when `a` is 0 or not an integer in 1..255.
 * @example
 * gfInv(2); // 0x8e
 * gfInv(3); // 0xf4
 * gfMul(57, gfInv(57)); // 1
 */
export function gfInv(a: number): number {
  if (!Number.isInteger(a) || a < 1 || a > 255) {
    throw new FerryError("E_USAGE", `gfInv: ${a} has no inverse in GF(2^8) (need an integer 1..255)`, {
      hint: "Zero has no multiplicative inverse; check the caller's coefficients",
    });
  }
  return GF_INV[a]!;
}

/**
 * Divides `a` by a non-zero `b`: a · b^-1.
 *
 * @throws FerryError("E_USAGE") when `b` is 0.
 * @example
 * gfDiv(gfMul(9, 200), 200); // 9
 */
export function gfDiv(a: number, b: number): number {
  return gfMul(a, gfInv(b));
}
