/**
 * Chunk AEAD: AES-256-GCM with a random 96-bit nonce and a 128-bit tag.
 *
 *     sealed = nonce (12) || ciphertext (= plaintext length) || tag (16)
 *
 * Nonces are random, so one key may seal at most 2^32 messages (NIST SP 800-38D §8.3: keeps the
 * chance of a repeated nonce below 2^-32); ferry derives a fresh key per set and per purpose
 * (kdf.ts), which keeps every key far below that. One message is at most 2^36 - 32 bytes (GCM).
 */
import { createCipheriv, createDecipheriv, randomFillSync } from "node:crypto";
import { FerryError } from "../errors.js";
import { native } from "../native/index.js";

/** Nonce length (bytes) at the start of a sealed message. */
export const NONCE_SIZE = 12;
/** GCM tag length (bytes) at the end of a sealed message. */
export const TAG_SIZE = 16;
/** Bytes a sealed message has beyond its plaintext: nonce + tag. */
export const SEAL_OVERHEAD = NONCE_SIZE + TAG_SIZE;
/** AES-256 key length. */
export const AEAD_KEY_SIZE = 32;
/** Largest plaintext GCM can seal under one nonce (2^39 - 256 bits). */
export const MAX_PLAINTEXT = 2 ** 36 - 32;

/**
 * Plaintext/ciphertext is fed to OpenSSL in slices of this size and each result copied into the
 * output. node's `update()` always returns a fresh buffer; slicing keeps that temporary at 64 KiB
 * (warm heap, copied out of cache) instead of a fresh 1 MiB allocation per chunk. In bench.ts this
 * measured no slower than one big update + copy, and writing into a caller's buffer was 1.5-2x
 * faster than allocating the result.
 */
const SLICE = 64 * 1024;

/** Runs `src` through `c.update` slice by slice, copying into `dst` at `pos`; returns the new pos. */
function updateInto(
  c: { update(data: Uint8Array): Buffer },
  src: Uint8Array,
  dst: Buffer,
  pos: number,
): number {
  for (let off = 0; off < src.length; off += SLICE) {
    pos += c.update(src.subarray(off, Math.min(off + SLICE, src.length))).copy(dst, pos);
  }
  return pos;
}

/** Random bytes drawn 4 KiB at a time: one randomFillSync per chunk cost ~15 µs. */
const noncePool = Buffer.alloc(NONCE_SIZE * 341);
let noncePos = noncePool.length;

function nextNonce(dst: Buffer): void {
  if (noncePos === noncePool.length) {
    randomFillSync(noncePool);
    noncePos = 0;
  }
  noncePool.copy(dst, 0, noncePos, noncePos + NONCE_SIZE);
  // Never hand out the same bytes twice.
  noncePool.fill(0, noncePos, noncePos + NONCE_SIZE);
  noncePos += NONCE_SIZE;
}

function decryptFailed(): FerryError {
  return new FerryError("E_DECRYPT", "Chunk failed authenticated decryption", {
    hint: "The chunk was damaged or belongs elsewhere; ferry will try parity or another drive",
  });
}

function checkKey(key: Uint8Array): void {
  if (key.length !== AEAD_KEY_SIZE) {
    throw new FerryError("E_INTERNAL", `AEAD key must be 32 bytes, got ${key.length}`, {
      hint: "This is a bug in ferry; please report it",
    });
  }
}

/**
 * Seals `plaintext` with AES-256-GCM under `key`, binding `aad` (authenticated, not encrypted).
 * Returns `nonce || ciphertext || tag` with a fresh random nonce. When `out` is given the result
 * is written into its first `plaintext.length + SEAL_OVERHEAD` bytes and that view is returned
 * (saves an allocation when sealing many chunks).
 *
 * @example
 * const key = deriveKey(master, "chunk");
 * const sealed = seal(key, chunk, Buffer.from(`set 3f2a chunk ${i}`));
 * // or reuse a buffer: seal(key, chunk, aad, scratch) where scratch.length >= chunk.length + SEAL_OVERHEAD
 */
