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
  /** Most files open at once, to begin with (at least 1). */
  maxOpen: number;
  /**
   * How far `maxOpen` may grow (default: `maxOpen`, no growth). It doubles each time a file
   * opens whose first chunk the reading has already passed in the log: a sign that more files
   * were packed side by side than are open (pack runs one file per worker thread, and a
   * machine with 64 cores interleaves 64).
   */
  maxOpenCap?: number;
  /**
   * How far past the log position of the earliest pending chunk a file may start and still be
   * opened now (bytes), with the first `maxOpen` files open; it grows with the limit. Files that
   * start further on wait until the open ones get near them.
   */
  lookahead: number;
  /**
   * How far behind the furthest chunk read a file may start without raising the limit
   * (bytes; default 0): what the reader still holds in its cache costs nothing to read again.
   */
  growSlack?: number;
  /**
   * How far behind it a file may start and still raise the limit (bytes, with the first
   * `maxOpen` files open; it grows with the limit; default: no bound). Files packed side by side
   * start within a few MiB per file of each other; a file whose data lies much further back was
   * deduplicated against older data, which has to be read again whatever is open.
   */
  growWindow?: number;
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
  private limit: number;
  private readonly first: number;
  private readonly cap: number;
  private readonly lookahead: number;
  private readonly slack: number;
  private readonly window: number;
  /** Log offset of the furthest chunk handed out by {@link pick} (-1: none yet). */
  private high = -1;
  /** How many times the limit on open files grew (see {@link LogOrderOptions.maxOpenCap}). */
  grown = 0;

  constructor(opts: LogOrderOptions) {
    this.limit = Math.max(1, Math.floor(opts.maxOpen));
    this.first = this.limit;
    this.cap = Math.max(this.limit, Math.floor(opts.maxOpenCap ?? this.limit));
    this.lookahead = Math.max(0, opts.lookahead);
    this.slack = Math.max(0, opts.growSlack ?? 0);
    this.window = opts.growWindow ?? Number.POSITIVE_INFINITY;
  }

  /** Most files open at once, now. */
  get maxOpen(): number {
    return this.limit;
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
    if (this.all.length >= this.limit) return false;
    const low = this.lowWater();
    const ahead = (this.lookahead * this.limit) / this.first;
    return low === null || chunks.length === 0 || chunks[0]!.offset <= low + ahead;
  }

  /**
   * Opens a file; its lane stays open until {@link close}. A file that starts more than
   * `growSlack` (and at most `growWindow`) before the furthest chunk read so far, and goes on
   * past it, raises the limit (up to `maxOpenCap`): it was packed side by side with the files
   * being read, and that stretch of the log was read without it.
   */
  open(file: F, chunks: readonly ChunkRef[]): Lane<F> {
    if (chunks.length && this.limit < this.cap) {
      const behind = this.high < 0 ? 0 : this.high - chunks[0]!.offset;
      // Packed side by side with what is being read, the file also goes on past it; a copy of
      // older data (deduplicated) lies wholly behind.
      const goesOn = chunks[chunks.length - 1]!.offset > this.high;
      if (goesOn && behind > this.slack && behind <= (this.window * this.limit) / this.first) {
        this.limit = Math.min(this.cap, this.limit * 2);
        this.grown++;
      }
    }
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
    const l = this.earliest();
    if (l) this.high = Math.max(this.high, l.chunks[l.next]!.offset);
    return l;
  }

  /** The open lane whose next chunk lies first in the log. */
  private earliest(): Lane<F> | null {
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
    const l = this.earliest();
    return l ? l.chunks[l.next]!.offset : null;
  }
}
