import { Blake3Hasher } from "@napi-rs/blake-hash";
import { verifySignature } from "../crypto/index.js";
import { ReedSolomon } from "../erasure/index.js";
import { FerryError } from "../errors.js";
import {
  BLOCK_HEADER_SIZE,
  checkBlock,
  checkBlockHeader,
  type ManifestBody,
  type SetLayout,
  stripeDataSize,
  validateLabel,
  validateLayout,
} from "../format/index.js";
import { allocAligned } from "../native/index.js";
import { DriveReader } from "./drive_reader.js";
import { deriveSetKeys, type SetKeys, type Unlock, unwrapFromDrive } from "./keys.js";

/** A set opened from some of its drives. */
export interface OpenedSet {
  setId: Buffer;
  setHex: string;
  layout: SetLayout;
  signPub: Buffer;
  /** Readers by drive index; undefined where the drive was not given. */
  drives: (DriveReader | undefined)[];
  manifest: ManifestBody | null;
  /** Why a drive's manifest was not used, per drive path. */
  manifestProblems: { path: string; problem: string }[];
  keys: SetKeys | null;
}

/** Options for {@link openSet}. */
export interface OpenSetOptions {
  unlock?: Unlock | undefined;
  /** Throw E_INCOMPLETE_SET when no drive has a valid manifest (default true). */
  requireManifest?: boolean;
}

const short = (hex: string) => hex.slice(0, 8);

/**
 * Opens a set from drive paths: checks every label's signature, refuses drives of another
 * set and duplicated drives, picks a valid signed manifest, and unlocks the keys when asked.
 *
 * @example
 * const set = await openSet(["/mnt/a", "/mnt/b"], { unlock: { identities: [id] } });
 */
export async function openSet(paths: string[], opts: OpenSetOptions = {}): Promise<OpenedSet> {
  if (paths.length === 0)
    throw new FerryError("E_USAGE", "no drive paths given", { hint: "Pass the drive folders" });
  const readers: DriveReader[] = [];
  try {
    for (const p of paths) readers.push(await DriveReader.open(p));
    return await assemble(readers, opts);
  } catch (e) {
    for (const r of readers) await r.close();
    throw e;
  }
}

