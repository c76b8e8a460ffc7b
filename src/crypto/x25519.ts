/**
 * X25519 (RFC 7748) on raw 32-byte keys, through node:crypto. node only speaks DER/JWK for
 * Curve25519 keys, so raw keys are wrapped in the fixed PKCS#8 / SPKI prefixes for OID 1.3.101.110.
 */
import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
} from "node:crypto";

const PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");
const SPKI_PREFIX = Buffer.from("302a300506032b656e032100", "hex");

/** Size of X25519 scalars, points and shared secrets. */
export const X25519_KEY_SIZE = 32;

function checkLength(b: Uint8Array, what: string): void {
  if (b.length !== X25519_KEY_SIZE) throw new RangeError(`${what} must be 32 bytes, got ${b.length}`);
}

/**
 * Wraps a raw 32-byte X25519 secret (any 32 bytes; clamping happens inside) as a KeyObject.
 *
 * @example
 * const key = x25519PrivateKey(randomBytes(32));
 */
export function x25519PrivateKey(secret: Uint8Array): KeyObject {
  checkLength(secret, "X25519 secret");
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, secret]), format: "der", type: "pkcs8" });
}

/**
 * Wraps a raw 32-byte X25519 public key (a Montgomery u-coordinate) as a KeyObject.
 *
 * @example
 * const key = x25519PublicKeyObject(recipientBytes);
 */
export function x25519PublicKeyObject(pub: Uint8Array): KeyObject {
  checkLength(pub, "X25519 public key");
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, pub]), format: "der", type: "spki" });
}

/**
 * The raw 32-byte public key for a raw 32-byte secret: X25519(secret, basepoint).
 *
 * @example
 * const pub = x25519PublicKey(secret); // Buffer(32)
 */
export function x25519PublicKey(secret: Uint8Array): Buffer {
  const der = createPublicKey(x25519PrivateKey(secret)).export({ format: "der", type: "spki" });
  return Buffer.from(der.subarray(SPKI_PREFIX.length));
}

/**
 * A fresh X25519 key pair as raw 32-byte buffers.
 *
 * @example
 * const { secret, publicKey } = x25519Generate();
 */
export function x25519Generate(): { secret: Buffer; publicKey: Buffer } {
  const { privateKey, publicKey } = generateKeyPairSync("x25519");
  const sk = privateKey.export({ format: "der", type: "pkcs8" });
  const pk = publicKey.export({ format: "der", type: "spki" });
  return {
    secret: Buffer.from(sk.subarray(PKCS8_PREFIX.length)),
    publicKey: Buffer.from(pk.subarray(SPKI_PREFIX.length)),
  };
}

/**
 * X25519(secret, point). Returns `null` when the result would be the all-zero value (the peer
 * point has small order), which callers must treat as an error (RFC 7748 §6.1; age requires it).
 *
 * @example
 * const shared = x25519(mySecret, theirPublic);
 * if (shared === null) throw new Error("low-order point");
 */
export function x25519(secret: Uint8Array | KeyObject, point: Uint8Array): Buffer | null {
  const privateKey = secret instanceof Uint8Array ? x25519PrivateKey(secret) : secret;
  let out: Buffer;
  try {
    out = diffieHellman({ privateKey, publicKey: x25519PublicKeyObject(point) });
  } catch (e) {
    // OpenSSL refuses to return the all-zero shared secret.
    if ((e as { code?: unknown }).code === "ERR_OSSL_FAILED_DURING_DERIVATION") return null;
    throw e;
  }
  let acc = 0;
  for (const b of out) acc |= b;
  return acc === 0 ? null : out;
}
