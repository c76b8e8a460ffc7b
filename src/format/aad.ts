import { AAD_CHUNK, AAD_INDEX } from "./constants.js";

/**
 * Associated data of a sealed chunk:
 * `"ferry-chunk-v1\0" || setId(16) || chunkId(32) || flags u8 || plainLength u32le`.
 * It binds the ciphertext to its set, its identity and its stored form.
 *
 * @example
 * const aad = chunkAad(setId, id, FLAG_ZSTD, 4096);
 */
export function chunkAad(setId: Buffer, chunkId: Buffer, flags: number, plainLength: number): Buffer {
  const b = Buffer.allocUnsafe(AAD_CHUNK.length + 16 + 32 + 5);
  let o = AAD_CHUNK.copy(b, 0);
  o += setId.copy(b, o);
  o += chunkId.copy(b, o);
  b[o] = flags;
  b.writeUInt32LE(plainLength, o + 1);
  return b;
}

/**
 * Associated data of a sealed index piece:
 * `"ferry-index-v1\0" || setId(16) || pieceNumber u32le || flags u8 || plainLength u32le`.
 * Dropping trailing pieces is caught by the index's end record; reordering by the piece number.
 *
 * @example
 * const aad = indexAad(setId, 0, 0, 1048576);
 */
export function indexAad(setId: Buffer, piece: number, flags: number, plainLength: number): Buffer {
  const b = Buffer.allocUnsafe(AAD_INDEX.length + 16 + 9);
  let o = AAD_INDEX.copy(b, 0);
  o += setId.copy(b, o);
  b.writeUInt32LE(piece, o);
  b[o + 4] = flags;
  b.writeUInt32LE(plainLength, o + 5);
  return b;
}
