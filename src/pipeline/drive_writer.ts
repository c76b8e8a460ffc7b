import { constants as fsc } from "node:fs";
import { type FileHandle, mkdir, open, readdir, rename, rm, statfs, truncate } from "node:fs/promises";
import { join } from "node:path";
import { FerryError } from "../errors.js";
import {
  BLOCK_HEADER_SIZE,
  BLOCKS_DIR,
  BLOCKS_PER_SEGMENT,
  blockLocation,
  DRIVE_DIR,
  INDEX_FILE,
  KEYS_DIR,
  SUMS_FILE,
} from "../format/index.js";
import type { DriveSlot } from "../format/layout.js";
import { DIRECT_ALIGN, directWrites } from "../native/index.js";

/** A block waiting in a {@link DriveWriter}'s queue. */
interface QueuedBlock {
  n: number;
  record: Buffer;
  hash: Buffer;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** Most blocks written to a drive in one call. */
const MAX_RUN = 8;

/** Writes `bufs` one after another from `pos`, going on after short writes. */
async function writeAll(fh: FileHandle, bufs: Buffer[], pos: number): Promise<void> {
  let rest = bufs;
  while (rest.length > 0) {
    const { bytesWritten } = await fh.writev(rest, pos);
    if (bytesWritten <= 0) throw Object.assign(new Error("the drive took no more bytes"), { code: "ENOSPC" });
    pos += bytesWritten;
    let left = bytesWritten;
    while (rest.length > 0 && left >= rest[0]!.length) left -= rest.shift()!.length;
    if (left > 0) rest = [rest[0]!.subarray(left), ...rest.slice(1)];
  }
}

/** Maps a low-level write failure on a drive to a typed error. */
export function driveError(e: unknown, path: string, bag: string, what: string): FerryError {
  if (FerryError.is(e)) return e;
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === "ENOSPC" || code === "EDQUOT") {
    return new FerryError("E_DRIVE_FULL", `drive ${path} (bag ${bag}) is full while ${what}`, {
      hint: "Free space on it, or copy its ferry/ folder to a larger drive mounted at the same path, then rerun the same command to resume",
      cause: e,
    });
  }
  return new FerryError(
    "E_DRIVE_IO",
    `drive ${path} (bag ${bag}): ${what} failed: ${(e as Error)?.message ?? e}`,
    {
      hint: "Check that the drive is mounted and writable, then rerun the same command to resume",
      cause: e,
    },
  );
}

/**
 * Writes one drive: block segment files, the SUMS list, and small atomic files
 * (label, keys, manifest). One instance per drive; calls for one drive are serialized
 * by the caller, different drives run in parallel.
 *
 * @example
 * const w = new DriveWriter("/mnt/a", slot, 1 << 20, true);
 * await w.prepare();
 * await w.writeBlock(0, header, payload, hash);
 */
export class DriveWriter {
  readonly root: string;
  private seg: { n: number; fh: FileHandle } | null = null;
  private sums: FileHandle | null = null;
  private dirty = new Set<FileHandle>();
  /** Folders that gained a file since the last sync (a new segment, SUMS): fsynced too. */
  private dirtyDirs = new Set<string>();
  blocks = 0;

  /**
   * Whether block segments are written with O_DIRECT: asked for, and possible (see
   * {@link directWrites}; a record is a whole number of {@link DIRECT_ALIGN} units, so every record
   * starts aligned in its segment).
   */
  direct: boolean;

  constructor(
    readonly path: string,
    readonly slot: DriveSlot,
    readonly blockSize: number,
    readonly fsync: boolean,
    direct = false,
  ) {
    this.root = join(path, DRIVE_DIR);
    this.direct = direct && directWrites() && (BLOCK_HEADER_SIZE + blockSize) % DIRECT_ALIGN === 0;
  }

  private fail(e: unknown, what: string): never {
    throw driveError(e, this.path, this.slot.bag, what);
  }

  /** Creates the drive's folders. */
  async prepare(): Promise<void> {
    try {
      await mkdir(join(this.root, BLOCKS_DIR), { recursive: true });
      await mkdir(join(this.root, KEYS_DIR), { recursive: true });
    } catch (e) {
      this.fail(e, "creating folders");
    }
  }

  /** Free bytes on the drive's filesystem. */
  async freeBytes(): Promise<number> {
    try {
      const s = await statfs(this.path);
      return Number(s.bavail) * Number(s.bsize);
    } catch (e) {
      this.fail(e, "reading free space");
    }
  }

