/**
 * The byte-crunching kernel: multiply a region by a GF(2^8) constant, optionally
 * XOR-ing into the destination. Everything ferry's Reed-Solomon code does to shard
 * bytes goes through {@link codeShards}, which is built on {@link mulRegion} and
 * {@link mulAddRegion}; a native or SIMD kernel (e.g. ISA-L's ec_encode_data, which
 * takes the same inputs) can replace these three functions without touching callers.
 *
 * Plain-JS strategy (measured on V8 / Node 20, see bench.ts):
 * - coefficient 0 and 1 are special-cased (fill / copy / XOR);
 * - when source and destination have the same alignment mod 4, bytes are processed
 *   as Uint32 words, 4 words per loop iteration; the unaligned head and the tail go
 *   byte by byte;
 * - regions of at least {@link WIDE_TABLE_MIN_BYTES} use a 65536-entry "two bytes at a
 *   time" table per coefficient (128 KiB, built lazily on first use and kept for the
 *   life of the process: at most 255 × 128 KiB = 32 MiB); smaller regions use the
 *   256-byte row of the full multiplication table (4 lookups per word).
 * No call allocates anything proportional to the region size; the only per-call
 * allocations are two small typed-array views.
 */

import { FerryError } from "../errors.js";
import { native } from "../native/index.js";
import { GF_MUL_ROWS } from "./galois.js";

/**
 * Regions at least this long use the 16-bit lookup tables.
 *
 * @example
 * WIDE_TABLE_MIN_BYTES; // 16384
 */
export const WIDE_TABLE_MIN_BYTES = 16 * 1024;

const WIDE_TABLE_MIN_WORDS = WIDE_TABLE_MIN_BYTES >>> 2;

/** Below this many bytes the word path is not worth setting up. */
const WORD_PATH_MIN_BYTES = 32;

const wideTables: (Uint16Array | undefined)[] = new Array(256).fill(undefined);

/**
 * The 16-bit lookup table for coefficient `c`: entry (hi << 8 | lo) holds
 * (c·hi) << 8 | c·lo. Built on first use, then cached for the process.
 *
 * @example
 * wideTable(2)[0x0102]; // 0x0204
 */
export function wideTable(c: number): Uint16Array {
  let t = wideTables[c];
  if (t === undefined) {
    const row = GF_MUL_ROWS[c]!;
    t = new Uint16Array(65536);
    for (let hi = 0; hi < 256; hi++) {
      const h = row[hi]! << 8;
      const base = hi << 8;
      for (let lo = 0; lo < 256; lo++) t[base | lo] = h | row[lo]!;
    }
    wideTables[c] = t;
  }
  return t;
}

function checkLengths(src: Uint8Array, dst: Uint8Array): void {
  if (dst.length < src.length) {
    throw new FerryError(
      "E_INTERNAL",
      `erasure kernel: destination (${dst.length} bytes) shorter than source (${src.length} bytes)`,
    );
  }
}

/**
 * dst[i] = coef · src[i] for 0 ≤ i < src.length. `dst` must be at least as long as
 * `src`; bytes past src.length are left alone. `src` and `dst` must not overlap unless
 * they are the same region.
 *
 * @example
 * const dst = new Uint8Array(3);
 * mulRegion(2, Uint8Array.of(1, 2, 0x80), dst); // dst = [2, 4, 0x1d]
 */
export function mulRegion(coef: number, src: Uint8Array, dst: Uint8Array): void {
  checkLengths(src, dst);
  const n = src.length;
  if (n === 0) return;
  if (coef === 0) {
    dst.fill(0, 0, n);
    return;
  }
  if (coef === 1) {
    if (src !== dst) dst.set(src);
    return;
  }
  region(coef, src, dst, false);
}

/**
 * dst[i] ^= coef · src[i] for 0 ≤ i < src.length (the "multiply-accumulate" step of
 * encoding). Same preconditions as {@link mulRegion}.
 *
 * @example
 * const dst = Uint8Array.of(1, 1);
 * mulAddRegion(3, Uint8Array.of(1, 2), dst); // dst = [1 ^ 3, 1 ^ 6] = [2, 7]
 */
export function mulAddRegion(coef: number, src: Uint8Array, dst: Uint8Array): void {
  checkLengths(src, dst);
  const n = src.length;
  if (n === 0 || coef === 0) return;
  region(coef, src, dst, true);
}

