import { ReedSolomon } from "../erasure/index.js";
import { FerryError } from "../errors.js";
import { BLOCK_HEADER_SIZE, type SetLayout, stripeDataSize, writeBlockHeader } from "../format/index.js";
import { allocAligned } from "../native/index.js";
import type { DriveWriter } from "./drive_writer.js";

/**
 * Stripes whose blocks may be on their way to the drives at once, besides the one filling. With
 * O_DIRECT a write returns only when the drive has the data, so more than one stripe ahead keeps
 * every drive of every group busy; each costs (k+m) blocks of memory.
 */
const STRIPES_IN_FLIGHT = 6;

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
  /** Buffer sets: one fills while the others' writes are in flight. */
  private readonly sets: { records: Buffer[]; shards: Buffer[]; inflight: Promise<void> | null }[];
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
    // Each block's header and payload lie together in one record buffer, page-aligned where the
    // native kernel can align it, so a drive can write the record in one call (with O_DIRECT).
    this.sets = Array.from({ length: STRIPES_IN_FLIGHT }, () => {
      const records = Array.from({ length: n }, () => allocAligned(BLOCK_HEADER_SIZE + layout.blockSize));
      return {
        records,
        shards: records.map((r) => r.subarray(BLOCK_HEADER_SIZE)),
        inflight: null,
      };
    });
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
    // Several stripes in flight while the next one fills. Each drive writes its blocks in order
    // (its writer queues them), while different drives, and different groups' stripes, are
    // written in parallel.
    const writes = Promise.all(
      members.map(async (d, shard) => {
        const record = set.records[shard]!;
        const hash = writeBlockHeader(record, this.setId, s, shard, group, set.shards[shard]!);
        await this.drives[d]!.writeBlock(n, record, hash);
        this.written[d]! += record.length;
      }),
    ).then(() => undefined);
    writes.catch(() => undefined); // observed later by drain() or when the set is reused
    set.inflight = writes;
    for (const d of members) this.budget[d]! -= 1;
    this.cur = (this.cur + 1) % this.sets.length;
    const next = this.sets[this.cur]!;
    this.stripes++;
    this.fill = 0;
    if (next.inflight) {
      const p = next.inflight;
      next.inflight = null;
      await p;
    }
    this.shards = next.shards;
  }
}
