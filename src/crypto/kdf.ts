/**
 * Key derivation: every subkey ferry uses comes from one master secret through HKDF-SHA-256
 * (RFC 5869) with an empty salt and a domain-separating label:
 *
 *     key = HKDF-SHA-256(ikm = master, salt = "", info = "ferry v1 " || label, L = length)
 *
 * Labels are ASCII and fixed per purpose (see docs/CRYPTO.md); the same master and label always
 * give the same key, different labels give independent keys.
 */
import { hkdfSync } from "node:crypto";
import { FerryError } from "../errors.js";

/** Prefix of every HKDF info string; changing it changes every derived key. */
export const KDF_INFO_PREFIX = "ferry v1 ";

/**
 * Derives a `length`-byte subkey (1..8160) from `master` for `label` with HKDF-SHA-256.
 *
 * @example
 * const chunkKey = deriveKey(master, "chunk");        // 32 bytes for AES-256-GCM
 * const indexKey = deriveKey(master, "index");        // independent of chunkKey
 */
export function deriveKey(master: Buffer, label: string, length = 32): Buffer {
  if (master.length < 16) {
    throw new FerryError("E_INTERNAL", `KDF master secret is ${master.length} bytes, need at least 16`, {
      hint: "This is a bug in ferry; please report it",
    });
  }
  if (label.length === 0 || !/^[\x20-\x7e]+$/.test(label)) {
    throw new FerryError("E_INTERNAL", "KDF label must be non-empty printable ASCII", {
      hint: "This is a bug in ferry; please report it",
    });
  }
  if (!Number.isInteger(length) || length < 1 || length > 255 * 32) {
    throw new FerryError("E_INTERNAL", `KDF output length ${length} is outside 1..8160`, {
      hint: "This is a bug in ferry; please report it",
    });
  }
  return Buffer.from(hkdfSync("sha256", master, Buffer.alloc(0), KDF_INFO_PREFIX + label, length));
}