/**
 * Matrix-times-shards: for each output i, outputs[i] = XOR over j of
 * coefs[i·inputs.length + j] · inputs[j]. `coefs` is row-major with one row per output.
 * All inputs and outputs must have the same length; outputs must not overlap inputs.
 * Outputs are fully overwritten.
 *
 * This is the single entry point a faster kernel would replace.
 *
 * @example
 * // parity = 142·d0 ^ 244·d1 (the k=2, m=1 Cauchy row)
 * const parity = new Uint8Array(1);
 * codeShards(Uint8Array.of(142, 244), [Uint8Array.of(1), Uint8Array.of(2)], [parity]);
 * // parity[0] === 0x7b
 */
export function codeShards(
  coefs: Uint8Array,
  inputs: readonly Uint8Array[],
  outputs: readonly Uint8Array[],
): void {
  const k = inputs.length;
  if (coefs.length < k * outputs.length) {
    throw new FerryError(
      "E_INTERNAL",
      `codeShards: ${coefs.length} coefficients for ${outputs.length}×${k} matrix`,
    );
  }
  if (native !== null && k > 0 && k <= 256 && outputs.length <= 256) {
    try {
      native.codeShards(coefs, inputs, outputs);
    } catch (e) {
      throw new FerryError("E_INTERNAL", `codeShards: ${(e as Error).message}`);
    }
    return;
  }
  codeShardsJs(coefs, inputs, outputs);
}

/**
 * {@link codeShards} in plain JS (what runs without the native kernel; tests compare the two).
 *
 * @example
 * codeShardsJs(Uint8Array.of(142, 244), [Uint8Array.of(1), Uint8Array.of(2)], [new Uint8Array(1)]);
 */
export function codeShardsJs(
  coefs: Uint8Array,
  inputs: readonly Uint8Array[],
  outputs: readonly Uint8Array[],
): void {
  const k = inputs.length;
  for (let i = 0; i < outputs.length; i++) {
    const out = outputs[i]!;
    const row = i * k;
    let started = false;
    for (let j = 0; j < k; j++) {
      const c = coefs[row + j]!;
      if (c === 0) continue;
      if (started) {
        mulAddRegion(c, inputs[j]!, out);
      } else {
        mulRegion(c, inputs[j]!, out);
        started = true;
      }
    }
    if (!started) out.fill(0);
  }
}

/** Shared body of mulRegion / mulAddRegion for coef ≥ 1 (coef 1 only when add). */
function region(coef: number, src: Uint8Array, dst: Uint8Array, add: boolean): void {
  const n = src.length;
  const so = src.byteOffset;
  const t8 = GF_MUL_ROWS[coef]!;
  if (n < WORD_PATH_MIN_BYTES || ((so ^ dst.byteOffset) & 3) !== 0) {
    if (add) bytesAdd(t8, src, dst, 0, n);
    else bytesSet(t8, src, dst, 0, n);
    return;
  }
  const head = (4 - (so & 3)) & 3;
  const words = (n - head) >>> 2;
  const tailStart = head + (words << 2);
  const s32 = new Uint32Array(src.buffer, so + head, words);
  const d32 = new Uint32Array(dst.buffer, dst.byteOffset + head, words);
  if (coef === 1) {
    for (let i = 0; i < head; i++) dst[i]! ^= src[i]!;
    xorWords(s32, d32, words);
    for (let i = tailStart; i < n; i++) dst[i]! ^= src[i]!;
    return;
  }
  if (add) {
    bytesAdd(t8, src, dst, 0, head);
    if (words >= WIDE_TABLE_MIN_WORDS) wordsAdd16(wideTable(coef), s32, d32, words);
    else wordsAdd8(t8, s32, d32, words);
    bytesAdd(t8, src, dst, tailStart, n);
  } else {
    bytesSet(t8, src, dst, 0, head);
    if (words >= WIDE_TABLE_MIN_WORDS) wordsSet16(wideTable(coef), s32, d32, words);
    else wordsSet8(t8, s32, d32, words);
    bytesSet(t8, src, dst, tailStart, n);
  }
}

// The loops below are deliberately repetitive: V8 optimises each monomorphic, unrolled
// loop far better than a generic one with a flag or a callback.
// Byte order inside a word does not matter: each byte is looked up and put back at the
// same shift, so these are correct on big- and little-endian hosts alike.

function bytesAdd(t: Uint8Array, src: Uint8Array, dst: Uint8Array, from: number, to: number): void {
  for (let i = from; i < to; i++) dst[i]! ^= t[src[i]!]!;
}

function bytesSet(t: Uint8Array, src: Uint8Array, dst: Uint8Array, from: number, to: number): void {
  for (let i = from; i < to; i++) dst[i] = t[src[i]!]!;
}

