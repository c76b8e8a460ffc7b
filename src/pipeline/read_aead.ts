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
  const ctEnd = total - TAG_SIZE;
  const nonce = gather(pieces, 0, NONCE_SIZE);
  const tag = gather(pieces, ctEnd, TAG_SIZE);
  // The ciphertext as views of the pieces (nonce and tag cut off).
  const ct: Buffer[] = [];
  for (let at = 0, i = 0; i < pieces.length; at += pieces[i]!.length, i++) {
    const from = Math.max(NONCE_SIZE - at, 0);
    const to = Math.min(ctEnd - at, pieces[i]!.length);
    if (to > from) ct.push(pieces[i]!.subarray(from, to));
  }
  const n = ctEnd - NONCE_SIZE;
  const dst = out === undefined ? Buffer.allocUnsafe(n) : out.subarray(0, n);
  let ok: boolean;
  if (native !== null) ok = native.gcmOpenv(key, nonce, aad, ct, tag, dst);
  else {
    const decipher = createDecipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_SIZE });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    let pos = 0;
    for (const c of ct) {
      for (let off = 0; off < c.length; off += SLICE) {
        pos += decipher.update(c.subarray(off, Math.min(off + SLICE, c.length))).copy(dst, pos);
      }
    }
    try {
      decipher.final();
      ok = true;
    } catch {
      dst.fill(0);
      ok = false;
    }
  }
  // A failure goes through `open` itself, for its exact error (E_DECRYPT).
  return ok ? dst : open(key, Buffer.concat(pieces), aad, out);
}
