import { randomBytes } from "node:crypto";
import type { BigIntStats } from "node:fs";
import { type FileHandle, readlink, rm, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { Blake3Hasher } from "@napi-rs/blake-hash";
import { Catalog, type ChunkRow, type EntryRow, REF_SIZE, writeRef } from "../catalog/catalog.js";
import { Chunker, chunkId, maybeCompressView } from "../chunk/index.js";
import { generateSigningKey, seal, sign } from "../crypto/index.js";
import { FerryError } from "../errors.js";
import {
  BLOCK_HEADER_SIZE,
  blocksOnDrive,
  chunkAad,
  DRIVE_DIR,
  ENTRY_DIR,
  ENTRY_FILE,
  ENTRY_SYMLINK,
  encodeEnd,
  encodeEnvelope,
  encodeStoredEntry,
  FLAG_ZSTD,
  INDEX_PIECE_SIZE,
  indexAad,
  indexHeader,
  KEYS_DIR,
  KIND_LABEL,
  KIND_MANIFEST,
  LABEL_FILE,
  type LabelBody,
  MANIFEST_FILE,
  MAX_CHUNKS_PER_FILE,
  type ManifestBody,
  type PackStats,
  type SetLayout,
  SUMS_FILE,
  storedEntryLength,
} from "../format/index.js";
import { directWrites, tuneAllocator } from "../native/index.js";
import { isS3Url, type S3Settings } from "../sinks/s3_url.js";
import type { S3Source } from "../sources/s3.js";
import { ChunkFilter } from "./chunk_filter.js";
import { DriveReader } from "./drive_reader.js";
import { DriveWriter } from "./drive_writer.js";
import { bundleFromJson, bundleToJson, deriveSetKeys, newBundle, type SetKeys, wrapBundle } from "./keys.js";
import { buildLayout, DEFAULT_BLOCK_SIZE, type DriveSpec } from "./layout.js";
import { defaultPackThreads, PackPool, type PackWorkerEvent } from "./pack_pool.js";
import {
  CHANGED_REASON,
  NOT_REGULAR_REASON,
  openSource,
  READ_TRIES,
  unchangedWhileRead,
} from "./source_file.js";
import { StripeWriter } from "./stripe_writer.js";
import { youngGenerationTuned } from "./tune.js";
import { type WalkItem, walk } from "./walk.js";

/** Version string written into labels. */
export const TOOL = "ferry 0.1.0";

/** Options of {@link pack}. */
export interface PackOptions {
  /** Folder to pack, or `s3://BUCKET/PREFIX` (objects in key order; see docs/INGEST.md). */
  source: string;
  /** How to reach the store when `source` is `s3://…` (default: the standard AWS settings). */
  s3?: S3Settings;
  /** Drives in order, each with its bag. */
  drives: DriveSpec[];
  /** Loss policy: `N`, `bag` or `bag+N`. */
  tolerate: string;
  /** age recipients (`age1…`) that may open the set. */
  recipients?: string[];
  /** Passphrase that may open the set. */
  passphrase?: string;
  /** scrypt work factor for the passphrase (default 18). */
  scryptLogN?: number;
  /** Origin catalog path (default `$FERRY_HOME/catalog.db` or `~/.local/share/ferry/catalog.db`). */
  catalog?: string;
  /**
   * Payload bytes per block of a new set (default {@link DEFAULT_BLOCK_SIZE}, 1 MiB less the block
   * header, when pack writes with O_DIRECT; 1 MiB otherwise).
   */
  blockSize?: number;
  /** Chunk size bounds (default 256 KiB / 1 MiB / 4 MiB). */
  chunk?: { minSize?: number; avgSize?: number; maxSize?: number };
  /** fsync drives before recording progress (default true). false is unsafe: a crash can lose data. */
  fsync?: boolean;
  /**
   * Write blocks with O_DIRECT, straight from ferry's buffers to the drive (default: whenever the
   * native kernel is built, with or without fsync; `FERRY_DIRECT=0` turns it off). Needs block records that are
   * whole 4 KiB units (the default block size for such sets); a drive whose filesystem refuses
   * O_DIRECT is written through the page cache instead.
   */
  direct?: boolean;
  /** Log bytes between durable checkpoints (default 256 MiB). */
  checkpointBytes?: number;
  /**
   * Entries (files, folders, links) recorded between durable checkpoints, whatever their bytes
   * (default 32,768): what waits for a checkpoint is held in memory, about 1 KB an entry, so many
   * tiny files must not wait for 256 MiB of log.
   */
  checkpointEntries?: number;
  /** Progress and warnings. */
  onEvent?: (e: PackEvent) => void;
  /** Walk the source once first to learn its size (for progress ETA and a capacity check). */
  scan?: boolean;
  /**
   * Worker threads that read, chunk, hash, compress and seal (default: one per core). 0 does it
   * all on the calling thread (S3 sources and the `onFileRead` hook always do).
   */
  threads?: number;
  /** Test hook: called after a source file was read, before its size and times are checked again. */
  onFileRead?: (path: string, attempt: number) => void;
  /**
   * Test hook for worker threads: a module URL whose default export `(absPath, attempt) => void`
   * each worker calls where `onFileRead` would be called.
   */
  workerHook?: string;
  /** Test hook: called after each checkpoint (crash tests kill the process here). */
  onCheckpoint?: (stripes: number) => void;
}

/** Events pack reports while it runs. */
export type PackEvent =
  | { type: "start"; set: string; resumed: boolean; layout: SetLayout; description: string; overhead: number }
  | { type: "scan"; files: number; bytes: number }
  | { type: "skip"; path: string; reason: string }
  | { type: "progress"; files: number; bytes: number; drives: { path: string; bag: string; bytes: number }[] }
  | { type: "checkpoint"; stripes: number }
  | { type: "warning"; message: string }
  | { type: "retry"; op: string; key: string; attempt: number; delayMs: number; error: string };

/** What pack returns. */
export interface PackResult {
  set: string;
  resumed: boolean;
  alreadyComplete: boolean;
  stats: PackStats;
  layout: SetLayout;
  skipped: { path: string; reason: string }[];
  overhead: number;
  /**
   * Source bytes this run read with O_DIRECT (big files that were not in the page cache; see
   * {@link PackOptions.direct}); the rest went through the page cache.
   */
  directReadBytes: number;
}

/** Default catalog location. */
export function defaultCatalogPath(env: NodeJS.ProcessEnv = process.env): string {
  const home = env.FERRY_HOME ?? join(env.XDG_DATA_HOME ?? join(homedir(), ".local", "share"), "ferry");
  return join(home, "catalog.db");
}

interface Secrets {
  bundle: string;
  signSecret: string;
  keyFiles: Record<string, string>;
  labelCreated: string;
}

type IndexInfo = ManifestBody["index"];

interface PendingEntry {
  row: EntryRow;
  end: number;
}

interface PendingChunk extends ChunkRow {
  id: Buffer;
}

const READ_SIZE = 4 << 20;
/** Files up to this size are handed to a worker in batches (one message for many files). */
const SMALL_FILE = 1 << 20;
/** A batch of small files is sent when it has this many files or bytes. */
const BATCH_FILES = 256;
const BATCH_BYTES = 8 << 20;
/**
 * What a file the walk did not stat counts for in a batch's bytes until small files have been
 * packed, whose mean size is used from then on (see packThreaded).
 */
const UNSIZED_GUESS = 256 << 10;

/** A file a worker is packing. */
interface Job {
  rel: Buffer;
  abs: Buffer;
  /** The file's chunk references so far ({@link REF_SIZE} bytes each). */
  refs: Buffer[];
  end: number;
}

/**
 * Packs a folder onto the drives of a new set, or resumes the unfinished set the drives
 * already belong to. Every drive ends with a signed label, wrapped keys, its blocks, a
 * SUMS list and the signed manifest.
 *
 * @example
 * const r = await pack({ source: "data", drives: [{ bag: "a", path: "/mnt/1" }, { bag: "b", path: "/mnt/2" }],
 *   tolerate: "1", recipients: ["age1…"] });
 */
export async function pack(opts: PackOptions): Promise<PackResult> {
  tuneAllocator();
  const s3 = isS3Url(opts.source);
  const source = s3 ? opts.source : resolve(opts.source);
  let s3src: S3Source | null = null;
  if (s3) {
    const { S3Source } = await import("../sources/s3.js");
    s3src = new S3Source(opts.source, opts.s3 ?? {}, (e) => opts.onEvent?.(e));
    try {
      await s3src.open();
    } catch (e) {
      s3src.destroy();
      throw e;
    }
  } else {
    try {
      if (!(await stat(source)).isDirectory()) throw new Error("not a directory");
    } catch {
      throw new FerryError("E_NO_SOURCE", `source ${opts.source} is not a readable directory`, {
        hint: "Pass the folder to pack",
      });
    }
  }
  const drives = opts.drives.map((d) => ({ bag: d.bag, path: resolve(d.path) }));
  for (const d of s3 ? [] : drives) {
    if (d.path === source || d.path.startsWith(`${source}/`) || source.startsWith(`${d.path}/${DRIVE_DIR}`)) {
      throw new FerryError("E_USAGE", `drive ${d.path} is inside the source ${source}`, {
        hint: "Drives must be outside the folder being packed",
      });
    }
  }
  try {
    const catalog = Catalog.open(opts.catalog ?? defaultCatalogPath());
    try {
      return await new Packer(opts, source, drives, catalog, s3src).run();
    } finally {
      catalog.close();
    }
  } finally {
    s3src?.destroy();
  }
}

class Packer {
  private setHex = "";
  /** The set's number in the catalog. */
  private setNo = 0;
  private setId = Buffer.alloc(16);
  private layout!: SetLayout;
  private keys!: SetKeys;
  private signSecret!: Buffer;
  private writers: DriveWriter[] = [];
  private log!: StripeWriter;
  private readonly pendingChunks = new Map<string, PendingChunk>();
  /** Ids the catalog may hold for this set (see chunk_filter.ts). */
  private readonly stored = new ChunkFilter();
  /** Whether the catalog has entries of this set from an earlier run (else no resume lookups). */
  private hasEntries = false;
  private pendingEntries: PendingEntry[] = [];
  private lastCheckpointLog = 0;
  /** Entries added since the last checkpoint began (see PackOptions.checkpointEntries). */
  private entriesSinceCheckpoint = 0;
  private readonly stats: PackStats = {
    files: 0,
    dirs: 0,
    symlinks: 0,
    skipped: 0,
    bytes: 0,
    chunks: 0,
    dedupChunks: 0,
    storedBytes: 0,
    compressedChunks: 0,
  };
  private readonly skipped: { path: string; reason: string }[] = [];
  private directReadBytes = 0;
  private readonly readBuf = Buffer.allocUnsafe(READ_SIZE);
  private lastProgress = 0;
  private readonly fsync: boolean;
  private readonly direct: boolean;
  private readonly chunker: Chunker;
  private readonly checkpointBytes: number;
  private readonly checkpointEntries: number;

  constructor(
    private readonly opts: PackOptions,
    private readonly source: string,
    private readonly drives: DriveSpec[],
    private readonly catalog: Catalog,
    private readonly s3src: S3Source | null = null,
  ) {
    this.fsync = opts.fsync !== false;
    this.direct = (opts.direct ?? true) && directWrites();
    this.chunker = new Chunker(opts.chunk);
    this.checkpointBytes = opts.checkpointBytes ?? 256 << 20;
    this.checkpointEntries = opts.checkpointEntries ?? 32_768;
  }

  private emit(e: PackEvent): void {
    this.opts.onEvent?.(e);
  }

  async run(): Promise<PackResult> {
    const existing = await this.existingSet();
    let resumed = false;
    let overhead = 0;
    let description = "";
    if (existing) {
      const row = this.catalog.getSet(existing)!;
      this.setHex = existing;
      this.layout = JSON.parse(row.layout) as SetLayout;
      const opts = JSON.parse(row.options) as {
        overhead: number;
        description: string;
        tolerate?: string;
        recipients?: string[];
        passphrase?: boolean;
      };
      overhead = opts.overhead;
      description = opts.description;
      // A set keeps the policy, block size and keys it was started with; say so when the
      // rerun asks for something else, rather than silently ignoring it.
      const ignored: string[] = [];
      if (opts.tolerate !== undefined && this.opts.tolerate !== opts.tolerate)
        ignored.push(`--tolerate ${this.opts.tolerate}`);
      if (this.opts.blockSize !== undefined && this.opts.blockSize !== this.layout.blockSize)
        ignored.push("--block-size");
      const rec = (a: string[] | undefined) => JSON.stringify([...(a ?? [])].sort());
      if (opts.recipients !== undefined && rec(this.opts.recipients) !== rec(opts.recipients))
        ignored.push("--recipient");
      if (opts.passphrase !== undefined && (this.opts.passphrase !== undefined) !== opts.passphrase) {
        ignored.push("--passphrase-file");
      }
      if (ignored.length && row.state !== "complete") {
        this.emit({
          type: "warning",
          message: `resuming set ${existing.slice(0, 8)} with the policy, block size and keys it was started with; ${ignored.join(", ")} ignored (use empty drives for a new set)`,
        });
      }
      if (row.state === "complete") {
        return {
          set: existing,
          resumed: false,
          alreadyComplete: true,
          stats: JSON.parse(row.stats ?? "{}") as PackStats,
          layout: this.layout,
          skipped: this.catalog.skipped(row.no).map((s) => ({ path: s.path.toString(), reason: s.reason })),
          overhead,
          directReadBytes: 0,
        };
      }
      resumed = true;
    } else {
      const { layout, geometry } = buildLayout(
        this.drives,
        this.opts.tolerate,
        // Records of exactly 1 MiB when writing with O_DIRECT. Through the page cache, 1 MiB
        // payloads: page-aligned buffered writes of 1 MiB cost 3× the system time on this
        // benchmark machine's kernel (docs/PERFORMANCE.md).
        this.opts.blockSize ?? (this.direct ? DEFAULT_BLOCK_SIZE : 1 << 20),
      );
      this.layout = layout;
      overhead = geometry.overhead;
      description = geometry.description;
      await this.createSet(geometry.overhead, geometry.description);
    }
    const row = this.catalog.getSet(this.setHex)!;
    const secrets = JSON.parse(row.secrets) as Secrets;
    this.setId = Buffer.from(this.setHex, "hex");
    this.keys = deriveSetKeys(bundleFromJson(secrets.bundle));
    this.signSecret = Buffer.from(secrets.signSecret, "hex");
    this.setNo = row.no;
    this.emit({ type: "start", set: this.setHex, resumed, layout: this.layout, description, overhead });

    this.writers = this.drives.map(
      (d, i) =>
        new DriveWriter(d.path, this.layout.drives[i]!, this.layout.blockSize, this.fsync, this.direct),
    );
    for (const id of this.catalog.chunkIds(this.setNo)) this.stored.add(id);
    this.hasEntries = this.catalog.hasEntries(this.setNo);
    await this.prepareDrives(row.stripes, secrets);
    this.log = new StripeWriter(this.layout, this.setId, this.writers, row.stripes);
    this.lastCheckpointLog = this.log.durableLength;
    await this.refreshBudget();
    if (this.opts.scan) await this.scan();

    try {
      const threads = this.opts.threads ?? defaultPackThreads();
      if (threads > 0 && !this.s3src && !this.opts.onFileRead) await this.packThreaded(threads);
      else await this.packInThread();
      await this.log.flush();
      await this.checkpoint();
      const index = await this.writeIndex();
      await this.log.flush();
      await this.checkpoint();
      await this.finish(index);
    } finally {
      await Promise.allSettled(this.writers.map((w) => w.close()));
    }
    this.progress(true);
    const skipped = this.catalog
      .skipped(this.setNo)
      .map((s) => ({ path: s.path.toString(), reason: s.reason }));
    this.stats.skipped = skipped.length;
    this.catalog.finishSet(this.setNo, this.stats);
    return {
      set: this.setHex,
      resumed,
      alreadyComplete: false,
      stats: this.stats,
      layout: this.layout,
      skipped,
      overhead,
      directReadBytes: this.directReadBytes,
    };
  }

  /** What the walk yields that needs no file read: resume skips, folders, symlinks. */
  private async packOther(item: WalkItem): Promise<"file" | "done"> {
    if (item.kind === "skip") {
      this.skip(item.rel, item.reason);
      return "done";
    }
    // Files come unstatted only when the set has no entries yet (see packThreaded).
    const st = item.st;
    const done = this.hasEntries && st ? this.catalog.getEntry(this.setNo, item.rel) : undefined;
    if (done && done.mtimeNs === st!.mtimeNs && done.size === (item.kind === "file" ? Number(st!.size) : 0)) {
      this.count(done.type, done.size);
      return "done";
    }
    if (item.kind === "dir") this.addEntry(ENTRY_DIR, item.rel, item.st, 0, null, null, [], 0);
    else if (item.kind === "symlink") await this.packSymlink(item.rel, item.abs, item.st);
    else return "file";
    return "done";
  }

  /** Everything on this thread, one file after another (S3 sources, test hooks, `threads: 0`). */
  private async packInThread(): Promise<void> {
    for await (const item of this.items()) {
      if ((await this.packOther(item)) === "file" && item.kind === "file") {
        if (this.s3src) await this.packObject(item.rel, item.abs, item.st!);
        else await this.packFile(item.rel, item.abs);
      }
      await this.checkpointIfDue();
      this.progress(false);
    }
  }

  /**
   * Files go to worker threads (pack_pool.ts): big ones one per message, small ones in batches.
   * This thread walks, dedups, appends sealed chunks to the log and writes the stripes.
   *
   * When nothing needs a file's stat before it is read (a fresh set: no resume check), the walk
   * does not lstat regular files: they go into batches unsized, and a worker hands back, unread,
   * any that turns out bigger than SMALL_FILE, which is then submitted on its own.
   */
  private async packThreaded(threads: number): Promise<void> {
    const jobs = new Map<number, Job>();
    const handedBack: { job: number; size: number }[] = [];
    let nextJob = 0;
    const pool = new PackPool(
      threads,
      {
        idKey: this.keys.idKey,
        chunkKey: this.keys.chunkKey,
        setId: this.setId,
        chunk: this.chunker.params,
        readSize: READ_SIZE,
        directReads: this.direct,
        tuneYoungGeneration: youngGenerationTuned(),
        outSize: 8 << 20,
        outBuffers: 3,
        hook: this.opts.workerHook ?? null,
      },
      (events, buf) => this.onBatch(events, buf, jobs, handedBack),
    );
    let batch: { job: number; path: Uint8Array }[] = [];
    let batchBytes = 0;
    const sendBatch = async () => {
      if (batch.length === 0) return;
      const files = batch;
      const bytes = batchBytes;
      batch = [];
      batchBytes = 0;
      await pool.submit(files, bytes, SMALL_FILE);
    };
    const submitHandedBack = async () => {
      for (let h = handedBack.shift(); h; h = handedBack.shift()) {
        await pool.submit([{ job: h.job, path: jobs.get(h.job)!.abs }], h.size);
      }
    };
    try {
      for await (const item of this.items(this.hasEntries)) {
        if ((await this.packOther(item)) === "file" && item.kind === "file") {
          const job = ++nextJob;
          jobs.set(job, { rel: item.rel, abs: item.abs, refs: [], end: 0 });
          const size = item.st ? Number(item.st.size) : -1;
          if (size <= SMALL_FILE) {
            batch.push({ job, path: item.abs });
            batchBytes += size < 0 ? this.smallMean() : size;
            if (batch.length >= BATCH_FILES || batchBytes >= BATCH_BYTES) await sendBatch();
          } else {
            await sendBatch();
            await pool.submit([{ job, path: item.abs }], size);
          }
        }
        await submitHandedBack();
        // Folders and links the walk added: checked in turn with the workers' batches.
        if (this.checkpointDue()) await pool.serial(() => this.checkpointIfDue());
        this.progress(false);
      }
      await sendBatch();
      for (;;) {
        await pool.drain();
        if (handedBack.length === 0) break;
        await submitHandedBack();
      }
    } finally {
      await pool.close();
    }
  }

  /** Small files packed by workers so far, and their bytes (see {@link smallMean}). */
  private smallFiles = 0;
  private smallBytes = 0;

  /**
   * What an unsized file counts for in a batch: the mean size of the small files packed so far.
   * Batches then hold about BATCH_BYTES of data whatever the files' sizes. The workers' output
   * interleaves in the log batch by batch, and unpack reads a stretch of the log once only when
   * that interleaving stays within its stripe cache: 256 images of 270 KB in one batch had spread
   * two batches over 140 MB of log.
   */
  private smallMean(): number {
    return this.smallFiles >= 16 ? Math.max(1, this.smallBytes / this.smallFiles) : UNSIZED_GUESS;
  }

  /** Handles what a worker reported: chunks into the log, finished files into the catalog. */
  private async onBatch(
    events: PackWorkerEvent[],
    buf: Buffer | null,
    jobs: Map<number, Job>,
    handedBack: { job: number; size: number }[],
  ): Promise<void> {
    for (const e of events) {
      if (e.t === "c") {
        const job = jobs.get(e.job)!;
        // Copied out: the buffer goes back to the worker after this batch.
        const id = Buffer.allocUnsafe(32);
        buf!.copy(id, 0, e.off, e.off + 32);
        this.stats.chunks++;
        const sealed = buf!.subarray(e.off + 32, e.off + 32 + e.len);
        const c = await this.storeSealed(id, sealed, e.plain, e.flags);
        job.refs.push(chunkRef(id, c));
        job.end = Math.max(job.end, c.offset + c.stored);
      } else if (e.t === "b") {
        handedBack.push({ job: e.job, size: e.size });
      } else if (e.t === "r") {
        jobs.get(e.job)!.refs = [];
      } else if (e.t === "s") {
        this.skip(jobs.get(e.job)!.rel, e.reason);
        jobs.delete(e.job);
      } else if (e.t === "d") {
        const job = jobs.get(e.job)!;
        jobs.delete(e.job);
        if (job.refs.length > MAX_CHUNKS_PER_FILE) {
          this.skip(job.rel, tooManyChunks(job.refs.length));
          continue;
        }
        this.directReadBytes += e.direct;
        if (e.size <= SMALL_FILE) {
          this.smallFiles++;
          this.smallBytes += e.size;
        }
        const hash = Buffer.allocUnsafe(32);
        buf!.copy(hash, 0, e.hashOff, e.hashOff + 32);
        this.addEntry(ENTRY_FILE, job.rel, e, e.size, hash, null, job.refs, job.end);
      }
    }
    await this.checkpointIfDue();
    this.progress(false);
  }

  /** The set the given drives already belong to, if any (resume), checked against the catalog. */
  private async existingSet(): Promise<string | null> {
    const found = new Map<string, { path: string; index: number }[]>();
    for (const d of this.drives) {
      let r: DriveReader;
      try {
        r = await DriveReader.open(d.path);
      } catch (e) {
        if (FerryError.is(e, "E_NOT_A_DRIVE")) continue;
        throw e;
      }
      await r.close();
      const list = found.get(r.label.body.set) ?? [];
      list.push({ path: d.path, index: r.label.body.drive.index });
      found.set(r.label.body.set, list);
    }
    if (found.size === 0) return null;
    if (found.size > 1) {
      throw new FerryError("E_DRIVE_IN_USE", `the drives hold ${found.size} different sets`, {
        hint: "Use empty drives for a new set, or the drives of one unfinished set to resume it",
      });
    }
    const [setHex, list] = [...found.entries()][0]!;
    const row = this.catalog.getSet(setHex);
    if (!row) {
      throw new FerryError(
        "E_DRIVE_IN_USE",
        `drive ${list[0]!.path} holds set ${setHex.slice(0, 8)}, which this catalog does not know`,
        {
          hint: "Pass the --catalog that packed it to resume, or use empty drives (remove the ferry/ folder to reuse a drive)",
        },
      );
    }
    if ((this.s3src ? row.source : resolve(row.source)) !== this.source) {
      throw new FerryError(
        "E_DRIVE_IN_USE",
        `the drives hold set ${setHex.slice(0, 8)} packed from ${row.source}`,
        {
          hint: `Resume with the same source (${row.source}), or use empty drives`,
        },
      );
    }
    const layout = JSON.parse(row.layout) as SetLayout;
    if (
      layout.drives.length !== this.drives.length ||
      layout.drives.some((s, i) => s.bag !== this.drives[i]!.bag)
    ) {
      throw new FerryError("E_USAGE", `set ${setHex.slice(0, 8)} was started with other drives or bags`, {
        hint: "Rerun the exact same command (same --drive list, same order) to resume",
      });
    }
    for (const f of list) {
      if (this.drives[f.index]?.path !== f.path) {
        throw new FerryError(
          "E_USAGE",
          `drive ${f.path} is drive ${f.index} of the set but was given in another place`,
          {
            hint: "Give the drives in the same order as the first run",
          },
        );
      }
    }
    if (list.length < this.drives.length && row.stripes > 0) {
      const missing = this.drives.filter((d) => !list.some((f) => f.path === d.path)).map((d) => d.path);
      throw new FerryError(
        "E_DRIVE_IO",
        `drive ${missing[0]} lost its ferry data while the set was being packed`,
        {
          hint: "Mount the drive that was used, or restore its ferry/ folder, then rerun",
        },
      );
    }
    return setHex;
  }

  private async createSet(overhead: number, description: string): Promise<void> {
    this.setHex = randomBytes(16).toString("hex");
    const sk = generateSigningKey();
    const bundle = newBundle(this.setHex, sk.publicKey.toString("hex"));
    const wrapped = wrapBundle(bundle, {
      ...(this.opts.recipients ? { recipients: this.opts.recipients } : {}),
      ...(this.opts.passphrase !== undefined ? { passphrase: this.opts.passphrase } : {}),
      ...(this.opts.scryptLogN ? { scryptLogN: this.opts.scryptLogN } : {}),
    });
    const secrets: Secrets = {
      bundle: bundleToJson(bundle),
      signSecret: sk.secretKey.toString("hex"),
      keyFiles: Object.fromEntries([...wrapped].map(([k, v]) => [k, v.toString("base64")])),
      labelCreated: new Date().toISOString(),
    };
    this.setNo = this.catalog.createSet(
      this.setHex,
      this.source,
      JSON.stringify(this.layout),
      JSON.stringify(secrets),
      JSON.stringify({
        overhead,
        description,
        tolerate: this.opts.tolerate,
        recipients: this.opts.recipients ?? [],
        passphrase: this.opts.passphrase !== undefined,
      }),
    );
  }

  private async prepareDrives(stripes: number, secrets: Secrets): Promise<void> {
    const keyNames = Object.keys(secrets.keyFiles).map((n) => `${KEYS_DIR}/${n}`);
    await Promise.all(
      this.writers.map(async (w) => {
        await w.prepare();
        await w.truncateTo(blocksOnDrive(this.layout, w.slot.group, stripes));
        await rm(join(w.root, MANIFEST_FILE), { force: true });
        for (const [name, b64] of Object.entries(secrets.keyFiles)) {
          await w.writeFileAtomic(`${KEYS_DIR}/${name}`, Buffer.from(b64, "base64"));
        }
        const body: LabelBody = {
          format: 1,
          set: this.setHex,
          created: secrets.labelCreated,
          tool: TOOL,
          drive: w.slot,
          layout: this.layout,
          signPub: this.keys.bundle.signPub,
          keys: keyNames,
        };
        await w.writeFileAtomic(
          LABEL_FILE,
          encodeEnvelope(KIND_LABEL, body, (m) => sign(this.signSecret, m)),
        );
      }),
    );
  }

  /** Sizes the source and warns when a drive will probably not hold its share. */
  private async scan(): Promise<void> {
    let files = 0;
    let bytes = 0;
    for await (const item of this.items()) {
      if (item.kind === "file") {
        files++;
        bytes += item.st ? Number(item.st.size) : 0;
      }
    }
    this.emit({ type: "scan", files, bytes });
    const perDrive = bytes / (this.layout.k * this.layout.groups.length);
    const blocks = Math.ceil(perDrive / this.layout.blockSize);
    this.log.budget.forEach((have, i) => {
      if (have < blocks) {
        const w = this.writers[i]!;
        this.emit({
          type: "warning",
          message: `drive ${w.path} (bag ${w.slot.bag}) has room for ${have} blocks but its share of the source is about ${blocks}; it may fill up unless compression or dedup save enough`,
        });
      }
    });
  }

  private async refreshBudget(): Promise<void> {
    const rec = BLOCK_HEADER_SIZE + this.layout.blockSize + 32;
    // Keep room for the manifest, the label, and the index replica (about 0.1% of the data,
    // so 0.2% of the free space is ample) so a drive is never filled past the end of the set.
    this.log.budget = await Promise.all(
      this.writers.map(async (w) => {
        const free = await w.freeBytes();
        return Math.max(0, Math.floor((free - (4 << 20) - free / 500) / rec));
      }),
    );
  }

  private count(type: number, size: number): void {
    if (type === ENTRY_DIR) this.stats.dirs++;
    else if (type === ENTRY_SYMLINK) this.stats.symlinks++;
    else {
      this.stats.files++;
      this.stats.bytes += size;
    }
  }

  private skip(rel: Buffer, reason: string): void {
    const path = rel.length ? rel.toString() : ".";
    this.catalog.putSkipped(this.setNo, rel.length ? rel : Buffer.from("."), reason);
    this.emit({ type: "skip", path, reason });
  }

  private addEntry(
    type: number,
    rel: Buffer,
    st: { mode: bigint; uid: bigint; gid: bigint; mtimeNs: bigint },
    size: number,
    hash: Buffer | null,
    target: Buffer | null,
    refs: Buffer[],
    end: number,
  ): void {
    this.entriesSinceCheckpoint++;
    this.pendingEntries.push({
      row: {
        path: rel,
        type,
        mode: Number(st.mode & 0o7777n),
        uid: Number(st.uid),
        gid: Number(st.gid),
        mtimeNs: st.mtimeNs,
        size,
        hash,
        target,
        refs: type === ENTRY_FILE ? Buffer.concat(refs) : null,
      },
      end,
    });
    this.count(type, size);
  }

  private async packSymlink(rel: Buffer, abs: Buffer, st: Parameters<Packer["addEntry"]>[2]): Promise<void> {
    let target: Buffer;
    try {
      target = (await readlink(abs, { encoding: "buffer" })) as Buffer;
    } catch (e) {
      this.skip(rel, `cannot read symlink: ${(e as NodeJS.ErrnoException).code ?? e}`);
      return;
    }
    this.addEntry(ENTRY_SYMLINK, rel, st, 0, null, target, [], 0);
  }

  private async packFile(rel: Buffer, abs: Buffer): Promise<void> {
    for (let attempt = 0; attempt < READ_TRIES; attempt++) {
      let fh: FileHandle;
      try {
        fh = await openSource(abs);
      } catch (e) {
        this.skip(rel, `unreadable: ${(e as NodeJS.ErrnoException).code ?? e}`);
        return;
      }
      let refs: Buffer[] = [];
      let end = 0;
      let size = 0;
      let before: BigIntStats;
      let after: BigIntStats;
      const hasher = new Blake3Hasher();
      // Only errors of the source file make it "skipped"; anything else (a drive, the catalog)
      // stops pack, so that no file can silently drop out of the set.
      const source = (e: unknown): never => {
        throw new FerryError(
          "E_SOURCE_READ",
          `read failed: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        );
      };
      try {
        before = await fh.stat({ bigint: true }).catch(source);
        if (!before.isFile()) throw new FerryError("E_SOURCE_READ", NOT_REGULAR_REASON);
        // One chunker for the whole pack: it keeps its buffer between files (finish() resets it).
        const chunker = this.chunker;
        chunker.reset();
        for (;;) {
          const { bytesRead } = await fh.read(this.readBuf, 0, READ_SIZE, null).catch(source);
          if (bytesRead === 0) break;
          const data = this.readBuf.subarray(0, bytesRead);
          hasher.update(data);
          size += bytesRead;
          for (const c of chunker.push(data)) end = Math.max(end, await this.packChunk(c, refs));
        }
        for (const c of chunker.finish()) end = Math.max(end, await this.packChunk(c, refs));
        this.opts.onFileRead?.(rel.toString(), attempt);
        after = await fh.stat({ bigint: true }).catch(source);
      } catch (e) {
        if (!FerryError.is(e, "E_SOURCE_READ")) throw e;
        this.skip(rel, e.message);
        return;
      } finally {
        await fh.close();
      }
      if (refs.length > MAX_CHUNKS_PER_FILE) {
        this.skip(rel, tooManyChunks(refs.length));
        return;
      }
      if (!unchangedWhileRead(before, after, size)) {
        refs = [];
        continue;
      }
      this.addEntry(ENTRY_FILE, rel, after, size, hasher.digestBuffer(), null, refs, end);
      return;
    }
    this.skip(rel, CHANGED_REASON);
  }

  /** The source's items: a folder walk (lstat of regular files only with `statFiles`), or a bucket listing. */
  private items(statFiles = true): AsyncGenerator<WalkItem> {
    return this.s3src ? this.s3src.walk() : walk(this.source, { statFiles });
  }

  /** Packs one object of an S3 source (ranged reads; read again if it changes, up to 3 times). */
  private async packObject(rel: Buffer, key: Buffer, st: BigIntStats): Promise<void> {
    const src = this.s3src!;
    for (let attempt = 0; attempt < READ_TRIES; attempt++) {
      const refs: Buffer[] = [];
      let end = 0;
      let size = 0;
      const hasher = new Blake3Hasher();
      let info: { mode?: number; mtimeNs?: bigint; symlinkTarget?: Buffer } = {};
      try {
        this.chunker.reset();
        for await (const data of src.read(key, Number(st.size), (i) => {
          info = i;
        })) {
          hasher.update(data);
          size += data.length;
          for (const c of this.chunker.push(data)) end = Math.max(end, await this.packChunk(c, refs));
        }
        for (const c of this.chunker.finish()) end = Math.max(end, await this.packChunk(c, refs));
      } catch (e) {
        if (FerryError.is(e, "E_SOURCE_READ")) {
          if (e.detail?.changed) continue;
          this.skip(rel, e.message);
          return;
        }
        throw e;
      }
      const meta = {
        mode: info.mode === undefined ? st.mode : BigInt(info.mode),
        uid: 0n,
        gid: 0n,
        // The resume check compares the listing's time, so that is what the catalog keeps.
        mtimeNs: st.mtimeNs,
      };
      if (info.symlinkTarget) this.addEntry(ENTRY_SYMLINK, rel, meta, 0, null, info.symlinkTarget, [], 0);
      else this.addEntry(ENTRY_FILE, rel, meta, size, hasher.digestBuffer(), null, refs, end);
      return;
    }
    this.skip(rel, CHANGED_REASON);
  }

  /**
   * Dedups, compresses, seals and appends one chunk; adds its reference to `refs` and returns
   * the log end of its bytes.
   */
  private async packChunk(plain: Buffer, refs: Buffer[]): Promise<number> {
    const id = chunkId(this.keys.idKey, plain);
    this.stats.chunks++;
    let c = this.knownChunk(id);
    if (c === null) {
      const z = maybeCompressView(plain); // sealed at once, before anything else is compressed
      const flags = z.compressed ? FLAG_ZSTD : 0;
      const sealed = seal(this.keys.chunkKey, z.data, chunkAad(this.setId, id, flags, plain.length));
      c = await this.storeSealed(id, sealed, plain.length, flags);
    }
    refs.push(chunkRef(id, c));
    return c.offset + c.stored;
  }

  /** Where a chunk already stored (this run or an earlier one) is, or null; counts a dedup. */
  private knownChunk(id: Buffer): ChunkRow | null {
    // Every chunk stored or pending is in the filter: a new chunk (the common case) costs no key.
    if (!this.stored.mightHave(id)) return null;
    const pend = this.pendingChunks.get(id.toString("hex"));
    const known = pend ?? this.catalog.getChunk(this.setNo, id);
    if (!known) return null;
    this.stats.dedupChunks++;
    return known;
  }

  /** Appends a sealed chunk unless it is a duplicate; returns where the chunk is. */
  private async storeSealed(id: Buffer, sealed: Uint8Array, plain: number, flags: number): Promise<ChunkRow> {
    const known = this.knownChunk(id);
    if (known !== null) return known;
    if (flags & FLAG_ZSTD) this.stats.compressedChunks++;
    const offset = await this.log.append(sealed);
    this.stats.storedBytes += sealed.length;
    const c: PendingChunk = { id, offset, stored: sealed.length, plain, flags };
    this.pendingChunks.set(id.toString("hex"), c);
    this.stored.add(id);
    await this.checkpointIfDue();
    return c;
  }

  /** Whether a checkpoint is due: 256 MiB of log or 32,768 entries since the last one began. */
  private checkpointDue(): boolean {
    return (
      this.log.durableLength - this.lastCheckpointLog >= this.checkpointBytes ||
      this.entriesSinceCheckpoint >= this.checkpointEntries
    );
  }

  /**
   * A background checkpoint when one is due. Called as chunks are stored, as workers report
   * files, and as the walk adds folders and links: a tree of folders, empty files or duplicates
   * stores no chunk, and its entries must not wait in memory for one. Never while an append to
   * the log is under way (a checkpoint drains the stripe writer, and a stripe started meanwhile
   * would be counted durable before it is): with workers, only from their batches' chain.
   */
  private async checkpointIfDue(): Promise<void> {
    if (this.checkpointDue()) await this.checkpoint(true);
  }

  /** The checkpoint whose fsyncs run while packing goes on (at most one). */
  private pendingCheckpoint: Promise<void> | null = null;

  /**
   * Makes written stripes durable and records in the catalog what they hold. In the background
   * (during packing), the drives are fsynced while later stripes are being written: only what was
   * written before the fsyncs started is claimed, so the catalog never records a stripe that is
   * not durable. Otherwise (end of pack) it returns when everything is durable and recorded.
   */
  private async checkpoint(background = false): Promise<void> {
    const prev = this.pendingCheckpoint;
    this.pendingCheckpoint = null;
    if (prev) await prev; // one at a time; rethrows its failure
    await this.log.drain();
    const durable = this.log.durableLength;
    const stripes = this.log.stripes;
    this.lastCheckpointLog = durable;
    this.entriesSinceCheckpoint = 0;
    const p = this.commitDurable(durable, stripes);
    if (!background) return p;
    p.catch(() => undefined); // observed by the next checkpoint
    this.pendingCheckpoint = p;
  }

  private async commitDurable(durable: number, stripes: number): Promise<void> {
    await Promise.all(this.writers.map((w) => w.sync()));
    const chunks: [string, PendingChunk][] = [...this.pendingChunks].filter(
      ([, c]) => c.offset + c.stored <= durable,
    );
    const ready = this.pendingEntries.filter((e) => e.end <= durable);
    // Forget pending work only once the catalog holds it: a failed commit throws (E_CATALOG)
    // and the next run redoes everything after the previous checkpoint.
    this.catalog.commit(
      this.setNo,
      { stripes, logLength: durable },
      chunks.map(([, c]) => c),
      ready.map((e) => e.row),
    );
    for (const [k] of chunks) this.pendingChunks.delete(k);
    this.pendingEntries = this.pendingEntries.filter((e) => e.end > durable);
    this.emit({ type: "checkpoint", stripes });
    this.opts.onCheckpoint?.(stripes);
    await this.refreshBudget();
  }

  /** Streams the index from the catalog into sealed pieces appended to the log. */
  /** Drives that get a replica of the index: the first of each bag, then more until m+1. */
  private indexReplicas(): DriveWriter[] {
    const chosen: DriveWriter[] = [];
    const bags = new Set<string>();
    for (const w of this.writers) {
      if (!bags.has(w.slot.bag)) {
        bags.add(w.slot.bag);
        chosen.push(w);
      }
    }
    for (const w of this.writers) {
      if (chosen.length >= Math.min(this.writers.length, this.layout.m + 1)) break;
      if (!chosen.includes(w)) chosen.push(w);
    }
    return chosen.sort((a, b) => a.slot.index - b.slot.index);
  }

  private async writeIndex(): Promise<IndexInfo> {
    const pieces: [number, number, number, number][] = [];
    const replicas = this.indexReplicas();
    const replicaHash = new Blake3Hasher();
    await Promise.all(replicas.map((w) => w.beginIndexReplica()));
    let buf = Buffer.allocUnsafe(INDEX_PIECE_SIZE);
    let fill = 0;
    const flushPiece = async () => {
      if (fill === 0) return;
      const plain = buf.subarray(0, fill);
      const c = maybeCompressView(plain); // sealed at once
      const flags = c.compressed ? FLAG_ZSTD : 0;
      const sealed = seal(this.keys.indexKey, c.data, indexAad(this.setId, pieces.length, flags, fill));
      const offset = await this.log.append(sealed);
      await Promise.all(replicas.map((w) => w.appendIndexPiece(sealed)));
      replicaHash.update(sealed);
      pieces.push([offset, sealed.length, fill, flags]);
      buf = Buffer.allocUnsafe(INDEX_PIECE_SIZE);
      fill = 0;
    };
    const put = async (bytes: Buffer) => {
      let o = 0;
      while (o < bytes.length) {
        const n = Math.min(INDEX_PIECE_SIZE - fill, bytes.length - o);
        bytes.copy(buf, fill, o, o + n);
        fill += n;
        o += n;
        if (fill === INDEX_PIECE_SIZE) await flushPiece();
      }
    };
    await put(indexHeader());
    let entries = 0;
    // Each entry is encoded straight from the catalog's fields into a scratch buffer (see
    // encodeStoredEntry): for many small files, objects per entry made this tail of the pack as
    // slow as a tenth of its data.
    let scratch = Buffer.allocUnsafe(64 << 10);
    for (const page of this.catalog.storedEntryPages(this.setNo)) {
      for (const e of page) {
        const len = storedEntryLength(e);
        if (len > scratch.length) scratch = Buffer.allocUnsafe(len);
        if (len <= INDEX_PIECE_SIZE - fill) {
          fill = encodeStoredEntry(buf, fill, e);
          if (fill === INDEX_PIECE_SIZE) await flushPiece();
        } else await put(scratch.subarray(0, encodeStoredEntry(scratch, 0, e)));
        entries++;
      }
    }
    await put(encodeEnd(entries));
    await flushPiece();
    await Promise.all(replicas.map((w) => w.endIndexReplica()));
    return {
      pieces,
      entries,
      replicas: replicas.map((w) => w.slot.index),
      replicaHash: replicaHash.digestBuffer().toString("hex"),
    };
  }

  private async finish(index: IndexInfo): Promise<void> {
    const drives = await Promise.all(
      this.writers.map(async (w) => {
        const r = await DriveReader.open(w.path);
        const sums = (await r.hashFile(SUMS_FILE)) ?? { size: 0, hash: "" };
        await r.close();
        const blocks = blocksOnDrive(this.layout, w.slot.group, this.log.stripes);
        if (sums.size !== blocks * 32) {
          throw new FerryError(
            "E_DRIVE_IO",
            `drive ${w.path}: ${SUMS_FILE} has ${sums.size / 32} entries, expected ${blocks}`,
          );
        }
        return { index: w.slot.index, blocks, sums: sums.hash };
      }),
    );
    // The totals of the whole set come from the catalog: after a resume, the counters of this
    // run alone would miss what earlier runs packed.
    Object.assign(this.stats, this.catalog.stats(this.setNo));
    const body: ManifestBody = {
      format: 1,
      set: this.setHex,
      state: "complete",
      finished: new Date().toISOString(),
      stripes: this.log.stripes,
      logLength: this.log.position,
      index,
      drives,
      stats: this.stats,
    };
    const bytes = encodeEnvelope(KIND_MANIFEST, body, (m) => sign(this.signSecret, m));
    await Promise.all(this.writers.map((w) => w.writeFileAtomic(MANIFEST_FILE, bytes)));
  }

  private progress(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.lastProgress < 250) return;
    this.lastProgress = now;
    this.emit({
      type: "progress",
      files: this.stats.files,
      bytes: this.stats.bytes,
      drives: this.writers.map((w, i) => ({
        path: w.path,
        bag: w.slot.bag,
        bytes: this.log?.written[i] ?? 0,
      })),
    });
  }
}

/** One chunk reference of an entry (see {@link REF_SIZE}). */
function chunkRef(id: Uint8Array, c: ChunkRow): Buffer {
  const ref = Buffer.allocUnsafe(REF_SIZE);
  writeRef(ref, 0, id, c);
  return ref;
}

function tooManyChunks(n: number): string {
  return `has ${n} chunks, more than the index allows (${MAX_CHUNKS_PER_FILE}); pack with larger --chunk sizes`;
}