function xorWords(s: Uint32Array, d: Uint32Array, n: number): void {
  let w = 0;
  for (; w + 4 <= n; w += 4) {
    d[w]! ^= s[w]!;
    d[w + 1]! ^= s[w + 1]!;
    d[w + 2]! ^= s[w + 2]!;
    d[w + 3]! ^= s[w + 3]!;
  }
  for (; w < n; w++) d[w]! ^= s[w]!;
}

function wordsAdd8(t: Uint8Array, s: Uint32Array, d: Uint32Array, n: number): void {
  let w = 0;
  for (; w + 4 <= n; w += 4) {
    const a = s[w]!;
    const b = s[w + 1]!;
    const c = s[w + 2]!;
    const e = s[w + 3]!;
    d[w]! ^= t[a & 255]! | (t[(a >>> 8) & 255]! << 8) | (t[(a >>> 16) & 255]! << 16) | (t[a >>> 24]! << 24);
    d[w + 1]! ^=
      t[b & 255]! | (t[(b >>> 8) & 255]! << 8) | (t[(b >>> 16) & 255]! << 16) | (t[b >>> 24]! << 24);
    d[w + 2]! ^=
      t[c & 255]! | (t[(c >>> 8) & 255]! << 8) | (t[(c >>> 16) & 255]! << 16) | (t[c >>> 24]! << 24);
    d[w + 3]! ^=
      t[e & 255]! | (t[(e >>> 8) & 255]! << 8) | (t[(e >>> 16) & 255]! << 16) | (t[e >>> 24]! << 24);
  }
  for (; w < n; w++) {
    const a = s[w]!;
    d[w]! ^= t[a & 255]! | (t[(a >>> 8) & 255]! << 8) | (t[(a >>> 16) & 255]! << 16) | (t[a >>> 24]! << 24);
  }
}

function wordsSet8(t: Uint8Array, s: Uint32Array, d: Uint32Array, n: number): void {
  let w = 0;
  for (; w + 4 <= n; w += 4) {
    const a = s[w]!;
    const b = s[w + 1]!;
    const c = s[w + 2]!;
    const e = s[w + 3]!;
    d[w] = t[a & 255]! | (t[(a >>> 8) & 255]! << 8) | (t[(a >>> 16) & 255]! << 16) | (t[a >>> 24]! << 24);
    d[w + 1] = t[b & 255]! | (t[(b >>> 8) & 255]! << 8) | (t[(b >>> 16) & 255]! << 16) | (t[b >>> 24]! << 24);
    d[w + 2] = t[c & 255]! | (t[(c >>> 8) & 255]! << 8) | (t[(c >>> 16) & 255]! << 16) | (t[c >>> 24]! << 24);
    d[w + 3] = t[e & 255]! | (t[(e >>> 8) & 255]! << 8) | (t[(e >>> 16) & 255]! << 16) | (t[e >>> 24]! << 24);
  }
  for (; w < n; w++) {
    const a = s[w]!;
    d[w] = t[a & 255]! | (t[(a >>> 8) & 255]! << 8) | (t[(a >>> 16) & 255]! << 16) | (t[a >>> 24]! << 24);
  }
}

function wordsAdd16(t: Uint16Array, s: Uint32Array, d: Uint32Array, n: number): void {
  let w = 0;
  for (; w + 4 <= n; w += 4) {
    const a = s[w]!;
    const b = s[w + 1]!;
    const c = s[w + 2]!;
    const e = s[w + 3]!;
    d[w]! ^= t[a & 0xffff]! | (t[a >>> 16]! << 16);
    d[w + 1]! ^= t[b & 0xffff]! | (t[b >>> 16]! << 16);
    d[w + 2]! ^= t[c & 0xffff]! | (t[c >>> 16]! << 16);
    d[w + 3]! ^= t[e & 0xffff]! | (t[e >>> 16]! << 16);
  }
  for (; w < n; w++) {
    const a = s[w]!;
    d[w]! ^= t[a & 0xffff]! | (t[a >>> 16]! << 16);
  }
}

function wordsSet16(t: Uint16Array, s: Uint32Array, d: Uint32Array, n: number): void {
  let w = 0;
  for (; w + 4 <= n; w += 4) {
    const a = s[w]!;
    const b = s[w + 1]!;
    const c = s[w + 2]!;
    const e = s[w + 3]!;
    d[w] = t[a & 0xffff]! | (t[a >>> 16]! << 16);
    d[w + 1] = t[b & 0xffff]! | (t[b >>> 16]! << 16);
    d[w + 2] = t[c & 0xffff]! | (t[c >>> 16]! << 16);
    d[w + 3] = t[e & 0xffff]! | (t[e >>> 16]! << 16);
  }
  for (; w < n; w++) {
    const a = s[w]!;
    d[w] = t[a & 0xffff]! | (t[a >>> 16]! << 16);
  }
}
