/**
 * zstd compression where it pays. Video and most images are already compressed, so the common case
 * is "don't": a cheap probe (zstd over a 64 KiB sample made of four 16 KiB slices spread across the
 * chunk) rejects incompressible chunks at tens of GB/s, and only chunks whose sample shrinks are
 * compressed whole. The compressed form is kept only if it saves at least `minSaving` (10%).
 *
 * Frames carry the content size and an XXH64 content checksum, so {@link decompress} detects
 * corruption even where the frame still parses. Contexts are module-level (one per thread).
 */
import binding from "zstd-napi/binding.js";
import { FerryError } from "../errors.js";

/**
 * Options for {@link maybeCompress}.
 *
 * @example
 * maybeCompress(chunk, { level: 3, minSaving: 0.2 });
 */
export interface CompressOptions {
  /** zstd level (negative = faster, up to 22). Default 1. */
  level?: number;
  /** Minimum fraction saved for the compressed form to be kept, in [0, 1). Default 0.10. */
  minSaving?: number;
}

/**
 * Result of {@link maybeCompress}: `data` is the input itself when `compressed` is false.
 *
 * @example
 * const r: MaybeCompressed = maybeCompress(chunk);
 * if (!r.compressed) assert(r.data === chunk);
 */
export interface MaybeCompressed {
  data: Buffer | Uint8Array;
  compressed: boolean;
}

/**
 * Default zstd level.
 *
 * @example
 * maybeCompress(chunk, { level: DEFAULT_COMPRESS_LEVEL + 2 });
 */
export const DEFAULT_COMPRESS_LEVEL = 1;
/**
 * Default minimum saving for keeping the compressed form (10%).
 *
 * @example
 * maybeCompress(chunk, { minSaving: DEFAULT_MIN_SAVING / 2 });
 */
export const DEFAULT_MIN_SAVING = 0.1;
/**
 * Chunks larger than this (64 KiB) are probed with a 64 KiB sample of four 16 KiB slices.
 *
 * @example
 * sampleSuggestsSaving(new Uint8Array(SAMPLE_BYTES + 1)); // true: zeros compress
 */
export const SAMPLE_BYTES = 64 * 1024;
/**
 * Chunks up to this size (8 KiB) are compressed directly, without a probe; from here up to
 * {@link SAMPLE_BYTES} the probe is four 1 KiB slices. A small file of random bytes (an image)
 * then costs a 4 KiB trial instead of compressing it whole: about 4 µs instead of 16 µs at 36 KB,
 * which is most of the compression cost of packing many small media files.
 *
 * @example
 * sampleSuggestsSaving(crypto.randomBytes(TINY_BYTES)); // true: too small to probe
 */
export const TINY_BYTES = 8 * 1024;
const SLICES = 4;
const SLICE_BYTES = SAMPLE_BYTES / SLICES;
const SMALL_SLICE_BYTES = 1024;
/**
 * The sample must save at least this fraction of `minSaving` to try the whole chunk. Slices are
 * compressed with less context than the whole chunk, so the sample under-estimates the saving;
 * half the threshold keeps borderline chunks in play while still rejecting media (≈0–3%). Measured
 * on 1 MiB chunks of random data with one contiguous CSV region: the sample reads 0.91 whether the
 * region is 5% or 30% of the chunk, while the whole chunk saves 3%..23%; a 10% sample threshold would
 * miss the 15–30% cases. False positives are cheap: zstd level 1 runs at 3–5 GB/s on random data.
 */
const SAMPLE_FACTOR = 0.5;

let cctx: binding.CCtx | null = null;
let cctxLevel = Number.NaN;
let dctx: binding.DCtx | null = null;
let scratch: Buffer = Buffer.alloc(0);
let sampleBuf: Buffer | null = null;

function compressor(level: number): binding.CCtx {
  if (cctx === null) {
    cctx = new binding.CCtx();
    cctx.setParameter(binding.CParameter.checksumFlag, 1);
    cctx.setParameter(binding.CParameter.contentSizeFlag, 1);
  }
  if (level !== cctxLevel) {
    cctx.setParameter(binding.CParameter.compressionLevel, level);
    cctxLevel = level;
  }
  return cctx;
}

/** zstd-compress `src` into the module scratch buffer; returns the compressed length. */
function compressInto(ctx: binding.CCtx, src: Uint8Array): number {
  const bound = binding.compressBound(src.length);
  if (scratch.length < bound) scratch = Buffer.allocUnsafe(Math.max(bound, scratch.length * 2));
  return ctx.compress2(scratch, src);
}

function checkOptions(opts: CompressOptions): { level: number; minSaving: number } {
  const level = opts.level ?? DEFAULT_COMPRESS_LEVEL;
  const minSaving = opts.minSaving ?? DEFAULT_MIN_SAVING;
  if (!Number.isSafeInteger(level) || level < binding.minCLevel() || level > binding.maxCLevel()) {
    throw new FerryError("E_USAGE", `zstd level ${level} is out of range`, {
      hint: `Use an integer level between ${binding.minCLevel()} and ${binding.maxCLevel()} (1 is the default)`,
    });
  }
  if (typeof minSaving !== "number" || !(minSaving >= 0 && minSaving < 1)) {
    throw new FerryError("E_USAGE", `minSaving ${minSaving} must be in [0, 1)`, {
      hint: "Use a fraction such as 0.1",
    });
  }
  return { level, minSaving };
}

