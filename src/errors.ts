/**
 * Typed errors for ferry. Every error a user can meet carries a stable `code`
 * (listed in the README) and a `hint` that says what to do next. Match on
 * `code` (or `FerryError.is(err, code)`), never on the message text.
 *
 * @example
 * throw new FerryError("E_FOREIGN_DRIVE", "Drive 7 belongs to set 3f2a, expected 9c1d", {
 *   hint: "Set it aside or open set 3f2a instead",
 * });
 */

/** Every error code ferry raises. Keep in sync with the README's "Error codes" table. */
export const ERROR_CODES = {
  E_USAGE: "bad command-line usage or option value",
  E_POLICY: "the parity policy cannot be met by the given drives and bags",
  E_NO_SOURCE: "the source path does not exist or is not a directory",
  E_SOURCE_READ: "a source file could not be read",
  E_DRIVE_FULL: "a drive ran out of space",
  E_DRIVE_IO: "a drive could not be read or written",
  E_DRIVE_IN_USE: "a drive already holds another set or unfinished pack",
  E_NOT_A_DRIVE: "the path holds no ferry drive label",
  E_FOREIGN_DRIVE: "a drive belongs to another set",
  E_DUPLICATE_DRIVE: "two paths hold the same drive of a set",
  E_FORMAT_VERSION: "the on-drive format version is not supported",
  E_CORRUPT: "an on-drive structure failed its checksum or could not be parsed",
  E_SIGNATURE: "a signed manifest or label failed its signature check",
  E_INCOMPLETE_SET: "the set was never finished (pack was interrupted)",
  E_KEY: "no key given or the key does not open this set",
  E_BAD_KEY_FILE: "a key, identity or recipient could not be parsed",
  E_DECRYPT: "a chunk failed authenticated decryption",
  E_UNRECOVERABLE: "too many blocks are missing or damaged to rebuild the data",
  E_UNSAFE_PATH: "an index entry would write outside the target directory",
  E_TARGET: "the unpack target cannot be used",
  E_CATALOG: "the origin catalog is missing, locked or damaged",
  E_S3: "the object store refused a request or kept failing",
  E_INTERNAL: "a bug in ferry",
} as const;

/** A ferry error code. */
export type FerryErrorCode = keyof typeof ERROR_CODES;

/** Options for {@link FerryError}. */
export interface FerryErrorOptions {
  /** What the user should do next, in one sentence. */
  hint?: string;
  /** The underlying error, if any. */
  cause?: unknown;
  /** Extra structured detail for `--json` output. */
  detail?: Record<string, unknown>;
}

/**
 * The one error class ferry throws for conditions a user can act on.
 *
 * @example
 * try { await unpack(opts) } catch (e) {
 *   if (FerryError.is(e, "E_KEY")) console.error("wrong key");
 * }
 */
export class FerryError extends Error {
  readonly code: FerryErrorCode;
  readonly hint: string | undefined;
  readonly detail: Record<string, unknown> | undefined;

  constructor(code: FerryErrorCode, message: string, opts: FerryErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "FerryError";
    this.code = code;
    this.hint = opts.hint;
    this.detail = opts.detail;
  }

  /** True when `err` is a FerryError (by duck type, so it works across module copies) with `code` if given. */
  static is(err: unknown, code?: FerryErrorCode): err is FerryError {
    if (typeof err !== "object" || err === null) return false;
    const e = err as { name?: unknown; code?: unknown };
    if (e.name !== "FerryError" || typeof e.code !== "string") return false;
    return code === undefined || e.code === code;
  }
}
