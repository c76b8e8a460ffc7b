/**
 * FastCDC content-defined chunking (Xia et al., USENIX ATC 2016): a gear rolling hash, cut-point
 * skipping below the minimum size, and normalized chunking with two masks. The exact definition
 * (gear table, masks, window, tie-breaking) is in docs/CHUNKING.md and must never change silently:
 * dedup across runs and machines depends on identical cut points.
 *
 * Everything here is synchronous and allocation-light so it can run inside worker threads.
 */
import { createHash } from "node:crypto";
import { FerryError } from "../errors.js";
import { native } from "../native/index.js";

/**
 * Chunk-size options. All sizes are in bytes; omitted fields take the defaults.
 *
 * @example
 * const opts: ChunkerOptions = { minSize: 64 * 1024, avgSize: 256 * 1024, maxSize: 1024 * 1024 };
 */
export interface ChunkerOptions {
  /** Smallest chunk (except the last one of a stream). Default 256 KiB. At least 64. */
  minSize?: number;
  /** Normalization point, a power of two between 256 B and 256 MiB. Default 1 MiB. */
  avgSize?: number;
  /** Largest chunk. Default 4 MiB, at most 1 GiB. */
  maxSize?: number;
  /** Normalization level 0..3 (mask bits added below / removed above `avgSize`). Default 2. */
  normalization?: number;
}

/**
 * Validated chunking parameters with the derived masks, as returned by {@link resolveChunkParams}.
 *
 * @example
 * const p: ChunkParams = resolveChunkParams({ avgSize: 1 << 20 });
 * findCut(buf, 0, buf.length, p); // no re-validation per call
 */
export interface ChunkParams {
  readonly minSize: number;
  readonly avgSize: number;
  readonly maxSize: number;
  readonly normalization: number;
  /** Mask used while the chunk is shorter than `avgSize` (log2(avg) + normalization top bits set), as int32. */
  readonly maskS: number;
  /** Mask used from `avgSize` on (log2(avg) - normalization top bits set), as int32. */
  readonly maskL: number;
}

/**
 * Default minimum chunk size: 256 KiB.
 *
 * @example
 * new Chunker({ minSize: DEFAULT_MIN_SIZE / 2 });
 */
export const DEFAULT_MIN_SIZE = 256 * 1024;
/**
 * Default normalization point ("average"): 1 MiB. Measured mean on random data: ~1.14 MiB.
 *
 * @example
 * new Chunker({ avgSize: DEFAULT_AVG_SIZE * 2, maxSize: 8 << 20 });
 */
export const DEFAULT_AVG_SIZE = 1024 * 1024;
/**
 * Default maximum chunk size: 4 MiB (also the most a Chunker holds pending).
 *
 * @example
 * const readSize = DEFAULT_MAX_SIZE; // one read can complete at least one chunk
 */
export const DEFAULT_MAX_SIZE = 4 * 1024 * 1024;
/**
 * Default normalization level (NC-2 in the paper).
 *
 * @example
 * new Chunker({ normalization: DEFAULT_NORMALIZATION - 1 }); // looser size distribution
 */
export const DEFAULT_NORMALIZATION = 2;
/**
 * Bytes that influence the 32-bit gear hash: after 32 shifts a byte has left the hash, so a cut
 * decision depends only on the 32 bytes ending at the candidate cut.
 *
 * @example
 * const minSafe = GEAR_WINDOW * 2; // the smallest minSize accepted (64)
 */
export const GEAR_WINDOW = 32;
/**
 * ASCII prefix of the gear table derivation: `G[i]` = first 4 bytes (big-endian) of SHA-256(prefix + decimal i).
 *
 * @example
 * // shell: printf '%s%d' "$GEAR_SEED_PREFIX" 7 | sha256sum | cut -c1-8   →  G[7] in hex
 * createHash("sha256").update(`${GEAR_SEED_PREFIX}7`).digest().readUInt32BE(0) === gearTable()[7];
 */
export const GEAR_SEED_PREFIX = "ferry/fastcdc/gear/v1/";

