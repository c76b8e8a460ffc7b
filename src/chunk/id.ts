/**
 * Chunk identifiers. A chunk id is keyed BLAKE3-256 of the plaintext chunk, so that an observer
 * who knows a public file cannot tell from the ids on a drive whether that file is inside.
 */
import { Blake3Hasher, blake3 } from "@napi-rs/blake-hash";
import { FerryError } from "../errors.js";

/**
 * Length in bytes of a chunk id and of the id key.
 *
 * @example
 * const idKey = crypto.randomBytes(CHUNK_ID_BYTES);
 */
export const CHUNK_ID_BYTES = 32;

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function checkData(data: unknown, fn: string): asserts data is Uint8Array {
  if (!(data instanceof Uint8Array)) throw new FerryError("E_USAGE", `${fn} needs a Uint8Array`);
}

let lastKey: Buffer | null = null;
let lastHasher: Blake3Hasher | null = null;

/**
 * Keyed BLAKE3-256 of `data` under the 32-byte `idKey` (BLAKE3 `keyed_hash` mode).
 * Throws `E_USAGE` if the key is not exactly 32 bytes (the native hasher would abort the process).
 *
 * @example
 * const idKey = crypto.randomBytes(32); // in ferry: derived from the set's master key
 * const id = chunkId(idKey, chunk); // 32-byte Buffer
 */
export function chunkId(idKey: Uint8Array, data: Uint8Array): Buffer {
  if (!(idKey instanceof Uint8Array) || idKey.length !== CHUNK_ID_BYTES) {
    throw new FerryError("E_USAGE", `chunk id key must be ${CHUNK_ID_BYTES} bytes`, {
      hint: "Derive a 32-byte id key from the set key",
    });
  }
  checkData(data, "chunkId");
  // One keyed hasher per key, reset between chunks (reset keeps the key): making a new one per
  // chunk cost more than hashing a small file. The key is copied: the caller may reuse theirs.
  if (lastKey === null || !lastKey.equals(idKey)) {
    lastKey = Buffer.from(idKey);
    lastHasher = Blake3Hasher.newKeyed(Buffer.from(idKey));
  } else lastHasher!.reset();
  return lastHasher!.update(asBuffer(data)).digestBuffer();
}

/**
 * Plain (unkeyed) BLAKE3-256 of `data`.
 *
 * @example
 * blake3Hash(Buffer.from("abc")).toString("hex");
 * // "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"
 */
export function blake3Hash(data: Uint8Array): Buffer {
  checkData(data, "blake3Hash");
  return blake3(asBuffer(data));
}
