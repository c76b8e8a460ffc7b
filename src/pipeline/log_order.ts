/**
 * Reading several files' chunks in the order they lie in the data log.
 *
 * Pack's worker threads chunk several files at once, and the main thread appends their output as
 * it arrives: two big files packed side by side lie in the log as alternating runs of a few MiB
 * each. Read file by file, every stripe of such a stretch is read twice (once for each file),
 * since the stripe cache cannot hold a whole file's span until the other file needs it; on the
 * 3 GiB bench set unpack read 6.2 GB from the drives for 3.2 GB of data. Kept open side by side and
 * advanced always at the chunk that lies first in the log, the files are read in one forward pass.
 */
import type { ChunkRef } from "../format/index.js";

/** One file being read: its chunks, in file order, and how many are done. */
export interface Lane<F> {
  readonly file: F;
  readonly chunks: readonly ChunkRef[];
  /** Index of the next chunk to read. */
  next: number;
}

/** Options of {@link LogOrder}. */
export interface LogOrderOptions {
  /** Most files open at once (at least 1). */
  maxOpen: number;
  /**
   * How far past the log position of the earliest pending chunk a file may start and still be
   * opened now (bytes). Files that start further on wait until the open ones get near them.
   */
  lookahead: number;
}

/**
 * The files open for reading, and which chunk to read next: always the one that lies first in
 * the log. A file's own chunks are taken in file order (hashes and writes need that); between
 * files, the log decides. A deduplicated chunk that lies far back is simply taken first.
 *
 * @example
 * const order = new LogOrder<Entry>({ maxOpen: 16, lookahead: 64 << 20 });
 * for (const e of entries) {
 *   while (!order.canOpen(e.chunks)) await readOne(order.pick()!); // takes lane.chunks[lane.next++]
 *   order.open(e, e.chunks);
 * }
 * for (let l = order.pick(); l; l = order.pick()) await readOne(l);
 */
export class LogOrder<F> {
  private readonly all: Lane<F>[] = [];
  private readonly maxOpen: number;
  private readonly lookahead: number;

  constructor(opts: LogOrderOptions) {
    this.maxOpen = Math.max(1, Math.floor(opts.maxOpen));
    this.lookahead = Math.max(0, opts.lookahead);
  }

  /** Files open (with chunks left to read or not yet closed). */
  get size(): number {
    return this.all.length;
  }

  /** The open files, oldest first. */
  get lanes(): readonly Lane<F>[] {
    return this.all;
  }

  /**
   * Whether a file with these chunks may be opened now: there is room, and it starts no further
   * than `lookahead` past the earliest pending chunk of the open files (or none is open).
   */
  canOpen(chunks: readonly ChunkRef[]): boolean {
    if (this.all.length >= this.maxOpen) return false;
    const low = this.lowWater();
    return low === null || chunks.length === 0 || chunks[0]!.offset <= low + this.lookahead;
  }

  /** Opens a file; its lane stays open until {@link close}. */
  open(file: F, chunks: readonly ChunkRef[]): Lane<F> {
    const lane: Lane<F> = { file, chunks, next: 0 };
    this.all.push(lane);
    return lane;
  }

  /** Closes a lane (done, or abandoned). */
  close(lane: Lane<F>): void {
    const i = this.all.indexOf(lane);
    if (i >= 0) this.all.splice(i, 1);
  }

  /**
   * The open lane whose next chunk lies first in the log (ties: the file opened first), or null
   * when no open lane has a chunk left.
   */
  pick(): Lane<F> | null {
    let best: Lane<F> | null = null;
    let bestAt = Number.POSITIVE_INFINITY;
    for (const l of this.all) {
      const c = l.chunks[l.next];
      if (c !== undefined && c.offset < bestAt) {
        best = l;
        bestAt = c.offset;
      }
    }
    return best;
  }

  /** Log offset of the earliest pending chunk of the open files (null: none pending). */
  lowWater(): number | null {
    const l = this.pick();
    return l ? l.chunks[l.next]!.offset : null;
  }
}