const MIN_MIN_SIZE = 64;
const MIN_AVG_SIZE = 1 << 8;
const MAX_AVG_SIZE = 1 << 28;
const MAX_MAX_SIZE = 1 << 30;

/** The gear table, int32 view (same bits as the uint32 values in the docs). Built once at module load. */
const GEAR: Int32Array = (() => {
  const g = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    g[i] = createHash("sha256").update(`${GEAR_SEED_PREFIX}${i}`, "ascii").digest().readInt32BE(0);
  }
  return g;
})();

/**
 * A copy of the 256-entry gear table as unsigned 32-bit values.
 *
 * @example
 * const g = gearTable();
 * g[0].toString(16); // first 8 hex digits of sha256("ferry/fastcdc/gear/v1/0")
 */
export function gearTable(): Uint32Array {
  return new Uint32Array(GEAR);
}

/** Top `k` bits set, as int32 (k in 1..32). */
function topMask(k: number): number {
  return k >= 32 ? -1 : ~(-1 >>> k) | 0;
}

const resolved = new WeakSet<object>();

function usage(message: string): FerryError {
  return new FerryError("E_USAGE", message, {
    hint: "Use minSize >= 64, avgSize a power of two, minSize < avgSize < maxSize <= 1 GiB, normalization 0..3",
  });
}

function isInt(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v);
}

/**
 * Validate chunking options, apply defaults and derive the two masks. Throws `E_USAGE` on bad options.
 *
 * @example
 * const p = resolveChunkParams({ avgSize: 64 * 1024, minSize: 16 * 1024, maxSize: 256 * 1024 });
 * p.maskS >>> 0; // 0xffffc000: log2(64 KiB) + 2 = 18 top bits
 */
export function resolveChunkParams(opts: ChunkerOptions | ChunkParams = {}): ChunkParams {
  if (typeof opts !== "object" || opts === null) throw usage("chunker options must be an object");
  if (resolved.has(opts)) return opts as ChunkParams;
  const minSize = opts.minSize ?? DEFAULT_MIN_SIZE;
  const avgSize = opts.avgSize ?? DEFAULT_AVG_SIZE;
  const maxSize = opts.maxSize ?? DEFAULT_MAX_SIZE;
  const normalization = opts.normalization ?? DEFAULT_NORMALIZATION;
  if (!isInt(minSize) || !isInt(avgSize) || !isInt(maxSize)) {
    throw usage(`chunk sizes must be integers (got min ${minSize}, avg ${avgSize}, max ${maxSize})`);
  }
  if (minSize < MIN_MIN_SIZE) throw usage(`minSize ${minSize} is below ${MIN_MIN_SIZE}`);
  if (avgSize < MIN_AVG_SIZE || avgSize > MAX_AVG_SIZE || (avgSize & (avgSize - 1)) !== 0) {
    throw usage(`avgSize ${avgSize} must be a power of two between ${MIN_AVG_SIZE} and ${MAX_AVG_SIZE}`);
  }
  if (maxSize > MAX_MAX_SIZE) throw usage(`maxSize ${maxSize} is above ${MAX_MAX_SIZE}`);
  if (!(minSize < avgSize && avgSize < maxSize)) {
    throw usage(`need minSize < avgSize < maxSize (got ${minSize} < ${avgSize} < ${maxSize})`);
  }
  if (!isInt(normalization) || normalization < 0 || normalization > 3) {
    throw usage(`normalization ${normalization} must be 0, 1, 2 or 3`);
  }
  const bits = 31 - Math.clz32(avgSize);
  const params: ChunkParams = Object.freeze({
    minSize,
    avgSize,
    maxSize,
    normalization,
    maskS: topMask(bits + normalization),
    maskL: topMask(bits - normalization),
  });
  resolved.add(params);
  return params;
}

/**
 * The default parameters (256 KiB / 1 MiB / 4 MiB, NC-2).
 *
 * @example
 * findCut(buf, 0, buf.length, DEFAULT_CHUNK_PARAMS);
 */
export const DEFAULT_CHUNK_PARAMS: ChunkParams = resolveChunkParams();