  /** Writes `name` (relative to ferry/) atomically: temp file, fsync, rename, fsync folder. */
  async writeFileAtomic(name: string, data: Uint8Array): Promise<void> {
    const final = join(this.root, name);
    const tmp = `${final}.tmp`;
    try {
      const fh = await open(tmp, "w", 0o644);
      try {
        await fh.writeFile(data);
        if (this.fsync) await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, final);
      if (this.fsync) await syncDir(join(final, ".."));
    } catch (e) {
      this.fail(e, `writing ${name}`);
    }
  }

  /**
   * Writes block number `n` (`record` = header ‖ payload, not to be changed until this resolves)
   * and its SUMS entry. Calls may overlap: blocks are queued and written in the order given, and
   * blocks waiting together that follow one another in a segment go to the drive in one call
   * (fewer, larger writes, which is what O_DIRECT wants). After a failure every queued and later
   * block fails with the same error. With {@link direct} on, `record` must start on a
   * {@link DIRECT_ALIGN} boundary.
   */
  writeBlock(n: number, record: Buffer, hash: Buffer): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ n, record, hash, resolve, reject });
      if (!this.pumping) void this.pump();
    });
  }

  private queue: QueuedBlock[] = [];
  private pumping = false;
  private failed: FerryError | null = null;

  private async pump(): Promise<void> {
    this.pumping = true;
    while (this.queue.length > 0) {
      const run = this.takeRun();
      try {
        await this.writeRun(run);
      } catch (e) {
        const err = driveError(e, this.path, this.slot.bag, `writing block ${run[0]!.n}`);
        this.failed = err;
        for (const b of run) b.reject(err);
        for (const b of this.queue.splice(0)) b.reject(err);
        break;
      }
      for (const b of run) b.resolve();
    }
    this.pumping = false;
  }

  /** The longest run of queued blocks that follow one another in one segment (at most MAX_RUN). */
  private takeRun(): QueuedBlock[] {
    const first = this.queue[0]!;
    const seg = Math.floor(first.n / BLOCKS_PER_SEGMENT);
    let len = 1;
    while (
      len < this.queue.length &&
      len < MAX_RUN &&
      this.queue[len]!.n === first.n + len &&
      Math.floor(this.queue[len]!.n / BLOCKS_PER_SEGMENT) === seg
    )
      len++;
    return this.queue.splice(0, len);
  }

  private async writeRun(run: QueuedBlock[]): Promise<void> {
    const n = run[0]!.n;
    const loc = blockLocation(n, this.blockSize);
    const segNo = Math.floor(n / BLOCKS_PER_SEGMENT);
    if (!this.seg || this.seg.n !== segNo) {
      if (this.seg) {
        if (this.fsync) await this.seg.fh.sync();
        this.dirty.delete(this.seg.fh);
        await this.seg.fh.close();
        this.seg = null;
      }
      this.seg = { n: segNo, fh: await this.openSegment(loc.segment) };
      this.dirtyDirs.add(join(this.root, BLOCKS_DIR));
    }
    const fh = this.seg.fh;
    await writeAll(
      fh,
      run.map((b) => b.record),
      loc.offset,
    );
    this.dirty.add(fh);
    for (const b of run) {
      // SUMS entries are gathered and written 256 at a time (and at every sync): one small
      // write per block per drive was a third of the writes pack issued.
      if (this.sumsCount > 0 && b.n !== this.sumsFirst + this.sumsCount) await this.flushSums();
      if (this.sumsCount === 0) this.sumsFirst = b.n;
      b.hash.copy(this.sumsBuf, this.sumsCount * 32, 0, 32);
      this.sumsCount++;
      if (this.sumsCount * 32 === this.sumsBuf.length) await this.flushSums();
      if (b.n + 1 > this.blocks) this.blocks = b.n + 1;
    }
  }

  /**
   * Opens a block segment for writing, with O_DIRECT when {@link direct} is on: the records go from
   * ferry's buffers to the drive without a copy into the page cache (which was the largest single
   * cost of pack in the kernel) and without a flood of dirty pages that fsync must then write.
   * A filesystem that refuses O_DIRECT (EINVAL: tmpfs, some FUSE mounts) turns it off for the drive.
   */
  private async openSegment(name: string): Promise<FileHandle> {
    const path = join(this.root, BLOCKS_DIR, name);
    if (this.direct) {
      try {
        return await open(path, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_DIRECT, 0o644);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EINVAL") throw e;
        this.direct = false;
      }
    }
    return open(path, fsc.O_WRONLY | fsc.O_CREAT, 0o644);
  }

  private readonly sumsBuf = Buffer.alloc(256 * 32);
  private sumsFirst = 0;
  private sumsCount = 0;

  /** Writes the gathered SUMS entries. */
  private async flushSums(): Promise<void> {
    if (this.sumsCount === 0) return;
    // Take the entries first: blocks written while this write is in flight gather anew.
    const first = this.sumsFirst;
    const data = Buffer.from(this.sumsBuf.subarray(0, this.sumsCount * 32));
    this.sumsCount = 0;
    try {
      if (!this.sums) {
        this.sums = await open(join(this.root, SUMS_FILE), fsc.O_WRONLY | fsc.O_CREAT, 0o644);
        this.dirtyDirs.add(this.root);
      }
      await this.sums.write(data, 0, data.length, first * 32);
      this.dirty.add(this.sums);
    } catch (e) {
      this.fail(e, `writing SUMS entries from block ${first}`);
    }
  }

  private indexFh: FileHandle | null = null;
  private indexPos = 0;

  /** Starts (or restarts) this drive's replica of the sealed index, `INDEX.tmp`. */
  async beginIndexReplica(): Promise<void> {
    try {
      this.indexFh = await open(join(this.root, `${INDEX_FILE}.tmp`), "w", 0o644);
      this.indexPos = 0;
    } catch (e) {
      this.fail(e, "starting the index replica");
    }
  }

  /** Appends one sealed index piece to the replica. */
  async appendIndexPiece(sealed: Buffer): Promise<void> {
    try {
      await this.indexFh!.write(sealed, 0, sealed.length, this.indexPos);
      this.indexPos += sealed.length;
    } catch (e) {
      this.fail(e, "writing the index replica");
    }
  }

  /** Makes the replica durable and gives it its final name. */
  async endIndexReplica(): Promise<void> {
    try {
      if (this.fsync) await this.indexFh!.sync();
      await this.indexFh!.close();
      this.indexFh = null;
      await rename(join(this.root, `${INDEX_FILE}.tmp`), join(this.root, INDEX_FILE));
    } catch (e) {
      this.fail(e, "finishing the index replica");
    }
  }

  /** Makes every written block durable. */
  async sync(): Promise<void> {
    await this.flushSums();
    if (!this.fsync) return;
    // What was written before this call is made durable; files written meanwhile (pack goes on
    // during a checkpoint) are marked dirty again and synced by the next call.
    const files = [...this.dirty];
    const dirs = [...this.dirtyDirs];
    this.dirty.clear();
    this.dirtyDirs.clear();
    try {
      for (const fh of files) {
        try {
          await fh.sync();
        } catch (e) {
          // A segment closed meanwhile was fsynced before it was closed.
          if (fh.fd !== -1) throw e;
        }
      }
      for (const d of dirs) await syncDir(d);
    } catch (e) {
      for (const fh of files) if (fh.fd !== -1) this.dirty.add(fh);
      for (const d of dirs) this.dirtyDirs.add(d);
      this.fail(e, "syncing");
    }
  }

  /** Cuts the drive back to its first `n` blocks (resume after a crash). */
  async truncateTo(n: number): Promise<void> {
    await this.closeFiles();
    const dir = join(this.root, BLOCKS_DIR);
    const rec = BLOCK_HEADER_SIZE + this.blockSize;
    try {
      const names = (await readdir(dir)).filter((f) => /^\d{6}\.blk$/.test(f));
      for (const f of names) {
        const seg = Number(f.slice(0, 6));
        const first = seg * BLOCKS_PER_SEGMENT;
        if (first >= n) await rm(join(dir, f));
        else if (first + BLOCKS_PER_SEGMENT > n) await truncate(join(dir, f), (n - first) * rec);
      }
      for (const f of await readdir(dir)) if (f.endsWith(".tmp")) await rm(join(dir, f));
      const sums = join(this.root, SUMS_FILE);
      await open(sums, fsc.O_WRONLY | fsc.O_CREAT, 0o644).then((fh) => fh.close());
      await truncate(sums, n * 32);
      this.blocks = n;
    } catch (e) {
      this.fail(e, "truncating after an interrupted run");
    }
  }

  private async closeFiles(): Promise<void> {
    this.sumsCount = 0; // close() flushed them (sync); after a failure they are not durable anyway
    if (this.seg) await this.seg.fh.close();
    if (this.sums) await this.sums.close();
    this.seg = null;
    this.sums = null;
    this.dirty.clear();
  }

  /** Syncs and closes open files. */
  async close(): Promise<void> {
    try {
      await this.sync();
    } finally {
      await this.closeFiles();
    }
  }
}

/** fsyncs a directory so that renames in it are durable. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, fsc.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
