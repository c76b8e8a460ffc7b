/**
 * Chunking: FastCDC content-defined chunks, chunk ids (keyed BLAKE3) and zstd where it pays.
 * Synchronous kernels, usable inside worker threads.
 *
 * @example
 * import { chunkStream, chunkId, maybeCompress } from "./chunk/index.js";
 * for await (const chunk of chunkStream(fs.createReadStream(path))) {
 *   const id = chunkId(idKey, chunk);
 *   const { data, compressed } = maybeCompress(chunk);
 * }
 */
export {
  CHUNK_ID_BYTES,
  blake3Hash,
  chunkId,
} from "./id.js";
export {
  type CompressOptions,
  DEFAULT_COMPRESS_LEVEL,
  DEFAULT_MIN_SAVING,
  decompress,
  type MaybeCompressed,
  maybeCompress,
  maybeCompressView,
  SAMPLE_BYTES,
  TINY_BYTES,
  sampleSuggestsSaving,
} from "./compress.js";
export {
  type ChunkerOptions,
  type ChunkParams,
  Chunker,
  chunkStream,
  DEFAULT_AVG_SIZE,
  DEFAULT_CHUNK_PARAMS,
  DEFAULT_MAX_SIZE,
  DEFAULT_MIN_SIZE,
  DEFAULT_NORMALIZATION,
  findCut,
  GEAR_SEED_PREFIX,
  GEAR_WINDOW,
  gearTable,
  resolveChunkParams,
} from "./fastcdc.js";
