/**
 * The two native age recipient types ferry implements: X25519 and scrypt (passphrase).
 * Wrapping produces a {@link Stanza}; unwrapping validates the stanza strictly (E_CORRUPT) and
 * returns the 16-byte file key, or `null` when the stanza is simply not addressed to this key.
 */
import { hkdfSync, randomBytes, scryptSync } from "node:crypto";
import { FerryError } from "../../errors.js";
import { x25519, x25519Generate } from "../x25519.js";
import { rawBase64Decode, rawBase64Encode } from "./base64.js";
import { chachaOpen, chachaSeal } from "./chacha20poly1305.js";
import type { Stanza } from "./header.js";

/** age file keys are 128 bits. */
export const FILE_KEY_SIZE = 16;
/** A wrapped file key: 16 bytes of key plus the 16-byte Poly1305 tag. */
const WRAPPED_SIZE = FILE_KEY_SIZE + 16;
const ZERO_NONCE = Buffer.alloc(12);

const X25519_INFO = "age-encryption.org/v1/X25519";
const SCRYPT_SALT_LABEL = Buffer.from("age-encryption.org/v1/scrypt", "latin1");

/** age's default scrypt work factor (log2 N) when encrypting. */
export const DEFAULT_SCRYPT_LOG_N = 18;
/** Highest scrypt work factor accepted when decrypting unless the caller raises it (age's default). */
export const DEFAULT_MAX_SCRYPT_LOG_N = 22;
/** Hard ceiling on the work factor, whatever the caller asks (2^30 × 1 KiB = 1 TiB of memory). */
export const SCRYPT_LOG_N_CEILING = 30;

function corrupt(message: string): FerryError {
  return new FerryError("E_CORRUPT", message, {
    hint: "The age file's header is damaged or was not written by a conforming age implementation",
  });
}

/** An X25519 identity prepared for unwrapping: its raw secret and its public key. */
export interface X25519Key {
  secret: Buffer;
  publicKey: Buffer;
}

/**
 * Wraps `fileKey` to the raw 32-byte X25519 `recipient`:
 * share = X25519(eph, basepoint); key = HKDF(X25519(eph, recipient), share || recipient, info);
 * body = ChaCha20-Poly1305(key, nonce 0, fileKey).
 *
 * @example
 * const stanza = wrapX25519(fileKey, parseRecipient("age1…")); // args ["X25519", share]
 */
export function wrapX25519(fileKey: Uint8Array, recipient: Uint8Array): Stanza {
  const eph = x25519Generate();
  const shared = x25519(eph.secret, recipient);
  eph.secret.fill(0);
  if (shared === null) {
    throw new FerryError("E_BAD_KEY_FILE", "The age recipient is a low-order X25519 point", {
      hint: "That recipient cannot receive files; ask its owner for a key made by age-keygen",
    });
  }
  const salt = Buffer.concat([eph.publicKey, recipient]);
  const wrapKey = Buffer.from(hkdfSync("sha256", shared, salt, X25519_INFO, 32));
  const body = chachaSeal(wrapKey, ZERO_NONCE, fileKey);
  shared.fill(0);
  wrapKey.fill(0);
  return { args: ["X25519", rawBase64Encode(eph.publicKey)], body };
}

/**
 * Checks an X25519 stanza's shape (2 arguments, 32-byte canonical share, 32-byte body) and returns
 * the share. Throws E_CORRUPT.
 *
 * @example
 * const share = checkX25519Stanza(stanza); // Buffer(32)
 */
export function checkX25519Stanza(s: Stanza): Buffer {
  if (s.args.length !== 2) throw corrupt("age X25519 stanza must have exactly 2 arguments");
  const share = rawBase64Decode(s.args[1]!);
  if (share === null || share.length !== 32) {
    throw corrupt("age X25519 stanza share is not canonical base64 of 32 bytes");
  }
  if (s.body.length !== WRAPPED_SIZE) throw corrupt("age X25519 stanza body is not 32 bytes");
  return share;
}

/**
 * Tries `key` on an X25519 stanza; the file key, or null when the stanza is for someone else.
 * Throws E_CORRUPT for a malformed stanza or a low-order share.
 *
 * @example
 * const secret = parseIdentity(identity);
 * const fileKey = unwrapX25519(stanza, { secret, publicKey: x25519PublicKey(secret) });
 */