async function assemble(readers: DriveReader[], opts: OpenSetOptions): Promise<OpenedSet> {
  // Labels are untrusted (a forger may hold a signing key): check their shape before use.
  for (const r of readers) validateLabel(r.label.body, r.path);
  // The set most drives belong to is the reference; any other is foreign.
  const votes = new Map<string, number>();
  for (const r of readers) votes.set(r.label.body.set, (votes.get(r.label.body.set) ?? 0) + 1);
  const setHex = [...votes.entries()].sort((a, b) => b[1] - a[1])[0]![0];
  for (const r of readers) {
    const b = r.label.body;
    if (b.set !== setHex) {
      throw new FerryError(
        "E_FOREIGN_DRIVE",
        `drive ${r.path} (bag ${b.drive?.bag}) belongs to set ${short(b.set)}, the others to set ${short(setHex)}`,
        { hint: `Set ${r.path} aside, or open set ${short(b.set)} with its own drives` },
      );
    }
  }
  const first = readers[0]!.label.body;
  if (
    typeof first.signPub !== "string" ||
    !/^[0-9a-f]{64}$/.test(first.signPub) ||
    !/^[0-9a-f]{32}$/.test(setHex)
  ) {
    throw new FerryError("E_CORRUPT", `label of ${readers[0]!.path} is malformed`);
  }
  const signPub = Buffer.from(first.signPub, "hex");
  const layoutJson = JSON.stringify(first.layout);
  validateLayout(first.layout);
  const byIndex: (DriveReader | undefined)[] = new Array(first.layout.drives.length).fill(undefined);
  for (const r of readers) {
    const b = r.label.body;
    if (!verifySignature(signPub, r.label.signed, r.label.signature) || b.signPub !== first.signPub) {
      throw new FerryError(
        "E_SIGNATURE",
        `the label of ${r.path} is not signed by set ${short(setHex)}'s key`,
        {
          hint: "The drive was tampered with or damaged; set it aside and verify the others",
        },
      );
    }
    if (JSON.stringify(b.layout) !== layoutJson) {
      throw new FerryError("E_CORRUPT", `drive ${r.path} records a different layout than the other drives`);
    }
    const slot = first.layout.drives[b.drive.index];
    if (!slot || slot.id !== b.drive.id || slot.bag !== b.drive.bag) {
      throw new FerryError(
        "E_CORRUPT",
        `drive ${r.path} claims slot ${b.drive.index}, which the layout disagrees with`,
      );
    }
    const prev = byIndex[b.drive.index];
    if (prev) {
      throw new FerryError(
        "E_DUPLICATE_DRIVE",
        `${prev.path} and ${r.path} are the same drive (drive ${b.drive.index}, bag ${b.drive.bag}) of set ${short(setHex)}`,
        { hint: "Pass each drive once; a copied drive adds no redundancy" },
      );
    }
    byIndex[b.drive.index] = r;
  }

  let keys: SetKeys | null = null;
  if (opts.unlock) {
    let err: unknown = null;
    for (const r of readers) {
      try {
        const bundle = await unwrapFromDrive(r.path, r.label.body.keys ?? [], opts.unlock);
        if (bundle.set !== setHex || bundle.signPub !== first.signPub) {
          throw new FerryError("E_SIGNATURE", `the key file on ${r.path} belongs to another set or signer`, {
            hint: "The drives were re-labelled or tampered with",
          });
        }
        keys = deriveSetKeys(bundle);
        break;
      } catch (e) {
        err = e;
        if (FerryError.is(e, "E_KEY") || FerryError.is(e, "E_SIGNATURE")) break;
      }
    }
    if (!keys) throw err;
  }

  let manifest: ManifestBody | null = null;
  let manifestSigned: Buffer | null = null;
  const manifestProblems: { path: string; problem: string }[] = [];
  for (const r of readers) {
    if (r.manifestError) {
      manifestProblems.push({ path: r.path, problem: r.manifestError.message });
      continue;
    }
    const m = r.manifest;
    if (!m) continue;
    if (!verifySignature(signPub, m.signed, m.signature) || m.body.set !== setHex) {
      manifestProblems.push({
        path: r.path,
        problem: "manifest signature does not verify (tampered or damaged)",
      });
      continue;
    }
    if (!manifest) {
      manifest = m.body;
      manifestSigned = m.signed;
    } else if (!m.signed.equals(manifestSigned!)) {
      manifestProblems.push({
        path: r.path,
        problem: "manifest differs from the other drives' (stale copy)",
      });
    }
  }
  if (manifest) validateManifest(manifest, first.layout);
  if (!manifest && opts.requireManifest !== false) {
    if (manifestProblems.length) {
      throw new FerryError(
        "E_SIGNATURE",
        `no drive carries a valid manifest: ${manifestProblems[0]!.problem}`,
        {
          hint: "Bring another drive of the set; manifests are replicated on every drive",
        },
      );
    }
    throw new FerryError(
      "E_INCOMPLETE_SET",
      `set ${short(setHex)} was never finished: no drive has a manifest`,
      {
        hint: "Rerun the same `ferry pack` command at the origin to finish it",
      },
    );
  }
  return {
    setId: Buffer.from(setHex, "hex"),
    setHex,
    layout: first.layout,
    signPub,
    drives: byIndex,
    manifest,
    manifestProblems,
    keys,
  };
}

function validateManifest(m: ManifestBody, layout: SetLayout): void {
  const isInt = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
  const G = layout.groups.length;
  const ok =
    m.format === 1 &&
    isInt(m.stripes) &&
    // Bounded so that nothing sized by the stripe count can be made huge by a forged manifest.
    m.stripes <= Math.min(2 ** 32, Math.floor(2 ** 50 / stripeDataSize(layout))) &&
    isInt(m.logLength) &&
    m.logLength <= m.stripes * stripeDataSize(layout) &&
    Array.isArray(m.index?.pieces) &&
    m.index.pieces.every(
      (p) =>
        Array.isArray(p) && p.length === 4 && p.every(isInt) && p[0] + p[1] <= m.logLength && p[2] <= 1 << 24,
    ) &&
    (m.index.replicas === undefined ||
      (Array.isArray(m.index.replicas) &&
        m.index.replicas.every((d) => isInt(d) && d < layout.drives.length) &&
        typeof m.index.replicaHash === "string")) &&
    Array.isArray(m.drives) &&
    m.drives.length === layout.drives.length &&
    m.drives.every(
      (d, i) =>
        typeof d === "object" &&
        d !== null &&
        d.index === i &&
        d.blocks === Math.floor(m.stripes / G) + (layout.drives[i]!.group < m.stripes % G ? 1 : 0) &&
        typeof d.sums === "string" &&
        /^[0-9a-f]{64}$/.test(d.sums),
    ) &&
    typeof m.stats === "object" &&
    m.stats !== null;
  if (!ok)
    throw new FerryError("E_CORRUPT", "the manifest is malformed", { hint: "Try another drive of the set" });
}

