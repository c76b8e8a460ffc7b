/**
 * The rules pack applies to a source file, shared by the single-thread path (pack.ts) and the
 * worker threads (pack_worker.ts): a file is stored only if it did not change while it was read,
 * it is read at most {@link READ_TRIES} times, it is opened the same way, and the reasons it is
 * left out read the same.
 *
 * @example
 * if (!unchangedWhileRead(before, after, bytesRead)) retry();
 */
import { type BigIntStats, constants as fsc, openSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";

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

/** Why a name the walk saw as a regular file is left out when it is something else at open. */
export const NOT_REGULAR_REASON = "no longer a regular file";

const OPEN_FLAGS = fsc.O_RDONLY | fsc.O_NOFOLLOW;

/**
 * Opens a source file for reading, by the same rule on both paths. O_NONBLOCK first: should a
 * FIFO have replaced the file since the walk, open must not wait for a writer (fstat then finds
 * it is no regular file: {@link NOT_REGULAR_REASON}). A regular file under a write lease (a Samba
 * oplock) answers EAGAIN instead of waiting for the lease to break; that one is opened again,
 * waiting as a plain open does.
 */
export function openSourceSync(path: Buffer): number {
  try {
    return openSync(path, OPEN_FLAGS | fsc.O_NONBLOCK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
    return openSync(path, OPEN_FLAGS);
  }
}

/** {@link openSourceSync} for the event loop: a FileHandle, through the thread pool. */
export function openSource(path: Buffer): Promise<FileHandle> {
  return open(path, OPEN_FLAGS | fsc.O_NONBLOCK).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== "EAGAIN") throw e;
    return open(path, OPEN_FLAGS);
  });
}