export function seal(key: Buffer, plaintext: Uint8Array, aad: Uint8Array, out?: Buffer): Buffer {
  checkKey(key);
  const total = plaintext.length + SEAL_OVERHEAD;
  if (plaintext.length > MAX_PLAINTEXT) {
    throw new FerryError("E_INTERNAL", "AEAD plaintext is larger than GCM allows", {
      hint: "This is a bug in ferry; please report it",
    });
  }
  let dst: Buffer;
  if (out === undefined) dst = Buffer.allocUnsafe(total);
  else if (out.length < total) {
    throw new FerryError("E_INTERNAL", `AEAD output buffer holds ${out.length} bytes, needs ${total}`, {
      hint: "This is a bug in ferry; please report it",
    });
  } else dst = out.length === total ? out : out.subarray(0, total);
  // A fresh random nonce, written straight into the output (createCipheriv copies it).
  nextNonce(dst);
  if (native !== null) {
    native.gcmSeal(key, dst.subarray(0, NONCE_SIZE), aad, plaintext, dst.subarray(NONCE_SIZE));
    return dst;
  }
  const cipher = createCipheriv("aes-256-gcm", key, dst.subarray(0, NONCE_SIZE), { authTagLength: TAG_SIZE });
  cipher.setAAD(aad);
  let pos = updateInto(cipher, plaintext, dst, NONCE_SIZE);
  pos += cipher.final().copy(dst, pos);
  cipher.getAuthTag().copy(dst, pos);
  return dst;
}

/**
 * Opens `nonce || ciphertext || tag` made by {@link seal} with the same `key` and `aad`. Throws
 * E_DECRYPT when the input is shorter than {@link SEAL_OVERHEAD} or authentication fails (wrong key,
 * wrong aad, or any modified byte). When `out` is given the plaintext is written into its first
 * `sealed.length - SEAL_OVERHEAD` bytes and that view is returned.
 *
 * @example
 * const chunk = open(key, sealed, Buffer.from(`set 3f2a chunk ${i}`));
 */
export function open(key: Buffer, sealed: Uint8Array, aad: Uint8Array, out?: Buffer): Buffer {
  checkKey(key);
  if (sealed.length < SEAL_OVERHEAD) {
    throw new FerryError("E_DECRYPT", `Sealed chunk is ${sealed.length} bytes, shorter than nonce and tag`, {
      hint: "The chunk is truncated; ferry will try parity or another drive",
    });
  }
  const ctEnd = sealed.length - TAG_SIZE;
  const n = ctEnd - NONCE_SIZE;
  if (out !== undefined && out.length < n) {
    throw new FerryError("E_INTERNAL", `AEAD output buffer holds ${out.length} bytes, needs ${n}`, {
      hint: "This is a bug in ferry; please report it",
    });
  }
  const dst = out === undefined ? Buffer.allocUnsafe(n) : out.length === n ? out : out.subarray(0, n);
  if (native !== null) {
    if (
      !native.gcmOpen(
        key,
        sealed.subarray(0, NONCE_SIZE),
        aad,
        sealed.subarray(NONCE_SIZE, ctEnd),
        sealed.subarray(ctEnd),
        dst,
      )
    ) {
      throw decryptFailed();
    }
    return dst;
  }
  const decipher = createDecipheriv("aes-256-gcm", key, sealed.subarray(0, NONCE_SIZE), {
    authTagLength: TAG_SIZE,
  });
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(ctEnd));
  updateInto(decipher, sealed.subarray(NONCE_SIZE, ctEnd), dst, 0);
  try {
    decipher.final();
  } catch {
    // Never hand out unauthenticated plaintext, not even in the caller's buffer.
    dst.fill(0);
    throw decryptFailed();
  }
  return dst;
}