/** One block found bad while reading. */
export interface BadBlock {
  drive: number;
  block: number;
  stripe: number;
  reason: string;
}

/** Options of {@link StripeReader}. */
export interface StripeReaderOptions {
  /** Bytes of decoded stripes kept for reuse (at least two stripes; default 24 MiB). */
  cacheBytes?: number;
  /**
   * Bytes of stripes read ahead of a forward reader (at least one stripe; default 24 MiB;
   * 0 turns read-ahead off).
   */
  readAheadBytes?: number;
  /**
   * Check block headers only, leaving the payload checks to the caller's AEAD (default false:
   * every block is hashed and compared with SUMS). For callers that authenticate every byte
   * they use and call {@link StripeReader.recheck} when that fails: the stripes are then read
   * again with every check, so damage is found and rebuilt from parity as before. Unpack saves
   * a BLAKE3 pass and a SUMS read per block this way.
   */
  lazyChecks?: boolean;
  /**
   * Told of every block read with every check (not of header-only reads): its drive, its block
   * number on that drive, and null if it is good or why not. verify uses it to count the blocks
   * its keyed pass read, instead of reading them a second time.
   */
  onBlock?: (drive: number, block: number, problem: string | null) => void;
}

/** Why a block that could not be read at all is bad (see {@link StripeReaderOptions.onBlock}). */
export const BLOCK_MISSING = "block missing or unreadable";

/** A stripe being read or in the cache. */
interface StripeEntry {
  /** Its k data shards (views of `records`, or rebuilt from parity). */
  shards: Promise<Buffer[]>;
  /** Block records read for it, reused for other stripes once nothing holds it. */
  records: Buffer[];
  /** Holders: the read itself while in flight, and callers using its shards right now. */
  refs: number;
  cached: boolean;
  /** Rebuilt from parity (counted in repairedStripes). */
  repaired: boolean;
}

/**
 * Reads stripes of the data log from whatever drives are present, checking every block
 * (header, checksum, SUMS) and rebuilding missing or damaged shards from parity.
 *
 * Stripes are kept as their k data shards, never concatenated: {@link withLog} lends views of
 * the blocks a log range lies in, and {@link readLog} copies just that range. While the log is
 * read forward, the next stripes are read ahead (bounded by `readAheadBytes`), so the drives
 * work while the caller decrypts. Block buffers are reused once no stripe holds them, so memory
 * stays flat and fresh pages are not faulted in for every block.
 *
 * @example
 * const r = new StripeReader(set);
 * const bytes = await r.readLog(offset, length);
 */
export class StripeReader {
  private readonly rs: ReedSolomon;
  /** Stripes by number, least recently used first; one read however many callers ask. */
  private readonly cache = new Map<number, StripeEntry>();
  private readonly trust = new Map<number, Promise<boolean>>();
  private readonly cacheStripes: number;
  private readonly aheadStripes: number;
  /** The first stripe of the previous read; read-ahead runs only while reads move forward. */
  private lastFirst = -1;
  /** Stripe reads still in flight (read-ahead included), awaited by {@link close}. */
  private readonly loading = new Set<Promise<unknown>>();
  /** Block record buffers (header + payload) free for the next reads. */
  private readonly pool: Buffer[] = [];
  private readonly poolMax: number;
  readonly bad: BadBlock[] = [];
  repairedStripes = 0;
  /** Block reads asked of the drives (a block read twice counts twice). */
  blocksRead = 0;
  private readonly lazy: boolean;
  private readonly onBlock: StripeReaderOptions["onBlock"];
  /** With lazyChecks: stripes a caller found bad, read with every check from now on. */
  private readonly mustCheck = new Set<number>();