/**
 * Find the end of the chunk that starts at `start`. Pure and synchronous.
 *
 * `end` is treated as the end of the data: if no content-defined cut is found before it (and
 * `end - start < maxSize`), `end` is returned. A streaming caller that has more data to come must
 * therefore pass at least `maxSize` bytes (then the answer depends only on `buf[start, start+maxSize)`),
 * which is what {@link Chunker} does. Returns `start` only when `start === end`.
 *
 * @param buf the data
 * @param start offset of the chunk's first byte
 * @param end offset one past the last available byte
 * @param opts options or {@link ChunkParams} from {@link resolveChunkParams} (cheaper when reused)
 * @returns the offset one past the chunk's last byte, in `(start, min(end, start + maxSize)]`
 *
 * @example
 * const buf = new Uint8Array(10 << 20);
 * const cuts: number[] = [];
 * for (let s = 0; s < buf.length; ) {
 *   s = findCut(buf, s, buf.length);
 *   cuts.push(s);
 * }
 */
export function findCut(
  buf: Uint8Array,
  start: number,
  end: number,
  opts: ChunkerOptions | ChunkParams = DEFAULT_CHUNK_PARAMS,
): number {
  const p = resolveChunkParams(opts);
  if (!(buf instanceof Uint8Array)) throw new FerryError("E_USAGE", "findCut needs a Uint8Array");
  if (!isInt(start) || !isInt(end) || start < 0 || start > end || end > buf.length) {
    throw new FerryError("E_USAGE", `findCut range [${start}, ${end}) is outside the buffer (${buf.length})`);
  }
  return cut(plain(buf), start, end, p.minSize, p.avgSize, p.maxSize, p.maskS, p.maskL);
}

/**
 * The hot kernel. Chunk length L = (returned offset) - start. The hash h is reset to 0 at byte
 * `start + minSize - 32`; after adding byte j (L = j - start + 1) the cut is taken when
 * `(h & mask) === 0` with mask = maskS for L < avgSize and maskL for L >= avgSize, testing only
 * L >= minSize.
 *
 * Written for V8: unrolled by 8 (~1.5x faster than the plain loop); `j++` inside the index so that
 * the rarely taken exits are a bare `return j` (an exit doing arithmetic has no type feedback and
 * deoptimizes the function the first time each one is hit); and `buf` must always be a plain
 * Uint8Array (see {@link plain}) so element loads stay monomorphic — mixing Buffer and Uint8Array
 * receivers made TurboFan deoptimize hundreds of times per 256 MiB.
 */
function cut(
  buf: Uint8Array,
  start: number,
  end: number,
  minSize: number,
  avgSize: number,
  maxSize: number,
  maskS: number,
  maskL: number,
  from = 0,
): number {
  if (nativeCut !== null && end - Math.max(start, from) >= NATIVE_FROM) {
    return nativeCut(buf, start, end, minSize, avgSize, maxSize, maskS, maskL, GEAR, from);
  }
  return cutJs(buf, start, end, minSize, avgSize, maxSize, maskS, maskL, from);
}

/**
 * The native kernel (native/ferry_native.c: the same hash in four interleaved lanes, ~3× this
 * one), used for ranges of at least this many bytes; below it the call costs more than it saves.
 */
const NATIVE_FROM = 16 * 1024;
/**
 * A pending chunk (one that runs past the end of a read) grows by at most this much at a time.
 * Copying the rest of the next read at once, then cutting the part after the chunk's end from the
 * caller's buffer again, copied about three quarters of every 4 MiB read for nothing.
 */
const PENDING_STEP = 256 * 1024;
const nativeCut = native?.fastcdcCut ?? null;

/**
 * {@link cut} in JavaScript: the fallback without the native kernel, and for short ranges.
 * `from`: bytes before it are known to end no chunk (an earlier call found no cut in them), so
 * testing starts there; the hash only depends on the 32 bytes ending at a byte, so it is the same.
 */
