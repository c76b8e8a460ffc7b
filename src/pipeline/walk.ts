import type { BigIntStats, Dirent } from "node:fs";
import { lstatSync } from "node:fs";
import { readdir } from "node:fs/promises";

/** One thing found under the source root. Paths are raw bytes so any Linux name survives. */
export type WalkItem =
  | { kind: "dir" | "symlink"; rel: Buffer; abs: Buffer; st: BigIntStats }
  /** `st` is null when the walk was asked not to stat regular files (see {@link WalkOptions}). */
  | { kind: "file"; rel: Buffer; abs: Buffer; st: BigIntStats | null }
  | { kind: "skip"; rel: Buffer; abs: Buffer; reason: string };

const SLASH = Buffer.from("/");

function kindOf(st: BigIntStats): "dir" | "file" | "symlink" | string {
  if (st.isDirectory()) return "dir";
  if (st.isFile()) return "file";
  if (st.isSymbolicLink()) return "symlink";
  if (st.isFIFO()) return "fifo";
  if (st.isSocket()) return "socket";
  if (st.isCharacterDevice()) return "character device";
  if (st.isBlockDevice()) return "block device";
  return "unknown file type";
}

/** How {@link walk} looks at what it finds. */
export interface WalkOptions {
  /**
   * lstat regular files too (default true). With false, a name the directory listing types as a
   * regular file comes back with `st: null`, and whoever opens it checks it (one system call less
   * per file, which is most of a walk over millions of small files).
   */
  statFiles?: boolean;
}

/**
 * Walks `root` depth-first in byte order of names (deterministic, so a resumed pack meets
 * files in the same order), yielding directories before their contents. Symlinks are
 * reported, never followed; special files come back as `skip` items. Memory holds one
 * directory listing per level of the current path.
 *
 * @example
 * for await (const item of walk("/data")) console.log(item.kind, item.rel.toString());
 */
export async function* walk(root: string, opts: WalkOptions = {}): AsyncGenerator<WalkItem> {
  const statFiles = opts.statFiles ?? true;
  const rootBuf = Buffer.from(root);
  async function* dir(abs: Buffer, rel: Buffer): AsyncGenerator<WalkItem> {
    let names: Dirent<Buffer>[];
    try {
      names = (await readdir(abs, {
        encoding: "buffer",
        withFileTypes: true,
      })) as unknown as Dirent<Buffer>[];
    } catch (e) {
      yield {
        kind: "skip",
        rel,
        abs,
        reason: `cannot list directory: ${(e as NodeJS.ErrnoException).code ?? e}`,
      };
      return;
    }
    // Sort as if every folder name ended in "/": the depth-first walk then meets paths in
    // plain byte order of the whole path, the order of the index, so the log is laid out in
    // the order unpack reads it.
    const key = (d: Dirent<Buffer>) => {
      const n = d.name as unknown as Buffer;
      return d.isDirectory() ? Buffer.concat([n, SLASH]) : n;
    };
    const sorted = names
      .map((d) => ({ name: d.name as unknown as Buffer, key: key(d), file: d.isFile() }))
      .sort((a, b) => Buffer.compare(a.key, b.key));
    for (const { name, file } of sorted) {
      const childAbs = Buffer.concat([abs, SLASH, name]);
      const childRel = rel.length ? Buffer.concat([rel, SLASH, name]) : name;
      if (file && !statFiles) {
        yield { kind: "file", rel: childRel, abs: childAbs, st: null };
        continue;
      }
      let st: BigIntStats;
      try {
        // Synchronous: a cached lstat takes microseconds, a trip through the thread pool ten
        // times that, and a walk over millions of small files is mostly lstat.
        st = lstatSync(childAbs, { bigint: true });
      } catch (e) {
        yield {
          kind: "skip",
          rel: childRel,
          abs: childAbs,
          reason: `vanished or unreadable: ${(e as NodeJS.ErrnoException).code ?? e}`,
        };
        continue;
      }
      const kind = kindOf(st);
      if (kind === "dir") {
        yield { kind, rel: childRel, abs: childAbs, st };
        yield* dir(childAbs, childRel);
      } else if (kind === "file" || kind === "symlink") {
        yield { kind, rel: childRel, abs: childAbs, st };
      } else {
        yield { kind: "skip", rel: childRel, abs: childAbs, reason: `special file (${kind}) not packed` };
      }
    }
  }
  yield* dir(rootBuf, Buffer.alloc(0));
}
