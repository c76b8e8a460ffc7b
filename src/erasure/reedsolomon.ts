/**
 * Systematic Reed-Solomon erasure coding over GF(2^8) with a Cauchy parity matrix.
 * The exact construction is part of ferry's on-drive format; see docs/ERASURE.md.
 */

import { Buffer } from "node:buffer";
import { FerryError } from "../errors.js";
import { codeShards } from "./kernel.js";
import { cauchyParityMatrix, encodingMatrix, invertMatrix, selectRows } from "./matrix.js";

/**
 * The most shards (data + parity) one code can have: GF(2^8) has 256 elements.
 *
 * @example
 * new ReedSolomon(200, MAX_TOTAL_SHARDS - 200); // the largest code with k = 200
 */
export const MAX_TOTAL_SHARDS = 256;

/**
 * How many erasure patterns each {@link ReedSolomon} keeps decode matrices for (LRU).
 *
 * @example
 * rs.cachedDecodePlans <= DECODE_CACHE_SIZE; // always true
 */
export const DECODE_CACHE_SIZE = 64;

/** verify() recomputes parity this many bytes at a time, so its scratch stays small. */
const VERIFY_BLOCK = 256 * 1024;

/**
 * Options for {@link ReedSolomon.reconstruct}.
 *
 * @example
 * rs.reconstruct(shards, { dataOnly: true } satisfies ReconstructOptions);
 */
export interface ReconstructOptions {
  /** Rebuild only missing data shards; leave missing parity entries as they are. */
  dataOnly?: boolean;
  /**
   * Where rebuilt shards go: called once per rebuilt shard, it returns `size` writable bytes that
   * overlap no shard (default: a fresh buffer each time). Lets a caller reuse its buffers.
   */
  alloc?: (size: number) => Uint8Array;
}

/** A decode plan for one erasure pattern: which k shards to read, and how to combine them. */
interface DecodePlan {
  /** Indices of the k shards used as decoder input, ascending. */
  readonly inputs: readonly number[];
  /** Indices of the missing data shards, ascending. */
  readonly outputs: readonly number[];
  /** outputs.length × k coefficients: output r = XOR_j rows[r·k + j] · shard[inputs[j]]. */
  readonly rows: Uint8Array;
}

/**
 * A Reed-Solomon code with `dataShards` (k) data shards and `parityShards` (m) parity
 * shards. Any k of the k + m shards are enough to rebuild all of them.
 *
 * Shards are byte arrays (Uint8Array or Buffer) that all have the same length; the
 * code works byte-column by byte-column, so any length (including 0) is fine. The
 * object can be reused for any number of stripes (it caches decode matrices per erasure
 * pattern); construction is cheap, so give each worker thread its own.
 *
 * Like klauspost/reedsolomon, {@link ReedSolomon.reconstruct} trusts the shards it is
 * given: it repairs erasures (missing shards), not corruption. Detect corruption with
 * per-shard checksums, or with {@link ReedSolomon.verify}.
 *
 * @example
 * const rs = new ReedSolomon(4, 2);
 * const shards = [d0, d1, d2, d3, new Uint8Array(len), new Uint8Array(len)];
 * rs.encode(shards);            // fills shards[4] and shards[5]
 * shards[1] = null; shards[5] = null;
 * rs.reconstruct(shards);       // shards[1] and shards[5] are new buffers again
 */
export class ReedSolomon {
  /**
   * k: the number of data shards.
   *
   * @example
   * new ReedSolomon(9, 3).dataShards; // 9
   */
  readonly dataShards: number;
  /**
   * m: the number of parity shards.
   *
   * @example
   * new ReedSolomon(9, 3).parityShards; // 3
   */
  readonly parityShards: number;
  /**
   * k + m.
   *
   * @example
   * new ReedSolomon(9, 3).totalShards; // 12
   */
  readonly totalShards: number;