/**
 * Compress `data` with zstd if that saves at least `minSaving`; otherwise return it unchanged.
 * Synchronous. The compressed Buffer is freshly allocated and owned by the caller.
 *
 * @example
 * const r = maybeCompress(chunk);
 * const stored = r.data; // record r.compressed and chunk.length next to it
 * const back = r.compressed ? decompress(stored, chunk.length) : stored;
 */
export function maybeCompress(data: Uint8Array, opts: CompressOptions = {}): MaybeCompressed {
  const r = maybeCompressView(data, opts);
  return r.compressed ? { data: Buffer.from(r.data), compressed: true } : r;
}

/**
 * {@link maybeCompress} without the copy: compressed bytes come as a view of this module's
 * scratch buffer, valid only until the next call of any compressing function of this module on
 * the same thread. For a caller that uses them at once (pack seals them straight away): no
 * allocation per compressed chunk for the garbage collector and the C heap to keep.
 *
 * @example
 * const r = maybeCompressView(chunk);
 * seal(key, r.data, aad, out); // before compressing anything else
 */
export function maybeCompressView(data: Uint8Array, opts: CompressOptions = {}): MaybeCompressed {
  if (!(data instanceof Uint8Array)) throw new FerryError("E_USAGE", "maybeCompress needs a Uint8Array");
  const { level, minSaving } = checkOptions(opts);
  const len = data.length;
  if (len === 0 || !probe(data, level, minSaving)) return { data, compressed: false };
  const n = compressInto(compressor(level), data);
  if (n > len * (1 - minSaving) || n >= len) return { data, compressed: false };
  return { data: scratch.subarray(0, n), compressed: true };
}

/**
 * The cheap detector used by {@link maybeCompress}: true if `data` is worth compressing whole.
 * Chunks up to {@link TINY_BYTES} always answer true (compressing them is as cheap as probing);
 * larger ones are judged by compressing four slices (at 0, 1/3, 2/3 and the end of the chunk)
 * as one sample, which must save at least `minSaving / 2`: slices of 16 KiB (a 64 KiB sample)
 * above {@link SAMPLE_BYTES}, of 1 KiB (4 KiB) up to it. Known blind spot: repeats farther apart
 * than a slice inside one chunk (e.g. a 200 KiB block repeated) are not seen.
 *
 * @example
 * sampleSuggestsSaving(crypto.randomBytes(1 << 20)); // false
 * sampleSuggestsSaving(Buffer.from("a,b,c\n".repeat(200_000))); // true
 */
export function sampleSuggestsSaving(data: Uint8Array, opts: CompressOptions = {}): boolean {
  if (!(data instanceof Uint8Array))
    throw new FerryError("E_USAGE", "sampleSuggestsSaving needs a Uint8Array");
  const { level, minSaving } = checkOptions(opts);
  return probe(data, level, minSaving);
}

function probe(data: Uint8Array, level: number, minSaving: number): boolean {
  const len = data.length;
  if (len <= TINY_BYTES) return true;
  if (sampleBuf === null) sampleBuf = Buffer.allocUnsafe(SAMPLE_BYTES);
  const slice = len > SAMPLE_BYTES ? SLICE_BYTES : SMALL_SLICE_BYTES;
  const step = Math.floor((len - slice) / (SLICES - 1));
  for (let i = 0; i < SLICES; i++) {
    const at = i * step;
    sampleBuf.set(data.subarray(at, at + slice), i * slice);
  }
  const total = slice * SLICES;
  const n = compressInto(compressor(level), sampleBuf.subarray(0, total));
  return n <= total * (1 - minSaving * SAMPLE_FACTOR);
}

function corrupt(message: string, cause?: unknown): FerryError {
  return new FerryError("E_CORRUPT", message, {
    hint: "The stored chunk is damaged; rebuild it from parity or re-pack the source",
    cause,
  });
}

/**
 * Decompress a frame made by {@link maybeCompress}. Exactly `expectedLength` bytes are allocated up
 * front (a lying frame header cannot make it allocate more). Throws `E_CORRUPT` if the data does not
 * decode, fails its checksum, or decodes to a different length; `E_USAGE` for a bad `expectedLength`.
 * With `into` (exactly `expectedLength` bytes, e.g. a pooled buffer), the output is written there.
 *
 * @example
 * const { data, compressed } = maybeCompress(chunk);
 * if (compressed) decompress(data, chunk.length).equals(chunk); // true
 */
export function decompress(data: Uint8Array, expectedLength: number, into?: Buffer): Buffer {
  if (!(data instanceof Uint8Array)) throw new FerryError("E_USAGE", "decompress needs a Uint8Array");
  if (!Number.isSafeInteger(expectedLength) || expectedLength < 0 || expectedLength > 2 ** 31 - 1) {
    throw new FerryError("E_USAGE", `expected length ${expectedLength} is not a valid chunk length`);
  }
  if (into && into.length !== expectedLength) {
    throw new FerryError(
      "E_USAGE",
      `decompress: the output buffer must hold exactly ${expectedLength} bytes`,
    );
  }
  if (dctx === null) dctx = new binding.DCtx();
  const out = into ?? Buffer.allocUnsafe(expectedLength);
  let n: number;
  try {
    n = dctx.decompress(out, data);
  } catch (e) {
    throw corrupt(`compressed chunk does not decode: ${(e as Error).message}`, e);
  }
  if (n !== expectedLength) {
    throw corrupt(`compressed chunk decodes to ${n} bytes, expected ${expectedLength}`);
  }
  return out;
}