  constructor(
    readonly set: OpenedSet,
    opts: StripeReaderOptions = {},
  ) {
    const { k, m } = set.layout;
    this.rs = new ReedSolomon(k, m);
    const size = stripeDataSize(set.layout);
    this.aheadStripes = Math.floor((opts.readAheadBytes ?? 24 << 20) / size);
    if (opts.readAheadBytes !== 0) this.aheadStripes = Math.max(1, this.aheadStripes);
    // Room for the read-ahead window plus the stripes being consumed, so that read-ahead
    // never evicts a stripe before its reader gets to it.
    this.cacheStripes = Math.max(2, Math.floor((opts.cacheBytes ?? 24 << 20) / size)) + this.aheadStripes;
    this.poolMax = (k + m) * 4;
    this.lazy = opts.lazyChecks === true;
    this.onBlock = opts.onBlock;
  }

  /** Whether drive `d`'s SUMS file hashes to what the signed manifest records (computed once). */
  private sumsTrusted(d: number): Promise<boolean> {
    let p = this.trust.get(d);
    if (!p) {
      p = (async () => {
        const drive = this.set.drives[d];
        const want = this.set.manifest?.drives[d];
        if (!drive || !want) return true;
        const h = new Blake3Hasher();
        const step = 1 << 16;
        let total = 0;
        for (let n = 0; ; n += step) {
          const part = await drive.readSums(n, step);
          h.update(part);
          total += part.length;
          if (part.length < step * 32) break;
        }
        return total === want.blocks * 32 && h.digestBuffer().toString("hex") === want.sums;
      })();
      this.trust.set(d, p);
    }
    return p;
  }

  /** Reads and checks one block; returns its payload or null (recording why). */
  readShard(stripe: number, shard: number): Promise<Buffer | null> {
    return this.readShardInto(stripe, shard, null);
  }

  /**
   * {@link readShard} reading into a pooled buffer when `records` is given: a good block's
   * record is added to it, a bad one's goes straight back to the pool.
   */
  private async readShardInto(
    stripe: number,
    shard: number,
    records: Buffer[] | null,
    full = true,
  ): Promise<Buffer | null> {
    const { layout } = this.set;
    const G = layout.groups.length;
    const group = stripe % G;
    const n = Math.floor(stripe / G);
    const driveIdx = layout.groups[group]!.drives[shard]!;
    const d = this.set.drives[driveIdx];
    if (!d) return null;
    const into = records ? this.pool.pop() : undefined;
    this.blocksRead++;
    const [rec, sums] = await Promise.all([
      d.readBlock(n, layout.blockSize, into),
      full ? d.readSums(n, 1) : null,
    ]);
    if (!rec) {
      if (into) this.recycle([into]);
      this.bad.push({ drive: driveIdx, block: n, stripe, reason: BLOCK_MISSING });
      if (full) this.onBlock?.(driveIdx, n, BLOCK_MISSING);
      return null;
    }
    const want = {
      setId: this.set.setId,
      stripe,
      shard,
      group,
      blockSize: layout.blockSize,
      sum: sums?.length === 32 ? sums : undefined,
    };
    const why = full ? checkBlock(rec, want) : checkBlockHeader(rec, want);
    if (full) this.onBlock?.(driveIdx, n, why);
    if (why) {
      if (records) this.recycle([rec]);
      this.bad.push({ drive: driveIdx, block: n, stripe, reason: why });
      return null;
    }
    records?.push(rec);
    return rec.subarray(BLOCK_HEADER_SIZE);
  }

