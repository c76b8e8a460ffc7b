/**
 * A Bloom filter of the chunk ids a set already stores, so that pack asks the catalog only about
 * ids it may have seen: without it every chunk (every small file) cost a SQLite lookup. Chunk ids
 * are keyed BLAKE3 outputs, uniformly random, so four 26-bit slices of the id serve as the four
 * hash functions. 8 MiB of bits: false positives stay under 0.1% up to ~4 million chunks (~4 TB of
 * 1 MiB chunks) and reach ~4% at 10 million; a false positive only costs the lookup it replaced,
 * never a wrong answer.
 *
 * @example
 * const f = new ChunkFilter();
 * f.add(id);
 * if (f.mightHave(id)) catalog.getChunk(set, id);
 */
const BITS = 26;
const MASK = (1 << BITS) - 1;

export class ChunkFilter {
  private readonly words = new Uint32Array(1 << (BITS - 5));

  /** Records `id` (32 bytes). */
  add(id: Uint8Array): void {
    const v = new DataView(id.buffer, id.byteOffset, id.byteLength);
    for (let i = 0; i < 4; i++) {
      const bit = v.getUint32(i * 4, true) & MASK;
      this.words[bit >>> 5]! |= 1 << (bit & 31);
    }
  }

  /** False when `id` was certainly never added. */
  mightHave(id: Uint8Array): boolean {
    const v = new DataView(id.buffer, id.byteOffset, id.byteLength);
    for (let i = 0; i < 4; i++) {
      const bit = v.getUint32(i * 4, true) & MASK;
      if ((this.words[bit >>> 5]! & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }
}
