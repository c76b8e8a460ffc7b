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
  private readonly shards: Buffer[];
  private readonly headers: Buffer[];
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
    this.shards = Array.from({ length: n }, () => Buffer.alloc(layout.blockSize));
    this.headers = Array.from({ length: n }, () => Buffer.alloc(BLOCK_HEADER_SIZE));
    this.stripes = startStripe;
    this.budget = drives.map(() => Number.POSITIVE_INFINITY);
    this.written = drives.map(() => 0);
  }

  /** Log offset the next appended byte will get. */
  get position(): number {
    return this.stripes * this.size + this.fill;
  }

  /** Bytes of log inside written stripes. */
  get durableLength(): number {
    return this.stripes * this.size;
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

  /** Pads the partial stripe with zeros and writes it. */
  async flush(): Promise<void> {
    if (this.fill === 0) return;
    const B = this.layout.blockSize;
    for (let i = Math.floor(this.fill / B); i < this.layout.k; i++) {
      this.shards[i]!.fill(0, i === Math.floor(this.fill / B) ? this.fill % B : 0);
    }
    this.fill = this.size;
    await this.writeStripe();
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
    this.rs.encode(this.shards);
    await Promise.all(
      members.map(async (d, shard) => {
        const payload = this.shards[shard]!;
        const header = this.headers[shard]!;
        const hash = writeBlockHeader(header, this.setId, s, shard, group, payload);
        await this.drives[d]!.writeBlock(n, header, payload, hash);
        this.budget[d]! -= 1;
        this.written[d]! += BLOCK_HEADER_SIZE + payload.length;
      }),
    );
    this.stripes++;
    this.fill = 0;
  }
}
