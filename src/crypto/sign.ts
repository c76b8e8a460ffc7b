/**
 * Ed25519 signatures (RFC 8032, pure Ed25519 — no prehash, no context) on raw keys: a 32-byte
 * secret seed and a 32-byte public key, wrapped in fixed PKCS#8 / SPKI prefixes for node:crypto.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign as nodeSign,
  verify as nodeVerify,
} from "node:crypto";
import { FerryError } from "../errors.js";

const PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

/** Ed25519 seed and public key length. */
export const SIGNING_KEY_SIZE = 32;
/** Ed25519 signature length. */
export const SIGNATURE_SIZE = 64;

function privateKeyObject(secretKey: Uint8Array): KeyObject {
  if (secretKey.length !== SIGNING_KEY_SIZE) {
    throw new FerryError("E_BAD_KEY_FILE", `Ed25519 secret key is ${secretKey.length} bytes, expected 32`, {
      hint: "Use the 32-byte seed that generateSigningKey returned",
    });
  }
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, secretKey]), format: "der", type: "pkcs8" });
}

/**
 * A fresh Ed25519 key pair: `secretKey` is the 32-byte RFC 8032 seed, `publicKey` 32 bytes.
 *
 * @example
 * const { publicKey, secretKey } = generateSigningKey();
 */
export function generateSigningKey(): { publicKey: Buffer; secretKey: Buffer } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const sk = privateKey.export({ format: "der", type: "pkcs8" });
  const pk = publicKey.export({ format: "der", type: "spki" });
  return {
    publicKey: Buffer.from(pk.subarray(SPKI_PREFIX.length)),
    secretKey: Buffer.from(sk.subarray(PKCS8_PREFIX.length)),
  };
}

/**
 * The 32-byte public key for a 32-byte Ed25519 seed.
 *
 * @example
 * signingPublicKey(secretKey).equals(publicKey); // true
 */
export function signingPublicKey(secretKey: Uint8Array): Buffer {
  const der = createPublicKey(privateKeyObject(secretKey)).export({ format: "der", type: "spki" });
  return Buffer.from(der.subarray(SPKI_PREFIX.length));
}

/**
 * Signs `msg` with the 32-byte seed; returns the 64-byte signature (deterministic per RFC 8032).
 *
 * @example
 * const sig = sign(secretKey, manifestBytes);
 */
export function sign(secretKey: Uint8Array, msg: Uint8Array): Buffer {
  return nodeSign(null, msg, privateKeyObject(secretKey));
}

/**
 * True when `sig` is a valid Ed25519 signature of `msg` under the 32-byte `publicKey`. Returns
 * false (never throws) for keys or signatures of the wrong length or an invalid public key.
 *
 * @example
 * if (!verifySignature(publicKey, manifestBytes, sig)) throw new FerryError("E_SIGNATURE", "…");
 */
export function verifySignature(publicKey: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  if (publicKey.length !== SIGNING_KEY_SIZE || sig.length !== SIGNATURE_SIZE) return false;
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: "der", type: "spki" });
  } catch {
    return false;
  }
  try {
    return nodeVerify(null, msg, key, sig);
  } catch {
    return false;
  }
}
