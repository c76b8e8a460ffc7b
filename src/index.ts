/**
 * ferry's library API. The CLI (src/cli) is a thin layer over what is exported here;
 * tests call these functions directly.
 *
 * @example
 * import { keygen, pack, verify, unpack } from "ferry";
 * const { identity, recipient } = keygen();
 * await pack({ source: "data", drives: [{ bag: "a", path: "/mnt/1" }, { bag: "b", path: "/mnt/2" }], tolerate: "bag", recipients: [recipient] });
 * const report = await verify({ drives: ["/mnt/1"], full: true });
 * await unpack({ drives: ["/mnt/1"], to: "restored", unlock: { identities: [identity] } });
 */
export { ERROR_CODES, FerryError, type FerryErrorCode, type FerryErrorOptions } from "./errors.js";
export type { LabelBody, ManifestBody, PackStats, SetLayout } from "./format/index.js";
export { native, tuneAllocator } from "./native/index.js";
export * from "./pipeline/index.js";
export * from "./plan/index.js";
export * from "./scan/index.js";