function cutJs(
  buf: Uint8Array,
  start: number,
  end: number,
  minSize: number,
  avgSize: number,
  maxSize: number,
  maskS: number,
  maskL: number,
  from = 0,
): number {
  const n = end - start;
  if (n <= minSize) return end;
  const limit = n < maxSize ? end : start + maxSize;
  const first = Math.max(start + minSize - 1, from);
  if (first >= limit) return limit;
  const G = GEAR;
  let h = 0;
  let j = first - (GEAR_WINDOW - 1);
  // Warm up over the 31 bytes before the first tested one (start+minSize-1, or `from`).
  const warm = first;
  while (j < warm) h = ((h << 1) + G[buf[j++]!]!) | 0;

  let e1 = start + avgSize - 1; // bytes j < e1 give L < avgSize
  if (e1 > limit) e1 = limit;
  let e = e1 - 7;
  while (j < e) {
    h = ((h << 1) + G[buf[j++]!]!) | 0;
    if ((h & maskS) === 0) return j;
    h = ((h << 1) + G[buf[j++]!]!) | 0;
    if ((h & maskS) === 0) return j;
    h = ((h << 1) + G[buf[j++]!]!) | 0;
    if ((h & maskS) === 0) return j;
    h = ((h << 1) + G[buf[j++]!]!) | 0;
    if ((h & maskS) === 0) return j;
    h = ((h << 1) + G[buf[j++]!]!) | 0;
    if ((h & maskS) === 0) return j;
    h = ((h << 1) + G[buf[j++]!]!) | 0;
    if ((h & maskS) === 0) return j;
    h = ((h << 1) + G[buf[j++]!]!) | 0;
    if ((h & maskS) === 0) return j;
    h = ((h << 1) + G[buf[j++]!]!) | 0;
    if ((h & maskS) === 0) return j;
  }
  while (j < e1) {
    h = ((h << 1) + G[buf[j++]!]!) | 0;
    if ((h & maskS) === 0) return j;
  }
  e = limit - 7;
  while (j < e) {
    h = ((h << 1) + G[buf[j++]!]!) | 0;
    if ((h & maskL) === 0) return j;
    h = ((h << 1) + G[buf[j++]!]!) | 0;
    if ((h & maskL) === 0) return j;
    h = ((h << 1) + G[buf[j++]!]!) | 0;
    if ((h & maskL) === 0) return j;
    h = ((h << 1) + G[buf[j++]!]!) | 0;
    if ((h & maskL) === 0) return j;
    h = ((h << 1) + G[buf[j++]!]!) | 0;
    if ((h & maskL) === 0) return j;
    h = ((h << 1) + G[buf[j++]!]!) | 0;
    if ((h & maskL) === 0) return j;
    h = ((h << 1) + G[buf[j++]!]!) | 0;
    if ((h & maskL) === 0) return j;
    h = ((h << 1) + G[buf[j++]!]!) | 0;
    if ((h & maskL) === 0) return j;
  }
  while (j < limit) {
    h = ((h << 1) + G[buf[j++]!]!) | 0;
    if ((h & maskL) === 0) return j;
  }
  return limit;
}

/**
 * Run every path of the kernel once at module load (~16 KiB, well under a millisecond) so that V8
 * has type feedback for all of it before optimizing. Without this, the first optimized (OSR) code
 * lacks feedback for the compare that ends the unrolled loop, and V8 re-entered that cached OSR code
 * and deoptimized at the same spot ~800 times per 128 MiB.
 */