  /**
   * Reads, checks and (where needed) rebuilds the k data shards of global stripe `s`; with
   * `full` false, blocks are checked by header only (see lazyChecks).
   */
  private async loadShards(
    s: number,
    records: Buffer[],
    full: boolean,
    entry: StripeEntry,
  ): Promise<Buffer[]> {
    const { k, m } = this.set.layout;
    const shards: (Uint8Array | null)[] = new Array(k + m).fill(null);
    const tried: boolean[] = new Array(k + m).fill(false);
    const members = this.set.layout.groups[s % this.set.layout.groups.length]!.drives;
    let good = 0;
    // Data shards first, then parity. Blocks of drives whose SUMS file does not match the
    // signed manifest are read last: their SUMS entries cannot vouch for them, so a block
    // rewritten together with its SUMS entry would pass the checks and fail decryption.
    // Reads run in parallel across drives, in waves of exactly as many blocks as still needed.
    for (const wantTrusted of [true, false]) {
      const candidates: number[] = [];
      for (let i = 0; i < k + m; i++) {
        if (!tried[i] && (!full || (await this.sumsTrusted(members[i]!))) === wantTrusted) candidates.push(i);
      }
      // Shards on drives not at hand go last (they would only come back empty): with a drive
      // missing, the first wave already reads a parity block instead of waiting for a second.
      const present = (i: number) => this.set.drives[members[i]!] !== undefined;
      candidates.sort((a, b) => Number(present(b)) - Number(present(a)) || a - b);
      while (good < k && candidates.length) {
        const wave = candidates.splice(0, k - good);
        const got = await Promise.all(
          wave.map((i) => {
            tried[i] = true;
            return this.readShardInto(s, i, records, full);
          }),
        );
        got.forEach((b, j) => {
          shards[wave[j]!] = b;
          if (b) good++;
        });
      }
    }
    if (good < k) {
      throw new FerryError(
        "E_UNRECOVERABLE",
        `stripe ${s} has only ${good} of the ${k} good blocks it needs`,
        {
          hint: "Bring more drives of the set (see `ferry verify` for which)",
          detail: { stripe: s },
        },
      );
    }
    if (shards.slice(0, k).some((x) => !x)) {
      // Rebuilt shards go into pooled block records, recycled with the stripe's own: a fresh
      // buffer per rebuilt block cost page faults and garbage collection (a quarter of the CPU
      // of an unpack with a bag missing).
      const { blockSize } = this.set.layout;
      const alloc = (n: number): Buffer => {
        const rec = this.pool.pop() ?? allocAligned(BLOCK_HEADER_SIZE + blockSize);
        records.push(rec);
        return rec.subarray(BLOCK_HEADER_SIZE, BLOCK_HEADER_SIZE + n);
      };
      this.rs.reconstruct(shards, { dataOnly: true, alloc });
      this.repairedStripes++;
      entry.repaired = true;
    }
    return shards
      .slice(0, k)
      .map((x) => (Buffer.isBuffer(x) ? x : Buffer.from(x!.buffer, x!.byteOffset, x!.byteLength)));
  }

  private recycle(records: Buffer[]): void {
    for (const r of records) if (this.pool.length < this.poolMax) this.pool.push(r);
    records.length = 0;
  }

  /** Takes a hold on stripe `s` (reading it unless cached); {@link release} gives it back. */
  private hold(s: number): StripeEntry {
    const hit = this.cache.get(s);
    if (hit) {
      this.cache.delete(s);
      this.cache.set(s, hit);
      hit.refs++;
      return hit;
    }
    const records: Buffer[] = [];
    const full = !this.lazy || this.mustCheck.has(s);
    const entry: StripeEntry = {
      shards: Promise.resolve([]),
      records,
      refs: 2,
      cached: true,
      repaired: false,
    };
    entry.shards = this.loadShards(s, records, full, entry);
    const settled: Promise<unknown> = entry.shards.then(
      () => {
        this.loading.delete(settled);
        this.release(entry);
      },
      () => {
        // Nobody can see the blocks of a stripe that failed: reuse them now. A caller that
        // never asked (read-ahead) must not fail the process; whoever awaits still sees the error.
        this.loading.delete(settled);
        this.recycle(records);
        this.release(entry);
      },
    );
    this.loading.add(settled);
    this.cache.set(s, entry);
    if (this.cache.size > this.cacheStripes) {
      const [oldS, old] = this.cache.entries().next().value as [number, StripeEntry];
      this.cache.delete(oldS);
      old.cached = false;
      if (old.refs === 0) this.recycle(old.records);
    }
    return entry;
  }

  private release(entry: StripeEntry): void {
    if (--entry.refs === 0 && !entry.cached) this.recycle(entry.records);
  }

