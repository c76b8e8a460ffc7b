/**
 * Staging of restored bytes for O_DIRECT file writes: chunk plaintext is decrypted straight
 * into page-aligned buffers, and only whole 4 KiB units at 4 KiB-aligned file offsets go to the
 * kernel, which moves them to the drive without a page-cache copy. The last, partial unit is
 * left to the caller (written through the page cache).
 */
import { allocAligned, DIRECT_ALIGN } from "../native/index.js";

/**
 * Page-aligned buffers in power-of-two sizes, lent and given back (a view of one counts as the
 * buffer). Bounded: what does not fit under `maxFreeBytes` is left to the garbage collector.
 *
 * @example
 * const pool = new AlignedPool(64 << 10, 8 << 20, 64 << 20);
 * const b = pool.take(300_000); // 512 KiB ... write it with O_DIRECT ...
 * pool.give(b.subarray(0, 4096));
 */
export class AlignedPool {
  private readonly free = new Map<number, Buffer[]>();
  private freeBytes = 0;
  /** The whole buffer of each one lent, by its memory. */
  private readonly lent = new WeakMap<ArrayBufferLike, Buffer>();

  /**
   * @param minSize smallest buffer (a power of two, at least {@link DIRECT_ALIGN})
   * @param maxSize largest buffer (a power-of-two multiple of `minSize`)
   * @param maxFreeBytes most bytes kept while not lent
   */
  constructor(
    private readonly minSize: number,
    readonly maxSize: number,
    private readonly maxFreeBytes: number,
  ) {}

  /**
   * A page-aligned buffer of the smallest size that holds `want` bytes, or of `maxSize` (content
   * undefined). When none of that size is free, a larger free one is lent rather than a new one
   * allocated: when the sizes asked for shift (unpack gives each open file a smaller share as more
   * open), a pool full of the old size would otherwise allocate and drop a buffer per request
   * (measured: peak RSS 203 → 317 MB).
   */
  take(want: number): Buffer {
    let cap = this.minSize;
    while (cap < want && cap < this.maxSize) cap *= 2;
    let b = this.free.get(cap)?.pop();
    for (let c = cap * 2; !b && c <= this.maxSize; c *= 2) b = this.free.get(c)?.pop();
    if (b) this.freeBytes -= b.length;
    else b = allocAligned(cap);
    this.lent.set(b.buffer, b);
    return b;
  }

  /** Gives back a buffer from {@link take}, or any view of one; anything else is ignored. */
  give(view: Buffer): void {
    const b = this.lent.get(view.buffer);
    if (!b) return;
    this.lent.delete(view.buffer);
    if (this.freeBytes + b.length > this.maxFreeBytes) return;
    let list = this.free.get(b.length);
    if (!list) {
      list = [];
      this.free.set(b.length, list);
    }
    list.push(b);
    this.freeBytes += b.length;
  }
}

/**
 * One file's restored bytes on their way to an O_DIRECT file descriptor. {@link reserve} hands
 * out the place for the next chunk's plaintext, {@link commit} takes it; whole aligned units
 * are handed to `push` (buffer, file offset) as a staging buffer fills, and {@link finish}
 * pushes the last whole units and returns the partial one. Staging buffers are sized to what is
 * left of the file (`expected` bytes in all), up to `cap`.
 *
 * @example
 * const s = new Stager(pool, (b, pos) => writer.push(b, pos), entry.size);
 * const into = s.reserve(plainLength); // decrypt into it, then:
 * s.commit(plainLength);
 * const tail = s.finish(); // write it at s.length - tail.length without O_DIRECT
 */
export class Stager {
  private buf: Buffer | null = null;
  private fill = 0;
  /** File offset of buf[0]. */
  private base = 0;

  constructor(
    private readonly pool: AlignedPool,
    private readonly push: (b: Buffer, pos: number) => void,
    private readonly expected: number,
    /**
     * Largest buffer taken for the rest of the file (default: the pool's largest); a chunk
     * bigger than that still gets a buffer that holds it, up to the pool's largest.
     */
    private readonly cap = pool.maxSize,
  ) {}

  /** Bytes staged so far (the file's length once finished). */
  get length(): number {
    return this.base + this.fill;
  }

  /**
   * A view where the next `n` bytes go, or null when they do not fit in one staging buffer
   * (then pass them to {@link append}).
   */
  reserve(n: number): Buffer | null {
    if (this.buf === null) this.start(n);
    else if (this.fill + n > this.buf.length) this.flush(n);
    const b = this.buf!;
    if (this.fill + n > b.length) return null;
    return b.subarray(this.fill, this.fill + n);
  }

  /** Takes the `n` bytes written into the view {@link reserve} returned. */
  commit(n: number): void {
    this.fill += n;
  }

  /** Copies `data` in (for pieces larger than a staging buffer). */
  append(data: Buffer): void {
    for (let at = 0; at < data.length; ) {
      if (this.buf === null) this.start(data.length - at);
      else if (this.fill === this.buf.length) this.flush(data.length - at);
      const n = data.copy(this.buf!, this.fill, at);
      this.fill += n;
      at += n;
    }
  }

  /**
   * Pushes the whole units left and returns a copy of the bytes after them (fewer than
   * {@link DIRECT_ALIGN}; empty when the length is a multiple). Nothing may be staged afterwards.
   */
  finish(): Buffer {
    const b = this.buf;
    this.buf = null;
    if (b === null) return Buffer.alloc(0);
    const whole = Math.floor(this.fill / DIRECT_ALIGN) * DIRECT_ALIGN;
    const tail = Buffer.from(b.subarray(whole, this.fill));
    if (whole > 0) this.push(b.subarray(0, whole), this.base);
    else this.pool.give(b);
    return tail;
  }

  /** Gives the staging buffer back unwritten (the file is abandoned). */
  discard(): void {
    if (this.buf) this.pool.give(this.buf);
    this.buf = null;
  }

  private start(need: number): void {
    this.buf = this.pool.take(Math.max(Math.min(this.cap, this.expected - this.base), need));
    this.fill = 0;
  }

  /**
   * Pushes the whole units staged and moves the partial one to a fresh buffer with room for
   * `need` more bytes where the pool allows.
   */
  private flush(need: number): void {
    const old = this.buf!;
    const whole = Math.floor(this.fill / DIRECT_ALIGN) * DIRECT_ALIGN;
    if (whole === 0 && old.length === this.pool.maxSize) return;
    const carry = this.fill - whole;
    const next = this.pool.take(
      Math.max(Math.min(this.cap, this.expected - this.base - whole), carry + need),
    );
    old.copy(next, 0, whole, this.fill);
    if (whole > 0) this.push(old.subarray(0, whole), this.base);
    else this.pool.give(old);
    this.base += whole;
    this.buf = next;
    this.fill = carry;
  }
}