  /** m×k Cauchy rows, row-major. */
  readonly #parity: Uint8Array;
  /** (k+m)×k matrix [I; C], row-major. */
  readonly #encoding: Uint8Array;
  /** LRU of decode plans keyed by the chosen input indices. */
  readonly #plans = new Map<string, DecodePlan>();
  /** verify() scratch: m buffers of VERIFY_BLOCK + 3 bytes, allocated on first use. */
  #scratch: Uint8Array[] | undefined;

  /**
   * @param dataShards k, an integer ≥ 1.
   * @param parityShards m, an integer ≥ 0, with k + m ≤ 256.
   * @throws FerryError("E_USAGE") when k or m is out of range.
   * @example
   * const rs = new ReedSolomon(9, 3); // 12 drives, survives any 3 lost
   */
  constructor(dataShards: number, parityShards: number) {
    if (!Number.isInteger(dataShards) || dataShards < 1) {
      throw usage(`data shard count must be an integer ≥ 1, got ${dataShards}`, GEOMETRY_HINT);
    }
    if (!Number.isInteger(parityShards) || parityShards < 0) {
      throw usage(`parity shard count must be an integer ≥ 0, got ${parityShards}`, GEOMETRY_HINT);
    }
    if (dataShards + parityShards > MAX_TOTAL_SHARDS) {
      throw usage(
        `${dataShards} data + ${parityShards} parity shards exceeds the maximum of ${MAX_TOTAL_SHARDS}`,
        GEOMETRY_HINT,
      );
    }
    this.dataShards = dataShards;
    this.parityShards = parityShards;
    this.totalShards = dataShards + parityShards;
    this.#parity = cauchyParityMatrix(dataShards, parityShards);
    this.#encoding = encodingMatrix(dataShards, parityShards);
  }

