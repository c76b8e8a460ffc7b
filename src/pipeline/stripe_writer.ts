import { ReedSolomon } from "../erasure/index.js";
import { FerryError } from "../errors.js";
import { BLOCK_HEADER_SIZE, type SetLayout, stripeDataSize, writeBlockHeader } from "../format/index.js";
import type { DriveWriter } from "./drive_writer.js";

/**
 * Appends sealed records to the set's data log and turns every full stripe into k data +
 * m parity blocks, one per drive of the stripe's group, written to all drives in parallel.
 * The log position only ever grows; a stripe is never rewritten once durable.
 *
 * @example
 * const log = new StripeWriter(layout, setId, writers, 0);
 * const offset = await log.append(sealed);
 * await log.flush(); // pad and write the last partial stripe
 */
export class StripeWriter {
  private readonly rs: ReedSolomon;
  private readonly size: number;
  /** Two buffer sets: one fills while the other's writes are in flight. */
  private readonly sets: { shards: Buffer[]; headers: Buffer[]; inflight: Promise<void> | null }[];
  private cur = 0;
  private shards: Buffer[];
  private fill = 0;
  /** Global stripes written so far (all of them durable after the next sync). */
  stripes: number;
  /** Blocks each drive may still take before it is full (refreshed by the caller). */
  budget: number[];
  /** Bytes written to each drive (progress reporting). */
  readonly written: number[];

  constructor(
    readonly layout: SetLayout,
    readonly setId: Buffer,
    readonly drives: DriveWriter[],
    startStripe: number,
  ) {
    this.rs = new ReedSolomon(layout.k, layout.m);
    this.size = stripeDataSize(layout);
    const n = layout.k + layout.m;
    this.sets = [0, 1].map(() => ({
      shards: Array.from({ length: n }, () => Buffer.alloc(layout.blockSize)),
      headers: Array.from({ length: n }, () => Buffer.alloc(BLOCK_HEADER_SIZE)),
      inflight: null,
    }));
    this.shards = this.sets[0]!.shards;
    this.stripes = startStripe;
    this.budget = drives.map(() => Number.POSITIVE_INFINITY);
    this.written = drives.map(() => 0);
  }

  /** Log offset the next appended byte will get. */
  get position(): number {
    return this.stripes * this.size + this.fill;
  }

  /** Bytes of log inside written stripes (after {@link drain}). */
  get durableLength(): number {
    return this.stripes * this.size;
  }

  /** Waits until every stripe handed to the drives has been written. */
  async drain(): Promise<void> {
    for (const set of this.sets) {
      const p = set.inflight;
      set.inflight = null;
      if (p) await p;
    }
  }

  /** Appends `data` to the log, writing stripes as they fill. Returns its log offset. */
  async append(data: Uint8Array): Promise<number> {
    const at = this.position;
    let o = 0;
    const B = this.layout.blockSize;
    while (o < data.length) {
      const shard = Math.floor(this.fill / B);
      const within = this.fill % B;
      const n = Math.min(B - within, data.length - o);
      this.shards[shard]!.set(data.subarray(o, o + n), within);
      o += n;
      this.fill += n;
      if (this.fill === this.size) await this.writeStripe();
    }
    return at;
  }

  /** Pads the partial stripe with zeros, writes it, and waits for every write. */
  async flush(): Promise<void> {
    if (this.fill === 0) return this.drain();
    const B = this.layout.blockSize;
    for (let i = Math.floor(this.fill / B); i < this.layout.k; i++) {
      this.shards[i]!.fill(0, i === Math.floor(this.fill / B) ? this.fill % B : 0);
    }
    this.fill = this.size;
    await this.writeStripe();
    await this.drain();
  }

  private async writeStripe(): Promise<void> {
    const { layout } = this;
    const s = this.stripes;
    const G = layout.groups.length;
    const group = s % G;
    const n = Math.floor(s / G);
    const members = layout.groups[group]!.drives;
    for (const d of members) {
      if (this.budget[d]! < 1) {
        const w = this.drives[d]!;
        throw new FerryError(
          "E_DRIVE_FULL",
          `drive ${w.path} (bag ${w.slot.bag}) has no room for another block`,
          {
            hint: "Free space on it, or copy its ferry/ folder to a larger drive mounted at the same path, then rerun the same command to resume",
          },
        );
      }
    }
    const set = this.sets[this.cur]!;
    this.rs.encode(set.shards);
    // One stripe in flight while the next one fills: wait for the previous stripe's writes
    // (the other buffer set) so that writes to each drive stay in order and never overlap.
    const other = this.sets[this.cur ^ 1]!;
    if (other.inflight) {
      const p = other.inflight;
      other.inflight = null;
      await p;
    }
    const writes = Promise.all(
      members.map(async (d, shard) => {
        const payload = set.shards[shard]!;
        const header = set.headers[shard]!;
        const hash = writeBlockHeader(header, this.setId, s, shard, group, payload);
        await this.drives[d]!.writeBlock(n, header, payload, hash);
        this.written[d]! += BLOCK_HEADER_SIZE + payload.length;
      }),
    ).then(() => undefined);
    writes.catch(() => undefined); // observed later by drain() or the next stripe
    set.inflight = writes;
    for (const d of members) this.budget[d]! -= 1;
    this.cur ^= 1;
    this.shards = other.shards;
    this.stripes++;
    this.fill = 0;
  }
}
