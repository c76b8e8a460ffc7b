/**
 * Reed-Solomon erasure coding over GF(2^8) (polynomial 0x11D, Cauchy parity matrix).
 * Pure computation, no I/O. The construction is part of ferry's on-drive format and is
 * specified in docs/ERASURE.md.
 *
 * @example
 * import { ReedSolomon } from "./erasure/index.js";
 * const rs = new ReedSolomon(9, 3);
 * rs.encode(shards);
 * rs.reconstruct(shardsWithNulls);
 */

export { GF_GENERATOR, GF_POLYNOMIAL, gfDiv, gfInv, gfMul } from "./galois.js";
export { DECODE_CACHE_SIZE, MAX_TOTAL_SHARDS, type ReconstructOptions, ReedSolomon } from "./reedsolomon.js";