  /**
   * Computes parity: fills shards[k..k+m-1] from shards[0..k-1].
   *
   * Preconditions: `shards` has exactly k + m entries, all present, all the same
   * length; parity buffers do not overlap data buffers. Parity buffers are overwritten
   * in place; nothing shard-sized is allocated.
   *
   * @throws FerryError("E_USAGE") on a wrong shard count, a missing shard or a size mismatch.
   * @example
   * const rs = new ReedSolomon(2, 1);
   * const shards = [Uint8Array.of(1), Uint8Array.of(2), new Uint8Array(1)];
   * rs.encode(shards); // shards[2] = [0x7b]
   */
  encode(shards: Uint8Array[]): void {
    this.#checkComplete(shards, "encode");
    if (this.parityShards === 0) return;
    const k = this.dataShards;
    codeShards(this.#parity, shards.slice(0, k), shards.slice(k));
  }

  /**
   * True when every parity shard equals what {@link encode} would compute from the data
   * shards. With m = 0 there is nothing to check and the answer is always true. Uses
   * m × 256 KiB of scratch (kept for reuse) and stops at the first mismatching block.
   *
   * @throws FerryError("E_USAGE") on a wrong shard count, a missing shard or a size mismatch.
   * @example
   * rs.encode(shards);
   * rs.verify(shards); // true
   * shards[0][0] ^= 1;
   * rs.verify(shards); // false
   */
  verify(shards: Uint8Array[]): boolean {
    const size = this.#checkComplete(shards, "verify");
    const k = this.dataShards;
    const m = this.parityShards;
    if (m === 0 || size === 0) return true;
    const data = shards.slice(0, k);
    const parity = shards.slice(k);
    // Give the scratch the same alignment mod 4 as data shard 0 so the kernel can use words.
    const shift = data[0]!.byteOffset & 3;
    if (this.#scratch === undefined) {
      this.#scratch = [];
      for (let i = 0; i < m; i++) this.#scratch.push(new Uint8Array(VERIFY_BLOCK + 3));
    }
    const scratch = this.#scratch;
    const ins: Uint8Array[] = new Array(k);
    const outs: Uint8Array[] = new Array(m);
    for (let off = 0; off < size; off += VERIFY_BLOCK) {
      const end = Math.min(size, off + VERIFY_BLOCK);
      for (let j = 0; j < k; j++) ins[j] = data[j]!.subarray(off, end);
      for (let i = 0; i < m; i++) outs[i] = scratch[i]!.subarray(shift, shift + end - off);
      codeShards(this.#parity, ins, outs);
      for (let i = 0; i < m; i++) {
        if (!bytesEqual(outs[i]!, parity[i]!.subarray(off, end))) return false;
      }
    }
    return true;
  }

  /**
   * Rebuilds missing shards in place. An entry that is `null` or `undefined` is missing;
   * every other entry is trusted as correct (this does not verify). Missing data shards
   * are rebuilt from k present shards (data shards preferred, then parity in index
   * order); then, unless `dataOnly`, missing parity shards are re-encoded. Rebuilt
   * shards are new Uint8Arrays of the common shard length. With nothing missing this
   * is a no-op.
   *
   * @throws FerryError("E_UNRECOVERABLE") when fewer than k shards are present.
   * @throws FerryError("E_USAGE") on a wrong entry count, a non-byte-array entry, or
   *   present shards of different lengths.
   * @example
   * const rs = new ReedSolomon(9, 3);
   * rs.encode(shards);
   * shards[0] = null; shards[4] = undefined; shards[10] = null;
   * rs.reconstruct(shards);                     // all 12 back
   * rs.reconstruct(shards2, { dataOnly: true }); // only data shards rebuilt
   */
  reconstruct(shards: (Uint8Array | null | undefined)[], opts: ReconstructOptions = {}): void {
    const k = this.dataShards;
    const n = this.totalShards;
    if (!Array.isArray(shards) || shards.length !== n) {
      throw usage(
        `reconstruct: expected ${n} shard entries (${k} data + ${this.parityShards} parity), got ${describeCount(shards)}`,
      );
    }
    let size = -1;
    const missing: number[] = [];
    for (let i = 0; i < n; i++) {
      const s = shards[i];
      if (s === null || s === undefined) {
        missing.push(i);
        continue;
      }
      if (!(s instanceof Uint8Array)) throw usage(`reconstruct: shard ${i} is not a Uint8Array`);
      if (size < 0) size = s.length;
      else if (s.length !== size) {
        throw usage(`reconstruct: shard ${i} is ${s.length} bytes but earlier shards are ${size} bytes`);
      }
    }
    if (missing.length === 0) return;
    const dataOnly = opts.dataOnly === true;
    const alloc = (n: number): Uint8Array => {
      const b = opts.alloc ? opts.alloc(n) : newShard(n);
      if (b.length !== n) throw usage(`reconstruct: alloc returned ${b.length} bytes, expected ${n}`);
      return b;
    };
    const missingData = missing.filter((i) => i < k);
    if (dataOnly && missingData.length === 0) return;
    const present = n - missing.length;
    if (present < k) {
      throw new FerryError(
        "E_UNRECOVERABLE",
        `cannot reconstruct: only ${present} of ${n} shards are present, at least ${k} are needed ` +
          `(missing shard${missing.length === 1 ? "" : "s"} ${missing.join(", ")})`,
        {
          hint: `Find ${k - present} more of the missing shards (drives) and retry`,
          detail: { dataShards: k, parityShards: this.parityShards, present, missing },
        },
      );
    }

    if (missingData.length > 0) {
      const plan = this.#plan(shards);
      const outs = plan.outputs.map(() => alloc(size));
      codeShards(
        plan.rows,
        plan.inputs.map((i) => shards[i]!),
        outs,
      );
      for (let r = 0; r < outs.length; r++) shards[plan.outputs[r]!] = outs[r];
    }
    if (dataOnly) return;
    const missingParity = missing.filter((i) => i >= k);
    if (missingParity.length === 0) return;
    const rows = selectRows(
      this.#parity,
      k,
      missingParity.map((i) => i - k),
    );
    const outs = missingParity.map(() => alloc(size));
    codeShards(rows, shards.slice(0, k) as Uint8Array[], outs);
    for (let r = 0; r < outs.length; r++) shards[missingParity[r]!] = outs[r];
  }

  /**
   * The m×k parity coefficients: parity shard i = XOR over j of row[i][j] · data shard j.
   * A fresh copy each call.
   *
   * @example
   * new ReedSolomon(2, 1).parityMatrix(); // [[142, 244]]
   */
  parityMatrix(): number[][] {
    const k = this.dataShards;
    const rows: number[][] = [];
    for (let i = 0; i < this.parityShards; i++) {
      rows.push(Array.from(this.#parity.subarray(i * k, i * k + k)));
    }
    return rows;
  }

  /**
   * Number of decode plans currently cached (for tests and diagnostics).
   *
   * @example
   * rs.cachedDecodePlans; // 0 until the first reconstruct that has to decode
   */
  get cachedDecodePlans(): number {
    return this.#plans.size;
  }

  /** Checks an encode/verify argument; returns the common shard length. */
  #checkComplete(shards: readonly (Uint8Array | null | undefined)[], what: string): number {
    const n = this.totalShards;
    if (!Array.isArray(shards) || shards.length !== n) {
      throw usage(
        `${what}: expected ${n} shards (${this.dataShards} data + ${this.parityShards} parity), got ${describeCount(shards)}`,
      );
    }
    let size = -1;
    for (let i = 0; i < n; i++) {
      const s = shards[i];
      if (!(s instanceof Uint8Array)) {
        throw usage(
          `${what}: shard ${i} is ${s === null || s === undefined ? "missing" : "not a Uint8Array"}`,
        );
      }
      if (size < 0) size = s.length;
      else if (s.length !== size) {
        throw usage(`${what}: shard ${i} is ${s.length} bytes but shard 0 is ${size} bytes`);
      }
    }
    return size;
  }

  /** The decode plan for the present/missing pattern of `shards` (≥ k present, ≥ 1 data missing). */
  #plan(shards: readonly (Uint8Array | null | undefined)[]): DecodePlan {
    const k = this.dataShards;
    const inputs: number[] = [];
    for (let i = 0; i < this.totalShards && inputs.length < k; i++) {
      if (shards[i] !== null && shards[i] !== undefined) inputs.push(i);
    }
    // Every present data shard is among the first k present shards, so the chosen inputs
    // determine the missing data shards too: they are the key.
    const key = String.fromCharCode(...inputs);
    const cached = this.#plans.get(key);
    if (cached !== undefined) {
      this.#plans.delete(key);
      this.#plans.set(key, cached);
      return cached;
    }
    const inverse = invertMatrix(selectRows(this.#encoding, k, inputs), k);
    const outputs: number[] = [];
    for (let d = 0; d < k; d++) if (shards[d] === null || shards[d] === undefined) outputs.push(d);
    // data = inverse × (chosen shards), so data shard d is row d of the inverse.
    const plan: DecodePlan = { inputs, outputs, rows: selectRows(inverse, k, outputs) };
    if (this.#plans.size >= DECODE_CACHE_SIZE) {
      const oldest = this.#plans.keys().next().value;
      if (oldest !== undefined) this.#plans.delete(oldest);
    }
    this.#plans.set(key, plan);
    return plan;
  }
}

const GEOMETRY_HINT = `Use at least 1 data shard, at least 0 parity shards, and at most ${MAX_TOTAL_SHARDS} in total`;

function usage(
  message: string,
  hint = "Pass one equal-length Uint8Array per shard, in shard order",
): FerryError {
  return new FerryError("E_USAGE", message, { hint });
}

function describeCount(x: unknown): string {
  return Array.isArray(x) ? String(x.length) : typeof x;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
}

/**
 * A buffer for a rebuilt shard: a plain Uint8Array with its own ArrayBuffer at offset 0
 * (so word-aligned for the kernel).
 */
function newShard(size: number): Uint8Array {
  return new Uint8Array(size);
}
