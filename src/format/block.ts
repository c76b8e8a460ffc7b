import { Blake3Hasher } from "@napi-rs/blake-hash";
import { FerryError } from "../errors.js";
import { BLOCK_HEADER_SIZE, BLOCK_MAGIC, BLOCKS_PER_SEGMENT, SET_ID_LEN } from "./constants.js";

/** What a block header claims about its block. */
export interface BlockHeader {
  setId: Buffer;
  stripe: number;
  shard: number;
  group: number;
  payloadLength: number;
  hash: Buffer;
}

const HASHED = 40;

/**
 * Writes the 72-byte header for `payload` into `out` (at offset 0) and returns the block hash
 * `BLAKE3(header[0..40] || payload)`, which is also stored in the header and in SUMS.
 *
 * @example
 * const hdr = Buffer.alloc(BLOCK_HEADER_SIZE);
 * const hash = writeBlockHeader(hdr, setId, 7, 2, 0, payload);
 */
export function writeBlockHeader(
  out: Buffer,
  setId: Buffer,
  stripe: number,
  shard: number,
  group: number,
  payload: Uint8Array,
): Buffer {
  BLOCK_MAGIC.copy(out, 0);
  setId.copy(out, 4, 0, SET_ID_LEN);
  out.writeBigUInt64LE(BigInt(stripe), 20);
  out.writeUInt16LE(shard, 28);
  out.writeUInt16LE(group, 30);
  out.writeUInt32LE(payload.length, 32);
  out.writeUInt32LE(0, 36);
  const hash = blockHash(out.subarray(0, HASHED), payload);
  hash.copy(out, HASHED);
  return hash;
}

/** BLAKE3-256 over the first 40 header bytes followed by the payload. */
export function blockHash(head40: Uint8Array, payload: Uint8Array): Buffer {
  const h = new Blake3Hasher();
  h.update(Buffer.from(head40.buffer, head40.byteOffset, head40.byteLength));
  h.update(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
  return h.digestBuffer();
}

/**
 * Parses a block header. Returns null when the magic is wrong (an unwritten or
 * overwritten area); never throws on garbage.
 *
 * @example
 * const h = readBlockHeader(record.subarray(0, BLOCK_HEADER_SIZE));
 */
export function readBlockHeader(buf: Buffer): BlockHeader | null {
  if (buf.length < BLOCK_HEADER_SIZE || !buf.subarray(0, 4).equals(BLOCK_MAGIC)) return null;
  const stripe = buf.readBigUInt64LE(20);
  if (stripe > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  return {
    setId: buf.subarray(4, 4 + SET_ID_LEN),
    stripe: Number(stripe),
    shard: buf.readUInt16LE(28),
    group: buf.readUInt16LE(30),
    payloadLength: buf.readUInt32LE(32),
    hash: buf.subarray(HASHED, HASHED + 32),
  };
}

/**
 * Checks one block record (header || payload) against what the reader expects.
 * Returns the reason it is bad, or null when it is good.
 *
 * @example
 * const why = checkBlock(rec, { setId, stripe: 7, shard: 2, group: 0, blockSize, sum });
 */
export function checkBlock(record: Buffer, want: BlockWant): string | null {
  const why = checkBlockHeader(record, want);
  if (why) return why;
  const hash = blockHash(record.subarray(0, HASHED), record.subarray(BLOCK_HEADER_SIZE));
  if (!hash.equals(record.subarray(HASHED, HASHED + 32))) return "block checksum mismatch";
  if (want.sum && !want.sum.equals(hash))
    return "block differs from the one recorded in SUMS (replayed or stale)";
  return null;
}

/** Where a block is expected to be, and (optionally) its SUMS entry. */
export interface BlockWant {
  setId: Buffer;
  stripe: number;
  shard: number;
  group: number;
  blockSize: number;
  sum?: Buffer | undefined;
}

/**
 * The cheap half of {@link checkBlock}: the header is there and names this set, stripe, shard
 * and length. The payload is not hashed, so a reader that uses this alone must authenticate
 * the bytes it uses some other way (unpack: every chunk is AEAD-sealed).
 */
export function checkBlockHeader(record: Buffer, want: BlockWant): string | null {
  const h = readBlockHeader(record);
  if (!h) return "no block header (unwritten or overwritten)";
  if (!h.setId.equals(want.setId)) return "block belongs to another set";
  if (h.stripe !== want.stripe || h.shard !== want.shard || h.group !== want.group) {
    return `block is stripe ${h.stripe} shard ${h.shard}, expected stripe ${want.stripe} shard ${want.shard}`;
  }
  if (h.payloadLength !== want.blockSize || record.length !== BLOCK_HEADER_SIZE + want.blockSize) {
    return "block has the wrong length";
  }
  return null;
}

/** Where block number `n` of a drive lives: segment file name and byte offset. */
export function blockLocation(n: number, blockSize: number): { segment: string; offset: number } {
  const seg = Math.floor(n / BLOCKS_PER_SEGMENT);
  return {
    segment: `${String(seg).padStart(6, "0")}.blk`,
    offset: (n % BLOCKS_PER_SEGMENT) * (BLOCK_HEADER_SIZE + blockSize),
  };
}

/** Validates a set id buffer. */
export function assertSetId(id: Buffer): void {
  if (id.length !== SET_ID_LEN) throw new FerryError("E_INTERNAL", "set id must be 16 bytes");
}
