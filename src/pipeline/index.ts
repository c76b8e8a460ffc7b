/** pack, verify and unpack: source → chunk → seal → stripe → drives, and back. */
export { globMatcher } from "./glob.js";
export { identitiesFromFile, keygen } from "./keygen.js";
export type { KeyBundle, Unlock, WrapTo } from "./keys.js";
export { buildLayout, type DriveSpec, parseDriveSpec } from "./layout.js";
export { type OpenedSet, openSet, StripeReader } from "./open_set.js";
export { defaultCatalogPath, type PackEvent, type PackOptions, type PackResult, pack, TOOL } from "./pack.js";
export {
  checkRelPath,
  readIndex,
  type UnpackEvent,
  type UnpackOptions,
  type UnpackResult,
  unpack,
} from "./unpack.js";
export {
  type DriveReport,
  defaultVerifyStatePath,
  type VerifyEvent,
  type VerifyOptions,
  type VerifyReport,
  verify,
} from "./verify.js";
export {
  isS3Url,
  objectKey,
  parseS3Url,
  type S3Location,
  type S3Settings,
} from "../sinks/s3_url.js";
export { parseWorkerSpec, Splitter, type WorkerSpec } from "../sinks/worker.js";
