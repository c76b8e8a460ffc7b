/**
 * ChaCha20-Poly1305 (RFC 7539/8439) with a 12-byte nonce and 16-byte tag, via node:crypto.
 * Used by age for stanza bodies (fixed all-zero nonce, single-use keys) and payload chunks.
 */
import { createCipheriv, createDecipheriv } from "node:crypto";

/** Poly1305 tag length. */
export const CHACHA_TAG_SIZE = 16;

/**
 * Encrypts `plaintext`, returning ciphertext || tag.
 *
 * @example
 * const body = chachaSeal(wrapKey, Buffer.alloc(12), fileKey); // 32 bytes
 */
export function chachaSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): Buffer {
  const c = createCipheriv("chacha20-poly1305", key, nonce, { authTagLength: CHACHA_TAG_SIZE });
  const ct = c.update(plaintext);
  const fin = c.final();
  return Buffer.concat([ct, fin, c.getAuthTag()]);
}

/**
 * Decrypts ciphertext || tag; returns `null` when authentication fails or the input is too short.
 *
 * @example
 * const fileKey = chachaOpen(wrapKey, Buffer.alloc(12), body); // null if not ours
 */
export function chachaOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array): Buffer | null {
  if (sealed.length < CHACHA_TAG_SIZE) return null;
  const split = sealed.length - CHACHA_TAG_SIZE;
  const d = createDecipheriv("chacha20-poly1305", key, nonce, { authTagLength: CHACHA_TAG_SIZE });
  d.setAuthTag(sealed.subarray(split));
  const pt = d.update(sealed.subarray(0, split));
  try {
    d.final();
  } catch {
    pt.fill(0);
    return null;
  }
  return pt;
}
