/**
 * Helpers shared by the erasure tests. Not part of the public API.
 */

/**
 * Deterministic pseudo-random bytes (xorshift32), so failures reproduce.
 *
 * @example
 * seededBytes(1, 4); // the same 4 bytes every run
 */
export function seededBytes(seed: number, n: number): Uint8Array {
  let x = (seed * 0x9e3779b1) >>> 0 || 1;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x >>> 24;
  }
  return out;
}

/**
 * k random data shards of `len` bytes followed by m zeroed parity shards.
 *
 * @example
 * const shards = makeShards(4, 2, 100, 7);
 */
export function makeShards(k: number, m: number, len: number, seed: number): Uint8Array[] {
  const shards: Uint8Array[] = [];
  for (let j = 0; j < k; j++) shards.push(seededBytes(seed * 1000 + j, len));
  for (let i = 0; i < m; i++) shards.push(new Uint8Array(len));
  return shards;
}

/**
 * Every subset of {0..n-1} with at most `max` elements, in increasing size.
 *
 * @example
 * [...subsets(3, 1)]; // [[], [0], [1], [2]]
 */
export function* subsets(n: number, max: number): Generator<number[]> {
  const pick: number[] = [];
  function* rec(start: number, size: number): Generator<number[]> {
    if (pick.length === size) {
      yield pick.slice();
      return;
    }
    for (let i = start; i < n; i++) {
      pick.push(i);
      yield* rec(i + 1, size);
      pick.pop();
    }
  }
  for (let size = 0; size <= Math.min(max, n); size++) yield* rec(0, size);
}

/**
 * Deep copy of a shard list (nulls stay null).
 *
 * @example
 * const copy = cloneShards(shards);
 */
export function cloneShards<T extends Uint8Array | null | undefined>(shards: readonly T[]): T[] {
  return shards.map((s) => (s instanceof Uint8Array ? (s.slice() as T) : s));
}

/**
 * GF(2^8) multiply without tables (shift-and-XOR, reduce by 0x11D).
 *
 * @example
 * slowMul(0x80, 2); // 0x1d
 */
export function slowMul(a: number, b: number): number {
  let p = 0;
  for (let i = 0; i < 8; i++) {
    if (b & 1) p ^= a;
    b >>= 1;
    a <<= 1;
    if (a & 0x100) a ^= 0x11d;
  }
  return p;
}
