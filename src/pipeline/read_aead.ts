/**
 * AES-256-GCM opening of a sealed chunk that lies across several blocks, straight from views of
 * those blocks: the same construction and checks as `open` in src/crypto/aead.ts, without first
 * copying the pieces into one buffer.
 */
import { createDecipheriv } from "node:crypto";
import { open, NONCE_SIZE, SEAL_OVERHEAD, TAG_SIZE } from "../crypto/index.js";
import { native } from "../native/index.js";

/** Ciphertext goes to OpenSSL in slices of this size, as in aead.ts (a small, warm temporary). */
const SLICE = 64 * 1024;

/** Copies `length` bytes at logical offset `at` of the concatenation of `pieces`. */
function gather(pieces: readonly Buffer[], at: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let got = 0;
  let base = 0;
  for (const p of pieces) {
    if (got === length) break;
    const end = base + p.length;
    if (end > at + got) {
      const from = at + got - base;
      got += p.copy(out, got, from, Math.min(p.length, from + length - got));
    }
    base = end;
  }
  return out;
}

/**
 * Opens `nonce || ciphertext || tag` given as consecutive pieces. Throws E_DECRYPT exactly as
 * `open` does (input too short, wrong key or aad, any modified byte), and never returns or
 * leaves unauthenticated plaintext. With `out` (at least as long as the plaintext), the
 * plaintext is written into its start and that view is returned.
 *
 * @example
 * const plain = openPieces(keys.chunkKey, [tailOfBlock7, headOfBlock8], aad);
 */
export function openPieces(key: Buffer, pieces: readonly Buffer[], aad: Uint8Array, out?: Buffer): Buffer {
  if (pieces.length === 1) return open(key, pieces[0]!, aad, out);
  let total = 0;
  for (const p of pieces) total += p.length;
  // The error paths (and any odd input) go through `open` itself, for its exact errors.
  if (total < SEAL_OVERHEAD || key.length !== 32 || (out && out.length < total - SEAL_OVERHEAD)) {
    return open(key, Buffer.concat(pieces), aad, out);
  }
  const ctEnd0 = total - TAG_SIZE;
  if (native !== null) {
    const ct: Buffer[] = [];
    let at = 0;
    for (const p of pieces) {
      const from = Math.max(NONCE_SIZE - at, 0);
      const to = Math.min(ctEnd0 - at, p.length);
      if (to > from) ct.push(p.subarray(from, to));
      at += p.length;
    }
    const dst =
      out === undefined ? Buffer.allocUnsafe(ctEnd0 - NONCE_SIZE) : out.subarray(0, ctEnd0 - NONCE_SIZE);
    if (native.gcmOpenv(key, gather(pieces, 0, NONCE_SIZE), aad, ct, gather(pieces, ctEnd0, TAG_SIZE), dst))
      return dst;
    return open(key, Buffer.concat(pieces), aad, out); // its exact error (E_DECRYPT)
  }
  const decipher = createDecipheriv("aes-256-gcm", key, gather(pieces, 0, NONCE_SIZE), {
    authTagLength: TAG_SIZE,
  });
  decipher.setAAD(aad);
  const ctEnd = total - TAG_SIZE;
  decipher.setAuthTag(gather(pieces, ctEnd, TAG_SIZE));
  const n = ctEnd - NONCE_SIZE;
  const dst = out === undefined ? Buffer.allocUnsafe(n) : out.subarray(0, n);
  let pos = 0;
  let base = 0;
  for (const p of pieces) {
    const from = Math.max(NONCE_SIZE - base, 0);
    const to = Math.min(ctEnd - base, p.length);
    for (let off = from; off < to; off += SLICE) {
      pos += decipher.update(p.subarray(off, Math.min(off + SLICE, to))).copy(dst, pos);
    }
    base += p.length;
  }
  try {
    decipher.final();
  } catch {
    dst.fill(0);
    return open(key, Buffer.concat(pieces), aad, out);
  }
  return dst;
}