  /**
   * Starts reading the stripes after `last` when the log is read forward: not after a jump
   * back (a deduplicated chunk, or the data after a piece of the index, which lies at the end).
   */
  private readAhead(first: number, last: number): void {
    const forward = first >= this.lastFirst - 1;
    this.lastFirst = first;
    if (!forward) return;
    const stripes = this.set.manifest?.stripes ?? 0;
    const end = Math.min(stripes - 1, last + this.aheadStripes);
    for (let t = last + 1; t <= end; t++) if (!this.cache.has(t)) this.release(this.hold(t));
  }

  /**
   * With lazyChecks: the caller found the log range [offset, offset + length) bad (its AEAD
   * failed). Its stripes are read again, with every check, from now on; the copies read
   * without them are dropped, with what they counted. Returns whether any stripe of the range
   * had been read without the full checks, that is, whether reading it again can differ.
   */
  recheck(offset: number, length: number): boolean {
    if (!this.lazy || length <= 0) return false;
    const size = stripeDataSize(this.set.layout);
    const first = Math.floor(offset / size);
    const last = Math.floor((offset + length - 1) / size);
    const fresh = new Set<number>();
    for (let s = first; s <= last; s++) {
      if (this.mustCheck.has(s)) continue;
      this.mustCheck.add(s);
      fresh.add(s);
      const e = this.cache.get(s);
      if (!e) continue;
      this.cache.delete(s);
      e.cached = false;
      if (e.refs === 0) this.recycle(e.records);
      if (e.repaired) this.repairedStripes--;
    }
    if (fresh.size) {
      // The full read finds (and records) again what the quick one found in these stripes.
      const keep = this.bad.filter((b) => !fresh.has(b.stripe));
      this.bad.length = 0;
      this.bad.push(...keep);
    }
    return fresh.size > 0;
  }

  /** The k·blockSize data bytes of global stripe `s` (a copy); throws E_UNRECOVERABLE. */
  async readStripe(s: number): Promise<Buffer> {
    const entry = this.hold(s);
    try {
      return Buffer.concat(await entry.shards);
    } finally {
      this.release(entry);
    }
  }

  /**
   * Calls `use` with the `length` bytes of the data log at `offset`, as consecutive views of
   * the blocks they lie in (one view when they lie in one block), and returns what it returns.
   * The views are valid only during that call (their memory is reused afterwards): `use` must
   * be synchronous and must neither keep nor modify them. Throws E_UNRECOVERABLE.
   */
  async withLog<T>(offset: number, length: number, use: (pieces: readonly Buffer[]) => T): Promise<T> {
    if (length <= 0) return use([Buffer.alloc(0)]);
    const { blockSize } = this.set.layout;
    const size = stripeDataSize(this.set.layout);
    const end = offset + length;
    const first = Math.floor(offset / size);
    const last = Math.floor((end - 1) / size);
    const held: StripeEntry[] = [this.hold(first)];
    try {
      this.readAhead(first, first);
      const pieces: Buffer[] = [];
      let pos = offset;
      for (let s = first; s <= last; s++) {
        // One stripe at a time (read-ahead overlaps them): a range that claims more than the
        // log holds fails at the first stripe past its end, having held only what exists.
        if (s > first) {
          held.push(this.hold(s));
          this.readAhead(s, s);
        }
        const shards = await held[s - first]!.shards;
        const stripeEnd = Math.min(end, (s + 1) * size);
        while (pos < stripeEnd) {
          const i = Math.floor((pos - s * size) / blockSize);
          const from = pos - s * size - i * blockSize;
          const to = Math.min(blockSize, stripeEnd - s * size - i * blockSize);
          pieces.push(shards[i]!.subarray(from, to));
          pos += to - from;
        }
      }
      return use(pieces);
    } finally {
      for (const e of held) this.release(e);
    }
  }

  /** Reads `length` bytes of the data log at `offset` (a buffer of its own); throws E_UNRECOVERABLE. */
  readLog(offset: number, length: number): Promise<Buffer> {
    return this.withLog(offset, length, (pieces) => Buffer.concat(pieces, Math.max(0, length)));
  }

  async close(): Promise<void> {
    while (this.loading.size) await Promise.all(this.loading);
    for (const d of this.set.drives) await d?.close();
  }
}
