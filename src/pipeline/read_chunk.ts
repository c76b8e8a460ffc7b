/**
 * Reading one chunk of a set: from the stripe reader, AEAD-opened, decompressed and checked
 * against its keyed id, with one full re-read when a reader with lazyChecks finds it bad. Used by
 * unpack, verify and the object-store ingest.
 */
import { chunkId, decompress } from "../chunk/index.js";
import { SEAL_OVERHEAD } from "../crypto/index.js";
import { FerryError } from "../errors.js";
import { type ChunkRef, chunkAad, FLAG_ZSTD } from "../format/index.js";
import type { OpenedSet, StripeReader } from "./open_set.js";
import { openPieces } from "./read_aead.js";
import type { BufferPool } from "./read_pool.js";

/**
 * Runs `read` (which reads the log range at `offset`), and once more if it fails as damaged
 * data (E_DECRYPT, E_CORRUPT) while the reader checked that range by block headers only: the
 * second time every block is hashed and checked, and the bad ones are rebuilt from parity.
 */
export async function readAgain<T>(
  reader: StripeReader,
  offset: number,
  length: number,
  read: () => Promise<T>,
): Promise<T> {
  try {
    return await read();
  } catch (e) {
    if (!(FerryError.is(e, "E_DECRYPT") || FerryError.is(e, "E_CORRUPT"))) throw e;
    if (!reader.recheck(offset, length)) throw e;
    return await read();
  }
}

/**
 * Reads, decrypts and checks one chunk. Throws E_DECRYPT (wrong key or tampered data) or
 * E_CORRUPT (id mismatch) before returning any plaintext. With `pool`, the plaintext may be a
 * buffer lent by it: give it back when done with it. With `into` (exactly `ref.plainLength`
 * bytes), the plaintext is written there and `into` is returned; on a throw its content is
 * undefined. A reader with lazyChecks is asked to check the chunk's blocks fully, and the chunk
 * is read again, before either is thrown.
 */
export function readChunk(
  set: OpenedSet,
  reader: StripeReader,
  ref: ChunkRef,
  pool?: BufferPool,
  into?: Buffer,
): Promise<Buffer> {
  return readAgain(reader, ref.offset, ref.storedLength, () => readChunkOnce(set, reader, ref, pool, into));
}

async function readChunkOnce(
  set: OpenedSet,
  reader: StripeReader,
  ref: ChunkRef,
  pool?: BufferPool,
  into?: Buffer,
): Promise<Buffer> {
  const keys = set.keys!;
  const aad = chunkAad(set.setId, ref.id, ref.flags, ref.plainLength);
  const zstd = (ref.flags & FLAG_ZSTD) !== 0;
  const openLength = Math.max(0, ref.storedLength - SEAL_OVERHEAD);
  // `into` takes the plaintext only where it is exactly the right size; otherwise the length
  // check below fails the chunk.
  const target = into && into.length === ref.plainLength ? into : undefined;
  // The output is taken once the sealed bytes are there: a forged length never sizes it.
  let plain = await reader.withLog(ref.offset, ref.storedLength, (sealed) =>
    openPieces(
      keys.chunkKey,
      sealed,
      aad,
      !zstd && target && openLength === target.length ? target : pool?.take(openLength),
    ),
  );
  if (zstd) {
    const sealedPlain = plain;
    plain = decompress(plain, ref.plainLength, target ?? pool?.take(ref.plainLength));
    pool?.give(sealedPlain);
  }
  if (plain.length !== ref.plainLength || !chunkId(keys.idKey, plain).equals(ref.id)) {
    throw new FerryError("E_CORRUPT", `chunk ${ref.id.toString("hex").slice(0, 16)} does not match its id`, {
      hint: "The set was tampered with",
    });
  }
  return plain;
}
