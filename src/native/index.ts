/**
 * The optional native kernel (native/ferry_native.c, built by node-gyp at install time): SIMD
 * Reed-Solomon coding (GFNI or AVX2, scalar fallback), AES-256-GCM through Node's own OpenSSL,
 * the FastCDC cut-point search, and allocator tuning. When it is not built (no compiler) or
 * `FERRY_NATIVE=0`, ferry uses its plain-JS kernel: same results, slower. `FERRY_REQUIRE_NATIVE=1`
 * makes a missing native kernel an error (CI sets it, so a broken build cannot hide).
 *
 * @example
 * import { native } from "../native/index.js";
 * if (native) native.codeShards(coefs, inputs, outputs);
 */
import { existsSync, constants as fsConstants } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { FerryError } from "../errors.js";

/** What the native module exports. */
export interface NativeKernel {
  /** outputs[i] = XOR_j coefs[i·k+j]·inputs[j]; `kind` (an index into `kernels`) forces a variant. */
  codeShards(
    coefs: Uint8Array,
    inputs: readonly Uint8Array[],
    outputs: readonly Uint8Array[],
    kind?: number,
  ): void;
  /** AES-256-GCM: writes ciphertext ‖ tag (plaintext.length + 16 bytes) into `out`. */
  gcmSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, out: Uint8Array): void;
  /** AES-256-GCM: writes the plaintext into `out` and returns true when authentic (else zeroes it). */
  gcmOpen(
    key: Uint8Array,
    nonce: Uint8Array,
    aad: Uint8Array,
    ciphertext: Uint8Array,
    tag: Uint8Array,
    out: Uint8Array,
  ): boolean;
  /** As {@link gcmOpen}, for a ciphertext given as consecutive pieces. */
  gcmOpenv(
    key: Uint8Array,
    nonce: Uint8Array,
    aad: Uint8Array,
    pieces: readonly Uint8Array[],
    tag: Uint8Array,
    out: Uint8Array,
  ): boolean;
  /**
   * FastCDC: the end of the chunk starting at `start` (see `cut` in src/chunk/fastcdc.ts, whose
   * contract this is), with the masks as int32 and the 256-entry gear table.
   */
  fastcdcCut(
    buf: Uint8Array,
    start: number,
    end: number,
    minSize: number,
    avgSize: number,
    maxSize: number,
    maskS: number,
    maskL: number,
    gear: Int32Array,
    /** Test no byte before this one: an earlier call found no cut in them (default: none known). */
    from?: number,
  ): number;
  /** Bytes from the start of `bytes` to its first address that is a multiple of `align` (a power of two). */
  alignGap(bytes: Uint8Array, align: number): number;
  /**
   * Bytes from `pos` (page-aligned), up to `len`, that the page cache holds without a gap (mmap +
   * mincore: nothing is read); -1 where it cannot tell.
   */
  cachedBytes(fd: number, pos: number, len: number): number;
  /**
   * Drops the file's clean pages (from `pos`, `len` bytes, 0: to the end) from the page cache
   * (posix_fadvise DONTNEED); whether it took.
   */
  dropCache(fd: number, pos?: number, len?: number): boolean;
  /**
   * No read-ahead on this descriptor (posix_fadvise RANDOM); whether it took. Absent from a
   * kernel built before session 10.
   */
  adviseRandom?(fd: number): boolean;
  /** Turns O_DIRECT on or off for an open file descriptor (fcntl); whether it took effect. */
  setDirect(fd: number, on: boolean): boolean;
  /** Raises glibc's mmap and trim thresholds (see ferry_native.c); false on other C libraries. */
  tuneMalloc(): boolean;
  /** The variant in use: "gfni", "avx2" or "scalar". */
  kernel: string;
  /** Variants this CPU can run, slowest first. */
  kernels: string[];
}

const ADDON = fileURLToPath(new URL("../../build/Release/ferry_native.node", import.meta.url));

function load(): NativeKernel | null {
  if (process.env.FERRY_NATIVE === "0") return null;
  let why = `${ADDON} is missing`;
  if (existsSync(ADDON)) {
    try {
      return createRequire(import.meta.url)(ADDON) as NativeKernel;
    } catch (e) {
      why = (e as Error).message;
    }
  }
  if (process.env.FERRY_REQUIRE_NATIVE === "1") {
    throw new FerryError("E_INTERNAL", `the native kernel did not load: ${why}`, {
      hint: "Run `npm run build:native` (needs python3, make and a C compiler), or unset FERRY_REQUIRE_NATIVE",
    });
  }
  return null;
}

/** The native kernel, or null when ferry runs on its JS kernels. */
export const native: NativeKernel | null = load();

let tuned: boolean | null = null;

/**
 * Tunes the process's allocator for ferry's large buffers, once (glibc: buffers up to 32 MiB stay
 * in the heap, and the heap is not trimmed after every free). Without it, every multi-MiB buffer
 * Node allocates is mapped and unmapped again, and the page faults cost more than the work.
 * A no-op without the native kernel or with `FERRY_MALLOC_TUNE=0`. Returns whether it took effect.
 *
 * @example
 * tuneAllocator(); // at the start of a long pack
 */
export function tuneAllocator(): boolean {
  if (tuned === null) tuned = native !== null && process.env.FERRY_MALLOC_TUNE !== "0" && native.tuneMalloc();
  return tuned;
}

/**
 * Alignment of memory, file offsets and lengths for O_DIRECT writes (4 KiB: the logical block
 * size of any drive ferry expects, and the page size).
 */
export const DIRECT_ALIGN = 4096;

/**
 * A zeroed buffer of `size` bytes that starts on a {@link DIRECT_ALIGN} boundary when the native
 * kernel can tell addresses (see {@link directWrites}); otherwise a plain zeroed buffer.
 *
 * @example
 * const record = allocAligned(1 << 20); // O_DIRECT may write it as is
 */
export function allocAligned(size: number): Buffer {
  if (!native) return Buffer.alloc(size);
  const raw = Buffer.alloc(size + DIRECT_ALIGN);
  const gap = native.alignGap(raw, DIRECT_ALIGN);
  return raw.subarray(gap, gap + size);
}

/**
 * Whether O_DIRECT writes can be used at all: the platform has O_DIRECT, the native kernel is there
 * to align buffers ({@link allocAligned}), and `FERRY_DIRECT=0` does not turn them off.
 *
 * @example
 * if (directWrites()) console.log("durable pack bypasses the page cache");
 */
export function directWrites(): boolean {
  return native !== null && fsConstants.O_DIRECT !== undefined && process.env.FERRY_DIRECT !== "0";
}
