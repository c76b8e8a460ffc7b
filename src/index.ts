/**
 * ferry's library API. The CLI (src/cli) is a thin layer over what is exported here;
 * tests call these functions directly.
 */
export { ERROR_CODES, FerryError, type FerryErrorCode, type FerryErrorOptions } from "./errors.js";
export * from "./plan/index.js";
