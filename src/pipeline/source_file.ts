/**
 * The rules pack applies to a source file, shared by the single-thread path (pack.ts) and the
 * worker threads (pack_worker.ts): a file is stored only if it did not change while it was read,
 * it is read at most {@link READ_TRIES} times, and the reasons it is left out read the same.
 *
 * @example
 * if (!unchangedWhileRead(before, after, bytesRead)) retry();
 */
import type { BigIntStats } from "node:fs";

/** How often a file that keeps changing is read before it is reported and left out. */
export const READ_TRIES = 3;

/** Why a file that changed on every try is left out. */
export const CHANGED_REASON = `changed while being read (${READ_TRIES} tries); pack it again when it is stable`;

/** Size, mtime and ctime the same before and after the read, and every byte of it read. */
export function unchangedWhileRead(before: BigIntStats, after: BigIntStats, bytesRead: number): boolean {
  return (
    before.size === after.size &&
    before.mtimeNs === after.mtimeNs &&
    before.ctimeNs === after.ctimeNs &&
    BigInt(bytesRead) === after.size
  );
}
