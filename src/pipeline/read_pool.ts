/**
 * A pool of plaintext buffers for unpack: chunk plaintext is decrypted into a reused buffer and
 * given back once written, so a run does not fault in fresh pages (and feed the garbage
 * collector) for every chunk. Bounded: what does not fit is left to the garbage collector.
 */

const MIN_CLASS = 64 * 1024;

/**
 * Buffers by power-of-two capacity. {@link take} lends a view of the requested length;
 * {@link give} takes such a view back (anything else is ignored, so callers may hand back
 * whatever they got from a mix of pooled and fresh sources).
 *
 * @example
 * const pool = new BufferPool(64 << 20, 16 << 20);
 * const b = pool.take(1000); // ... use b ...
 * pool.give(b);
 */
export class BufferPool {
  private readonly free = new Map<number, ArrayBuffer[]>();
  private readonly mine = new WeakSet<ArrayBuffer>();
  /** Buffers lent and not given back, so that one given twice is refused. */
  private readonly lent = new WeakSet<ArrayBuffer>();
  private freeBytes = 0;

  /**
   * @param maxFreeBytes most bytes kept while not lent
   * @param maxBuffer largest buffer pooled; larger requests get a fresh buffer
   */
  constructor(
    private readonly maxFreeBytes: number,
    private readonly maxBuffer: number,
  ) {}

  /** A buffer of exactly `length` bytes (uninitialised). */
  take(length: number): Buffer {
    if (length > this.maxBuffer) return Buffer.allocUnsafeSlow(length);
    let cap = MIN_CLASS;
    while (cap < length) cap *= 2;
    let ab = this.free.get(cap)?.pop();
    if (ab) this.freeBytes -= cap;
    else {
      ab = new ArrayBuffer(cap);
      this.mine.add(ab);
    }
    this.lent.add(ab);
    return Buffer.from(ab, 0, length);
  }

  /** Gives back a buffer from {@link take}; the caller must not use it afterwards. */
  give(b: Buffer): void {
    const ab = b.buffer as ArrayBuffer;
    if (!this.mine.has(ab) || !this.lent.has(ab)) return;
    this.lent.delete(ab);
    const cap = ab.byteLength;
    if (this.freeBytes + cap > this.maxFreeBytes) return;
    let list = this.free.get(cap);
    if (!list) {
      list = [];
      this.free.set(cap, list);
    }
    list.push(ab);
    this.freeBytes += cap;
  }
}