export function unwrapX25519(s: Stanza, key: X25519Key): Buffer | null {
  const share = checkX25519Stanza(s);
  const shared = x25519(key.secret, share);
  if (shared === null) throw corrupt("age X25519 stanza share is a low-order point");
  const salt = Buffer.concat([share, key.publicKey]);
  const wrapKey = Buffer.from(hkdfSync("sha256", shared, salt, X25519_INFO, 32));
  shared.fill(0);
  const fileKey = chachaOpen(wrapKey, ZERO_NONCE, s.body);
  wrapKey.fill(0);
  return fileKey;
}

/** scrypt(N = 2^logN, r = 8, p = 1, dkLen = 32), with node's memory cap raised to fit. */
function scryptKey(passphrase: string, salt: Buffer, logN: number): Buffer {
  const N = 2 ** logN;
  // scrypt needs 128·r·N bytes for V plus small buffers; node's default cap is 32 MiB.
  const maxmem = 128 * 8 * N * 2 + (16 << 20);
  return scryptSync(Buffer.from(passphrase, "utf8"), Buffer.concat([SCRYPT_SALT_LABEL, salt]), 32, {
    N,
    r: 8,
    p: 1,
    maxmem,
  });
}

/** Checks a scrypt work factor argument: decimal, no sign, no leading zero. */
function parseLogN(arg: string): number | null {
  if (!/^[1-9][0-9]{0,2}$/.test(arg)) return null;
  return Number(arg);
}

/**
 * Wraps `fileKey` under `passphrase` with a fresh 16-byte salt and work factor 2^logN.
 *
 * @example
 * const stanza = wrapScrypt(fileKey, "correct horse", 18); // args ["scrypt", salt, "18"]
 */
export function wrapScrypt(fileKey: Uint8Array, passphrase: string, logN: number): Stanza {
  if (!Number.isInteger(logN) || logN < 1 || logN > SCRYPT_LOG_N_CEILING) {
    throw new FerryError("E_USAGE", `scrypt work factor must be an integer 1..${SCRYPT_LOG_N_CEILING}`, {
      hint: `Use the default (${DEFAULT_SCRYPT_LOG_N}) unless you have a reason not to`,
    });
  }
  const salt = randomBytes(16);
  const key = scryptKey(passphrase, salt, logN);
  const body = chachaSeal(key, ZERO_NONCE, fileKey);
  key.fill(0);
  return { args: ["scrypt", rawBase64Encode(salt), String(logN)], body };
}

/**
 * Tries `passphrase` on a scrypt stanza; the file key, or null when the passphrase is wrong.
 * Throws E_CORRUPT for a malformed stanza or a work factor above `maxLogN`.
 *
 * @example
 * const fileKey = unwrapScrypt(stanza, "correct horse", 22);
 */
export function unwrapScrypt(s: Stanza, passphrase: string, maxLogN: number): Buffer | null {
  if (s.args.length !== 3) throw corrupt("age scrypt stanza must have exactly 3 arguments");
  const salt = rawBase64Decode(s.args[1]!);
  if (salt === null || salt.length !== 16)
    throw corrupt("age scrypt salt is not canonical base64 of 16 bytes");
  const logN = parseLogN(s.args[2]!);
  if (logN === null) throw corrupt("age scrypt work factor is not a plain decimal number");
  if (s.body.length !== WRAPPED_SIZE) throw corrupt("age scrypt stanza body is not 32 bytes");
  if (logN > Math.min(maxLogN, SCRYPT_LOG_N_CEILING)) {
    throw new FerryError(
      "E_CORRUPT",
      `age scrypt work factor 2^${logN} is above the limit 2^${Math.min(maxLogN, SCRYPT_LOG_N_CEILING)}`,
      { hint: "If you made this file yourself with a higher work factor, raise maxScryptLogN" },
    );
  }
  const key = scryptKey(passphrase, salt, logN);
  const fileKey = chachaOpen(key, ZERO_NONCE, s.body);
  key.fill(0);
  return fileKey;
}
