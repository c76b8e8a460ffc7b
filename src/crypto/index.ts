/**
 * ferry's cryptography: bytes in, bytes out, no file I/O. See docs/CRYPTO.md for the constructions.
 *
 * - age v1 (X25519 / scrypt) to wrap set keys for people: {@link ageEncrypt}, {@link ageDecrypt}
 * - AES-256-GCM for chunks: {@link seal}, {@link open}
 * - HKDF-SHA-256 subkeys: {@link deriveKey}
 * - Ed25519 signatures: {@link sign}, {@link verifySignature}
 *
 * @example
 * import { generateIdentity, ageEncrypt, ageDecrypt, deriveKey, seal, open } from "./crypto/index.js";
 * const { identity, recipient } = generateIdentity();
 * const master = randomBytes(32);
 * const keyFile = ageEncrypt(master, { recipients: [recipient] });
 * const chunkKey = deriveKey(ageDecrypt(keyFile, { identities: [identity] }), "chunk");
 * const sealed = seal(chunkKey, data, aad);
 */
export {
  type AgeDecryptKeys,
  type AgeEncryptTo,
  ageDecrypt,
  ageEncrypt,
} from "./age/age.js";
export {
  formatIdentityFile,
  generateIdentity,
  identityToRecipient,
  parseIdentities,
  parseIdentity,
  parseRecipient,
} from "./age/keys.js";
export { DEFAULT_MAX_SCRYPT_LOG_N, DEFAULT_SCRYPT_LOG_N } from "./age/stanzas.js";
export { AEAD_KEY_SIZE, NONCE_SIZE, open, SEAL_OVERHEAD, seal, TAG_SIZE } from "./aead.js";
export { bech32Decode, bech32DecodeWords, bech32Encode, bech32EncodeWords } from "./bech32.js";
export { deriveKey, KDF_INFO_PREFIX } from "./kdf.js";
export {
  generateSigningKey,
  SIGNATURE_SIZE,
  SIGNING_KEY_SIZE,
  sign,
  signingPublicKey,
  verifySignature,
} from "./sign.js";