function warmUpKernel(): void {
  const b = new Uint8Array(16 * 1024);
  let x = 0x2545f491;
  for (let i = 0; i < b.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  const mS = topMask(10);
  const mL = topMask(6);
  for (let s = 0; s < b.length; ) s = cutJs(b, s, b.length, 64, 256, 1024, mS, mL);
  const zeros = new Uint8Array(3000); // constant data: no content cut, every loop runs to its end
  for (let s = 0; s < zeros.length; ) s = cutJs(zeros, s, zeros.length, 64, 256, 1024, mS, mL);
  cutJs(zeros, 0, 200, 64, 256, 1024, mS, mL); // shorter than avgSize
}
warmUpKernel();

/** A plain Uint8Array view of the same bytes (no copy), so the kernel only ever sees one map. */
function plain(b: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(b) === Uint8Array.prototype
    ? b
    : new Uint8Array(b.buffer, b.byteOffset, b.length);
}

/**
 * Incremental chunker: feed reads of any size, get complete chunks back. Cut points are the same
 * however the input is split, because a cut is only decided once `maxSize` bytes are available
 * (or at {@link Chunker.finish}). Pending data never exceeds `maxSize - 1` bytes between calls; the
 * internal buffer is `2 * maxSize` bytes (allocated on first use) so that it is compacted at most
 * once per `maxSize` bytes consumed. Returned Buffers are fresh copies owned by the caller, each in
 * its own ArrayBuffer (`byteOffset` 0), so `chunk.buffer` can be transferred to a worker.
 * After `finish()` (or `reset()`) the chunker is ready for another stream; it keeps its
 * internal buffer, so one chunker can cut millions of small files without reallocating.
 *
 * @example
 * const c = new Chunker({ avgSize: 1 << 20 });
 * const chunks: Buffer[] = [];
 * for await (const read of fs.createReadStream(path)) chunks.push(...c.push(read));
 * chunks.push(...c.finish());
 */
export class Chunker {
  /** The validated parameters this chunker cuts with. */
  readonly params: ChunkParams;
  #buf: Uint8Array | null = null;
  #head = 0;
  #tail = 0;
  /**
   * Where the search for the pending chunk's end goes on: no byte before it ends the chunk (see
   * {@link Chunker.#cuts}; 0 when none is known).
   */
  #scanned = 0;

  /** @param opts chunk sizes; throws `E_USAGE` if invalid. */
  constructor(opts?: ChunkerOptions | ChunkParams) {
    this.params = resolveChunkParams(opts);
  }

  /** Bytes received but not yet returned as a chunk (always < maxSize between calls). */
  get pendingBytes(): number {
    return this.#tail - this.#head;
  }

  /**
   * Add data; returns the chunks completed by it (possibly none). `data` is not retained.
   *
   * @example
   * const c = new Chunker();
   * const done = c.push(new Uint8Array(5 << 20)); // at least one chunk
   */
  push(data: Uint8Array): Buffer[] {
    return [...this.#cuts(data, true)];
  }

  /**
   * Like {@link push}, without copies: yields views of `data` or of the internal buffer, each valid
   * only until the generator is resumed (use it, or copy it, inside the loop body). Cuts are the
   * same as push's. For hot loops that hash and seal a chunk straight away (pack's workers).
   *
   * @example
   * for (const view of c.views(read)) seal(key, view, aad, out);
   */
  views(data: Uint8Array): Generator<Buffer, void, undefined> {
    return this.#cuts(data, false);
  }

  *#cuts(data: Uint8Array, copy: boolean): Generator<Buffer, void, undefined> {
    if (!(data instanceof Uint8Array)) throw new FerryError("E_USAGE", "Chunker.push needs a Uint8Array");
    const { minSize, avgSize, maxSize, maskS, maskL } = this.params;
    const take = copy ? copyOut : viewOf;
    let off = 0;
    const len = data.length;
    const src = plain(data);
    // A cut is final (the same whatever data follows) when it is a content cut before the end of
    // what is at hand, or the forced cut at maxSize; a cut at the end of the data at hand is not.
    // Cutting every final cut as soon as it is found leaves only the bytes after the last one
    // pending, so little is copied: the caller's bytes are cut in place, and the internal buffer
    // holds just one chunk's worth across each push.
    while (off < len) {
      if (this.#head === this.#tail) {
        // Nothing pending: cut straight out of the caller's buffer.
        const c = cut(src, off, len, minSize, avgSize, maxSize, maskS, maskL);
        if (c < len || c - off === maxSize) {
          const from = off;
          off = c;
          yield take(src, from, c);
          continue;
        }
        // The rest is the start of a chunk that ends in later data: keep it. Its bytes were all
        // tested, so the search goes on after them, from the last one: a cut found right at the
        // end of the data looks the same as none (both return the end), so that byte is tested
        // again once more data is there.
        let buf = this.#buf;
        if (buf === null) {
          buf = plain(Buffer.allocUnsafe(maxSize));
          this.#buf = buf;
        }
        buf.set(src.subarray(off, len), 0);
        this.#head = 0;
        this.#tail = len - off;
        this.#scanned = this.#tail > minSize ? this.#tail - 1 : 0;
        return;
      }
      // A chunk is pending: add a step of what it can still grow by (it ends within maxSize) and
      // search only the new bytes. One step at a time, so little is copied past where it ends;
      // the bytes after its end are cut from the caller's buffer.
      const buf = this.#buf!;
      if (this.#head > 0) {
        buf.copyWithin(0, this.#head, this.#tail);
        this.#tail -= this.#head;
        this.#head = 0;
        this.#scanned = 0;
      }
      const n = Math.min(maxSize - this.#tail, len - off, PENDING_STEP);
      buf.set(src.subarray(off, off + n), this.#tail);
      this.#tail += n;
      const c = cut(buf, 0, this.#tail, minSize, avgSize, maxSize, maskS, maskL, this.#scanned);
      if (c < this.#tail || c === maxSize) {
        // Its end is found: the bytes copied past it are cut from the caller's buffer instead.
        off += n - (this.#tail - c);
        this.#head = this.#tail = 0;
        this.#scanned = 0;
        yield take(buf, 0, c);
      } else {
        off += n; // all of it joined the pending chunk
        this.#scanned = this.#tail > minSize ? this.#tail - 1 : 0;
      }
    }
  }

  /**
   * End of stream: returns the remaining chunks (the last may be shorter than minSize) and resets
   * the chunker for reuse.
   *
   * @example
   * const c = new Chunker();
   * c.push(Buffer.from("hello"));
   * c.finish(); // [Buffer "hello"]
   */
  finish(): Buffer[] {
    return [...this.#rest(true)];
  }

  /**
   * Like {@link finish}, without copies (see {@link views}).
   *
   * @example
   * for (const view of c.finishViews()) seal(key, view, aad, out);
   */
  finishViews(): Generator<Buffer, void, undefined> {
    return this.#rest(false);
  }

  *#rest(copy: boolean): Generator<Buffer, void, undefined> {
    const buf = this.#buf;
    if (buf !== null) {
      const { minSize, avgSize, maxSize, maskS, maskL } = this.params;
      while (this.#head < this.#tail) {
        // The pending chunk's bytes were searched already (#scanned): its end is the data's.
        const searched = this.#head === 0 ? this.#scanned : 0;
        const c = cut(buf, this.#head, this.#tail, minSize, avgSize, maxSize, maskS, maskL, searched);
        const from = this.#head;
        this.#head = c;
        yield (copy ? copyOut : viewOf)(buf, from, c);
      }
    }
    // Keep the buffer: a chunker reused for many small files must not allocate per file.
    this.#head = this.#tail = 0;
    this.#scanned = 0;
  }

  /** Drops any pending bytes (e.g. after a failed read) and readies the chunker for a new stream. */
  reset(): void {
    this.#head = this.#tail = 0;
    this.#scanned = 0;
  }
}

/** A view (no copy) as a Buffer. */
function viewOf(src: Uint8Array, from: number, to: number): Buffer {
  return Buffer.from(src.buffer, src.byteOffset + from, to - from);
}

/** A copy in its own ArrayBuffer (never the shared pool), so it can be transferred to a worker. */
function copyOut(src: Uint8Array, from: number, to: number): Buffer {
  const b = Buffer.allocUnsafeSlow(to - from);
  b.set(src.subarray(from, to));
  return b;
}

/**
 * Chunk an async stream of byte arrays (e.g. a `fs.ReadStream`). Yields chunks in order; an empty
 * stream yields nothing.
 *
 * @example
 * for await (const chunk of chunkStream(fs.createReadStream("video.mp4"))) {
 *   console.log(chunk.length);
 * }
 */
export async function* chunkStream(
  src: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  opts?: ChunkerOptions | ChunkParams,
): AsyncGenerator<Buffer, void, undefined> {
  const c = new Chunker(opts);
  for await (const data of src) {
    for (const chunk of c.push(data)) yield chunk;
  }
  for (const chunk of c.finish()) yield chunk;
}
