/** On-drive format constants (docs/FORMAT.md, version 1). */

/** The only on-drive format version this build reads and writes. */
export const FORMAT_VERSION = 1;

/** Folder on each drive that holds every ferry file. */
export const DRIVE_DIR = "ferry";
/** Volume header file, inside DRIVE_DIR. */
export const LABEL_FILE = "LABEL";
/** Signed manifest file, inside DRIVE_DIR; present only when the set is complete. */
export const MANIFEST_FILE = "MANIFEST";
/** Replica of the sealed index pieces, inside DRIVE_DIR, on some drives (see manifest). */
export const INDEX_FILE = "INDEX";
/** Per-drive list of block hashes, inside DRIVE_DIR. */
export const SUMS_FILE = "SUMS";
/** Folder of wrapped key files, inside DRIVE_DIR. */
export const KEYS_DIR = "keys";
/** Folder of block segment files, inside DRIVE_DIR. */
export const BLOCKS_DIR = "blocks";

/** Magic of a signed envelope (label, manifest). */
export const ENVELOPE_MAGIC = Buffer.from("FERRYENV", "latin1");
/** Envelope kinds. */
export const KIND_LABEL = 1;
export const KIND_MANIFEST = 2;

/** Magic at the start of every block record. */
export const BLOCK_MAGIC = Buffer.from("FBK1", "latin1");
/** Size of the header in front of each block payload. */
export const BLOCK_HEADER_SIZE = 72;
/** Blocks per segment file (`blocks/000000.blk`, …). */
export const BLOCKS_PER_SEGMENT = 1024;

/** Length of a set id in bytes. */
export const SET_ID_LEN = 16;
/** Length of a chunk id (keyed BLAKE3-256) in bytes. */
export const CHUNK_ID_LEN = 32;

/** Chunk flag: payload is zstd-compressed. */
export const FLAG_ZSTD = 1;

/** Domain-separation prefixes of the AEAD associated data. */
export const AAD_CHUNK = Buffer.from("ferry-chunk-v1\0", "latin1");
export const AAD_INDEX = Buffer.from("ferry-index-v1\0", "latin1");

/** Largest plaintext of one index piece. */
export const INDEX_PIECE_SIZE = 1 << 20;

/** Magic at the start of the decrypted index stream. */
export const INDEX_MAGIC = Buffer.from("FIDX", "latin1");
