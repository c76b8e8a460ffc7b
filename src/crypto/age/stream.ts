/**
 * The age payload: a 16-byte nonce, then STREAM over ChaCha20-Poly1305 in 64 KiB chunks.
 *
 *     payload key = HKDF-SHA-256(ikm = file key, salt = nonce, info = "payload")
 *     chunk nonce = 11-byte big-endian counter || 0x00 (0x01 for the final chunk)
 *
 * The final chunk may be short but is empty only when the whole payload is empty.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { FerryError } from "../../errors.js";

/** Plaintext bytes per STREAM chunk. */
export const CHUNK_SIZE = 64 * 1024;
const TAG_SIZE = 16;
const SEALED_CHUNK = CHUNK_SIZE + TAG_SIZE;
/** Size of the payload nonce that precedes the first chunk. */
export const PAYLOAD_NONCE_SIZE = 16;

function corrupt(message: string): FerryError {
  return new FerryError("E_CORRUPT", message, {
    hint: "The age file is truncated or was modified; use another copy",
  });
}

function payloadKey(fileKey: Uint8Array, nonce: Uint8Array): Buffer {
  return Buffer.from(hkdfSync("sha256", fileKey, nonce, "payload", 32));
}

function setChunkNonce(nonce: Buffer, counter: number, last: boolean): void {
  nonce.fill(0);
  // Counters stay below 2^53 (a payload that large is unreachable in memory anyway).
  nonce.writeUIntBE(Math.floor(counter / 2 ** 32), 3, 4);
  nonce.writeUInt32BE(counter >>> 0, 7);
  nonce[11] = last ? 1 : 0;
}

/**
 * Size in bytes of the payload (nonce + sealed chunks) for `n` plaintext bytes.
 *
 * @example
 * payloadSize(0); // 32: nonce + one empty final chunk's tag
 */
export function payloadSize(n: number): number {
  const chunks = n === 0 ? 1 : Math.ceil(n / CHUNK_SIZE);
  return PAYLOAD_NONCE_SIZE + n + chunks * TAG_SIZE;
}

/**
 * Encrypts `plaintext` into `out` at `offset` (which must have {@link payloadSize} bytes free).
 *
 * @example
 * const out = Buffer.alloc(header.length + payloadSize(pt.length));
 * header.copy(out);
 * encryptPayload(fileKey, pt, out, header.length);
 */
export function encryptPayload(
  fileKey: Uint8Array,
  plaintext: Uint8Array,
  out: Buffer,
  offset: number,
): void {
  const nonce = randomBytes(PAYLOAD_NONCE_SIZE);
  nonce.copy(out, offset);
  let pos = offset + PAYLOAD_NONCE_SIZE;
  const key = payloadKey(fileKey, nonce);
  const chunkNonce = Buffer.alloc(12);
  const n = plaintext.length;
  let counter = 0;
  let start = 0;
  do {
    const end = Math.min(start + CHUNK_SIZE, n);
    const last = end === n;
    setChunkNonce(chunkNonce, counter, last);
    const c = createCipheriv("chacha20-poly1305", key, chunkNonce, { authTagLength: TAG_SIZE });
    pos += c.update(plaintext.subarray(start, end)).copy(out, pos);
    pos += c.final().copy(out, pos);
    pos += c.getAuthTag().copy(out, pos);
    counter++;
    start = end;
  } while (start < n);
  key.fill(0);
}

/**
 * Decrypts the payload (starting at its nonce). Throws E_CORRUPT when the nonce is missing, a chunk
 * fails authentication, the final chunk is missing or empty, or data follows the final chunk.
 *
 * @example
 * const plaintext = decryptPayload(fileKey, file.subarray(parseHeader(file).payloadOffset));
 */
export function decryptPayload(fileKey: Uint8Array, payload: Uint8Array): Buffer {
  if (payload.length < PAYLOAD_NONCE_SIZE) throw corrupt("age payload is shorter than its 16-byte nonce");
  const nonce = payload.subarray(0, PAYLOAD_NONCE_SIZE);
  const body = payload.subarray(PAYLOAD_NONCE_SIZE);
  if (body.length === 0) throw corrupt("age payload has no chunks (the file is truncated)");
  const chunks = Math.ceil(body.length / SEALED_CHUNK);
  const lastLen = body.length - (chunks - 1) * SEALED_CHUNK;
  if (lastLen < TAG_SIZE)
    throw corrupt("age payload ends in a piece shorter than a chunk tag (truncated or extra bytes)");
  const out = Buffer.allocUnsafe(body.length - chunks * TAG_SIZE);
  const key = payloadKey(fileKey, nonce);
  const chunkNonce = Buffer.alloc(12);
  let outPos = 0;
  try {
    for (let i = 0; i < chunks; i++) {
      const start = i * SEALED_CHUNK;
      const last = i === chunks - 1;
      const end = last ? body.length : start + SEALED_CHUNK;
      if (last && i > 0 && end - start === TAG_SIZE) {
        throw corrupt("age payload's final chunk is empty (only allowed when the whole payload is empty)");
      }
      setChunkNonce(chunkNonce, i, last);
      const d = createDecipheriv("chacha20-poly1305", key, chunkNonce, { authTagLength: TAG_SIZE });
      d.setAuthTag(body.subarray(end - TAG_SIZE, end));
      outPos += d.update(body.subarray(start, end - TAG_SIZE)).copy(out, outPos);
      try {
        d.final();
      } catch {
        throw corrupt(
          last
            ? `age payload chunk ${i} failed authentication (truncated, extended or modified)`
            : `age payload chunk ${i} failed authentication (modified, or a final chunk followed by extra data)`,
        );
      }
    }
  } catch (e) {
    out.fill(0);
    throw e;
  } finally {
    key.fill(0);
  }
  return out;
}
