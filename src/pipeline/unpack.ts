import { fchmodSync, fchownSync, constants as fsc, futimesSync, renameSync, writeSync } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import {
  chmod,
  lchown,
  lstat,
  lutimes,
  mkdir,
  open,
  readFile,
  rename,
  rm,
  symlink,
  writeFile,
} from "node:fs/promises";
import { resolve } from "node:path";
import { Blake3Hasher } from "@napi-rs/blake-hash";
import { decompress } from "../chunk/index.js";
import { open as aeadOpen } from "../crypto/index.js";
import { FerryError } from "../errors.js";
import {
  type ChunkRef,
  ENTRY_DIR,
  ENTRY_FILE,
  ENTRY_SYMLINK,
  type FileEntry,
  FLAG_ZSTD,
  type IndexEntry,
  IndexParser,
  indexAad,
} from "../format/index.js";
import { directWrites, native } from "../native/index.js";
import type { S3RetryEvent } from "../sinks/s3.js";
import { isS3Url, type S3Settings } from "../sinks/s3_url.js";
import type { WorkerSpec } from "../sinks/worker.js";
import { globMatcher } from "./glob.js";
import type { Unlock } from "./keys.js";
import { type Lane, LogOrder } from "./log_order.js";
import { type OpenedSet, openSet, StripeReader, type StripeReaderOptions } from "./open_set.js";
import { readAgain, readChunk } from "./read_chunk.js";
import { BufferPool } from "./read_pool.js";
import { fsTime, SMALL_WRITE_MAX, SmallFileWriter } from "./small_writer.js";
import { AlignedPool, Stager } from "./stager.js";

export { readChunk } from "./read_chunk.js";

/** Options of {@link unpack}. */
export interface UnpackOptions {
  /** Paths of the drives at hand (any recoverable subset). */
  drives: string[];
  /**
   * Target folder (created if missing), or `s3://BUCKET/PREFIX`: every file becomes an object
   * (symlinks empty objects with `ferry-symlink-target`; folders are implied by keys). See docs/INGEST.md.
   */
  to: string;
  /** How to reach the store when `to` is `s3://…` (default: the standard AWS settings). */
  s3?: S3Settings;
  /** With `to` = `s3://…`: restore only this worker's deterministic share (`--worker I/N`). */
  worker?: WorkerSpec;
  unlock: Unlock;
  /** Restore only entries whose path matches one of these globs (`*`, `**`, `?`). */
  only?: string[];
  onEvent?: (e: UnpackEvent) => void;
  /**
   * Write restored files of {@link DIRECT_MIN} bytes or more with O_DIRECT, straight from
   * ferry's buffers to the target drive (default: where the native kernel is built;
   * `FERRY_DIRECT=0` turns it off). A target whose filesystem refuses O_DIRECT is written
   * through the page cache.
   */
  direct?: boolean;
  /**
   * Bytes of decoded stripes the reader keeps, and reads ahead, each (default 24 MiB; see
   * {@link StripeReaderOptions}).
   */
  readCacheBytes?: number;
  /**
   * Files restored side by side at first (default 16); more open, up to 64, where the set shows
   * that more were packed side by side (see log_order.ts).
   */
  openFiles?: number;
}

/** Files from this size up are written with O_DIRECT (see {@link UnpackOptions.direct}). */
export const DIRECT_MIN = 256 * 1024;
/**
 * Largest O_DIRECT staging buffer: the largest write of one file (several go in one writev).
 * Each file open for reading holds one (see MAX_OPEN_FILES): 4 MiB rather than 8 took 15 MB off
 * the peak RSS of an 8 GiB unpack, at the same speed.
 */
const STAGE_SIZE = 4 << 20;
/**
 * Smallest O_DIRECT staging buffer. A file smaller than this still gets one this size (while it
 * is open, within STAGE_BUDGET): with sizes from 256 KiB up, the pool kept buffers of five
 * sizes, allocated one of a size it lacked while holding others, and its memory crept up with the
 * length of the run (an 8 GiB set: 102 MB of staging buffers made against 74 MB for 1 GiB, peak
 * RSS +13 MB). With 1 MiB, 2 and 4: 75 against 71 MB.
 */
const STAGE_MIN = 1 << 20;

export type UnpackEvent =
  | { type: "start"; set: string; files: number; bytes: number; drivesPresent: number; drivesTotal: number }
  | { type: "progress"; files: number; bytes: number; totalBytes: number }
  | { type: "lost"; path: string; reason: string }
  | S3RetryEvent
  | { type: "warning"; message: string };

/** What unpack returns. */
export interface UnpackResult {
  set: string;
  files: number;
  dirs: number;
  symlinks: number;
  bytes: number;
  /** Stripes rebuilt from parity. */
  repairedStripes: number;
  /** Blocks found missing or damaged while reading. */
  badBlocks: number;
  /**
   * Blocks read from the drives. Files are read in log order, so each block is read once (plus
   * parity where blocks are missing) unless the set was deduplicated against data far away.
   */
  blocksRead: number;
  /**
   * The limit on files restored side by side when the run ended: the first one, or more where
   * the set called for it (see {@link UnpackOptions.openFiles}).
   */
  openFiles: number;
  /** Files that could not be restored (too much damage), with why. */
  lost: { path: string; reason: string }[];
  /** True when this run continued an interrupted one. */
  resumed: boolean;
  /** Files written with O_DIRECT (see {@link UnpackOptions.direct}); the others went through the page cache. */
  directFiles: number;
  /** With `to` = `s3://…`: objects this worker owns, uploaded, found already there, left to other workers. */
  s3?: {
    objects: number;
    uploaded: number;
    alreadyThere: number;
    otherWorkers: number;
    bytesUploaded: number;
    retries: number;
    staleUploadsAborted: number;
    requests: number;
  };
}

interface Journal {
  set: string;
  pass: number;
  done: number;
  /** The --only patterns of the run that wrote it; a run with other patterns starts over. */
  only: string[] | null;
}

/**
 * Turns a failure to write the target into a typed error that says what to do.
 *
 * @example
 * throw targetError(err, `write "a.bin" into the target`); // E_TARGET, with a hint per errno
 */
export function targetError(e: unknown, what: string): FerryError {
  if (FerryError.is(e)) return e;
  const code = (e as NodeJS.ErrnoException).code;
  return new FerryError("E_TARGET", `cannot ${what}: ${code ?? (e as Error).message}`, {
    hint:
      code === "ENOSPC" || code === "EDQUOT"
        ? "The target is full: free space or unpack elsewhere, then rerun the same command to resume"
        : "Check the target folder (permissions, space, other writers), then rerun the same command to resume",
    cause: e,
  });
}

const SLASH = 0x2f;

/** What a failed rename of a restored file into place means: a folder in its way, or `err`. */
function renameError(err: unknown, rel: Buffer): unknown {
  if ((err as NodeJS.ErrnoException).code !== "EISDIR") return err;
  return new FerryError("E_UNSAFE_PATH", `file ${JSON.stringify(rel.toString())} would replace a folder`, {
    hint: "The set's index lists the path twice; nothing outside the target was written",
  });
}

/**
 * Restored bytes handed to the file system and not yet written: the writes of a file overlap
 * the decryption of its next chunks, and memory stays bounded however large the set is.
 */
const WRITE_WINDOW = 32 << 20;
/** Buffers written by one writev (well under IOV_MAX). */
const WRITEV_MAX = 64;

/**
 * One file's writes, one at a time: two writes to one file contend for its inode lock in the
 * kernel (measured: ~9% of all CPU spinning on it when a file's chunks were written in
 * parallel), so a file's buffers queue here and go out in order, as few writev calls as the
 * queue allows. Files still write in parallel with each other.
 *
 * @example
 * const w = new FileWriter(fh, false, (b) => pool.give(b), (p) => inFlight.add(p));
 * w.push(buf, 0);
 * await w.settle(); // then check w.error
 */
export class FileWriter {
  private queue: Buffer[] = [];
  private queuePos = 0;
  private end = 0;
  /** The write loop while it runs. */
  running: Promise<void> | null = null;
  /** The first write failure; later buffers are dropped (given back) unwritten. */
  error: unknown = null;

  constructor(
    private readonly fh: FileHandle,
    /** `fh` was opened with O_DIRECT: a write it refuses (EINVAL) says how to do without. */
    private readonly direct: boolean,
    /** Called with each buffer once written (or dropped). */
    private readonly written: (b: Buffer) => void,
    /** Called with the loop's promise when it starts. */
    private readonly started: (p: Promise<void>) => void,
  ) {}

  /** Queues `buf` for position `pos` (always where the previous buffer ended). */
  push(buf: Buffer, pos: number): void {
    if (this.queue.length === 0) this.queuePos = pos;
    else if (pos !== this.end) throw new FerryError("E_INTERNAL", "unpack writes out of order");
    this.queue.push(buf);
    this.end = pos + buf.length;
    if (!this.running) {
      this.running = this.run();
      this.started(this.running);
    }
  }

  private async run(): Promise<void> {
    while (this.queue.length) {
      const bufs = this.queue.splice(0, WRITEV_MAX);
      const pos = this.queuePos;
      let len = 0;
      for (const b of bufs) len += b.length;
      this.queuePos += len;
      try {
        if (this.error === null) await writevAll(this.fh, bufs, pos);
      } catch (e) {
        this.error =
          this.direct && (e as NodeJS.ErrnoException).code === "EINVAL"
            ? new FerryError(
                "E_TARGET",
                `the target's filesystem refused an O_DIRECT write at offset ${pos}`,
                {
                  hint: "Rerun the same command with FERRY_DIRECT=0: it resumes, writing through the page cache",
                  cause: e,
                },
              )
            : e;
      } finally {
        for (const b of bufs) this.written(b);
      }
    }
    this.running = null;
  }

  /** Waits until every queued buffer is written (or dropped after a failure). */
  async settle(): Promise<void> {
    while (this.running) await this.running;
  }
}

/** Writes `bufs` back to back at `pos`, whatever the kernel takes per call. */
async function writevAll(fh: FileHandle, bufs: Buffer[], pos: number): Promise<void> {
  let rest = bufs.filter((b) => b.length > 0);
  while (rest.length) {
    const { bytesWritten } = await fh.writev(rest, pos);
    if (bytesWritten <= 0) throw new Error(`short write at offset ${pos}`);
    pos += bytesWritten;
    let left = bytesWritten;
    let i = 0;
    while (i < rest.length && left >= rest[i]!.length) left -= rest[i++]!.length;
    rest = rest.slice(i);
    if (left > 0) rest[0] = rest[0]!.subarray(left);
  }
}
/** Files whose last writes, metadata and rename may still run while the next files are read. */
const MAX_FINISHING = 32;
/** Small files (see small_writer.ts) handed over and not yet in place (at most 32 MiB of them). */
const MAX_FINISHING_SMALL = 128;

/** Whether a file's content goes to the small-file writer (see small_writer.ts). */
function isSmall(e: FileEntry): boolean {
  return e.size <= SMALL_WRITE_MAX && e.size < DIRECT_MIN;
}
/**
 * Pass-1 entries whose path checks, parent folders and temp file are done ahead of their
 * content: creating a file costs a quarter to one millisecond on a busy disk, which would
 * otherwise stall the reading of every small file.
 */
const OPEN_AHEAD = 8;

/** A temp file opened for an entry's content. */
interface TempFile {
  tmp: Buffer;
  fh: FileHandle;
  /** Opened with O_DIRECT. */
  direct: boolean;
}

/** A file open for restoring (see {@link LogOrder}). */
interface Restoring {
  e: FileEntry;
  /** Its target path. */
  p: Buffer;
  /** Its ordinal in the index. */
  ord: number;
  /** Its temp file and writer; null for a small file (see {@link Restoring.mem}). */
  tf: TempFile | null;
  writer: FileWriter | null;
  /**
   * A small file's plaintext so far (pool buffers), handed whole to the small-file writer once
   * checked (see small_writer.ts); null for the others.
   */
  mem: Buffer[] | null;
  /** With O_DIRECT: where its plaintext is staged. */
  stager: Stager | null;
  hasher: Blake3Hasher;
  /** Bytes restored so far. */
  pos: number;
}

/**
 * Files restored side by side, their chunks read in log order (see log_order.ts): pack's
 * workers interleave the files they chunk at the same time, a few MiB at a time, one file per
 * worker. Up to 16 at first; up to 64 where the set shows that more were packed side by side
 * (a pack on a machine with more cores).
 */
const MAX_OPEN_FILES = 16;
const MAX_OPEN_FILES_CAP = 64;
/** How far ahead in the log a file may start and still be opened at once (see LogOrder). */
const OPEN_LOOKAHEAD = 64 << 20;
/**
 * Staging memory the open files share: each one's staging buffers are sized to at most its
 * share (from 4 MiB with 16 open down to 1 MiB with 64), and to at least the chunk in hand.
 */
const STAGE_BUDGET = 64 << 20;
/**
 * Files packed side by side start within about (workers × 8 MiB) of each other in the log: one
 * that starts further back than 32 MiB per open file is taken for deduplicated data, which
 * opening more files cannot help (measured: duplicate videos 660 MB back had raised the limit
 * to 64 on the bench set, for 3% fewer reads and 35 MB more peak RSS).
 */
const GROW_WINDOW = (32 << 20) * MAX_OPEN_FILES;
/** Bytes of stripes the unpack reader keeps (StripeReaderOptions.cacheBytes' default). */
const READ_CACHE = 24 << 20;
const NO_CHUNKS: readonly ChunkRef[] = [];

/** A pass-1 entry waiting for its turn. */
interface Ahead {
  e: FileEntry | (IndexEntry & { type: typeof ENTRY_DIR });
  ord: number;
  skip: boolean;
  /** Its checked target path (a folder entry's folder is made by then). */
  path: Promise<Buffer>;
  /** Its temp file, opened ahead (files not skipped). */
  file: Promise<TempFile> | null;
}

/**
 * Checks an untrusted relative path from the index: `/`-separated, no empty, `.` or `..`
 * component, no NUL, not absolute. Returns its components.
 */
export function checkRelPath(p: Buffer): Buffer[] {
  const fail = (why: string): never => {
    throw new FerryError("E_UNSAFE_PATH", `index entry ${JSON.stringify(p.toString())} ${why}`, {
      hint: "The set's index is hostile or corrupt; nothing outside the target was written",
    });
  };
  if (p.length === 0) fail("is empty");
  if (p[0] === SLASH) fail("is an absolute path");
  if (p.includes(0)) fail("contains a NUL byte");
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= p.length; i++) {
    if (i === p.length || p[i] === SLASH) {
      const c = p.subarray(start, i);
      if (c.length === 0) fail("has an empty component");
      if (c.length === 1 && c[0] === 0x2e) fail("has a '.' component");
      if (c.length === 2 && c[0] === 0x2e && c[1] === 0x2e) fail("has a '..' component");
      parts.push(c);
      start = i + 1;
    }
  }
  return parts;
}

/**
 * Restores a set into a folder from any recoverable subset of its drives: rebuilds missing
 * blocks from parity, checks every chunk (AEAD, keyed id) and every file hash, restores
 * modes, mtimes, symlinks and empty folders, and resumes after an interruption.
 *
 * @example
 * const r = await unpack({ drives: ["/mnt/a", "/mnt/b"], to: "out", unlock: { identities: [id] } });
 */
export async function unpack(opts: UnpackOptions): Promise<UnpackResult> {
  const set = await openSet(opts.drives, { unlock: opts.unlock });
  // Every byte unpack uses is AEAD-checked (chunks and index), so blocks are hashed only where
  // that fails: see readChunk.
  const reader = new StripeReader(set, {
    lazyChecks: true,
    ...(opts.readCacheBytes ? { cacheBytes: opts.readCacheBytes, readAheadBytes: opts.readCacheBytes } : {}),
  });
  try {
    if (isS3Url(opts.to)) {
      const { unpackToS3 } = await import("../sinks/s3_unpack.js");
      return await unpackToS3(set, reader, opts);
    }
    return await new Unpacker(set, reader, opts).run();
  } finally {
    await reader.close();
  }
}

/**
 * Streams the decrypted index of a set, entry by entry (bounded memory).
 *
 * @example
 * for await (const e of readIndex(set, reader)) console.log(e.path.toString());
 */
export async function* readIndex(set: OpenedSet, reader: StripeReader): AsyncGenerator<IndexEntry> {
  if (!set.keys || !set.manifest) throw new FerryError("E_INTERNAL", "readIndex needs keys and a manifest");
  const parser = new IndexParser();
  const pieces = set.manifest.index.pieces;
  let replicaOffset = 0;
  for (let i = 0; i < pieces.length; i++) {
    const [offset, stored, plainLen, flags] = pieces[i]!;
    const aad = indexAad(set.setId, i, flags, plainLen);
    let plain: Buffer | null = null;
    let firstErr: unknown = null;
    try {
      plain = await readAgain(reader, offset, stored, async () =>
        aeadOpen(set.keys!.indexKey, await reader.readLog(offset, stored), aad),
      );
    } catch (e) {
      if (!FerryError.is(e, "E_UNRECOVERABLE") && !FerryError.is(e, "E_DECRYPT")) throw e;
      firstErr = e;
    }
    // The log copy is striped like the data; the replicas on a few drives are the fallback
    // when more drives are lost than parity covers.
    for (const d of set.manifest.index.replicas ?? []) {
      if (plain) break;
      const drive = set.drives[d];
      const sealed = drive ? await drive.readIndexReplica(replicaOffset, stored) : null;
      if (!sealed) continue;
      try {
        plain = aeadOpen(set.keys.indexKey, sealed, aad);
      } catch {
        // a damaged replica: try the next one
      }
    }
    replicaOffset += stored;
    if (!plain) {
      if (FerryError.is(firstErr, "E_DECRYPT")) throw firstErr;
      const why = FerryError.is(firstErr) ? firstErr.message : String(firstErr);
      throw new FerryError(
        "E_UNRECOVERABLE",
        `the set's index cannot be rebuilt from these drives (${why})`,
        {
          hint: "Bring more drives of the set (the first drive of each bag holds a copy of the index); `ferry verify --full` says which",
          cause: firstErr,
        },
      );
    }
    if (flags & FLAG_ZSTD) plain = decompress(plain, plainLen);
    else if (plain.length !== plainLen)
      throw new FerryError("E_CORRUPT", `index piece ${i} has the wrong length`);
    yield* parser.entries(plain);
  }
  parser.end();
}

class Unpacker {
  private root!: Buffer;
  private readonly safeDirs = new Set<string>();
  private journalPath = "";
  private journal: Journal = { set: "", pass: 1, done: 0, only: null };
  private lastSave = 0;
  private readonly result: UnpackResult;
  private readonly match: ((p: string) => boolean) | null;
  private lastProgress = 0;
  private readonly isRoot = process.getuid?.() === 0;
  /** Writes small files on a thread of its own (see small_writer.ts). */
  private readonly small = new SmallFileWriter(this.isRoot);
  /** Writes in flight, and the bytes they hold. */
  private readonly writing = new Set<Promise<void>>();
  /** Callers waiting in {@link throttle} for bytes to be written. */
  private readonly throttled: (() => void)[] = [];
  /** Plaintext buffers, reused once written. */
  private readonly pool = new BufferPool(WRITE_WINDOW * 2, 16 << 20);
  /** Page-aligned staging buffers of O_DIRECT file writes, reused once written. */
  private readonly stages = new AlignedPool(STAGE_MIN, STAGE_SIZE, WRITE_WINDOW * 2);
  /** Whether large files are written with O_DIRECT (off for good once the target refuses it). */
  private direct: boolean;
  private writeBytes = 0;
  /** Files of pass 1 still finishing in the background, by index ordinal. */
  private readonly finishing = new Map<number, Promise<void>>();
  /** Target paths (latin1) of those files: a later entry under one of them waits for them. */
  private readonly finishingPaths = new Map<string, number>();
  /** The first failure of a file finishing in the background. */
  private failure: unknown = null;
  /**
   * Renames happen in the order files complete. A path listed twice is never open twice at once
   * (see turn), so it ends as the later entry.
   */
  private renameChain: Promise<void> = Promise.resolve();
  /** Pass-1 entries prepared ahead of their turn, oldest first. */
  private readonly ahead: Ahead[] = [];
  /** Files being restored, read in log order. */
  private readonly order: LogOrder<Restoring>;
  /** Path checks and folder creation, one at a time in index order. */
  private pathChain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly set: OpenedSet,
    private readonly reader: StripeReader,
    private readonly opts: UnpackOptions,
  ) {
    this.result = {
      set: set.setHex,
      files: 0,
      dirs: 0,
      symlinks: 0,
      bytes: 0,
      repairedStripes: 0,
      badBlocks: 0,
      blocksRead: 0,
      openFiles: 0,
      lost: [],
      resumed: false,
      directFiles: 0,
    };
    this.match = opts.only?.length ? globMatcher(opts.only) : null;
    const open = Math.max(1, Math.floor(opts.openFiles ?? MAX_OPEN_FILES));
    this.order = new LogOrder<Restoring>({
      maxOpen: open,
      maxOpenCap: Math.max(open, MAX_OPEN_FILES_CAP),
      lookahead: (OPEN_LOOKAHEAD * open) / MAX_OPEN_FILES,
      // A file that starts where the reader's cache still holds costs no second read.
      growSlack: opts.readCacheBytes ?? READ_CACHE,
      growWindow: (GROW_WINDOW * open) / MAX_OPEN_FILES,
    });
    // setDirect: a native kernel built before it lacks it.
    this.direct = (opts.direct ?? true) && directWrites() && typeof native?.setDirect === "function";
  }

  async run(): Promise<UnpackResult> {
    const to = resolve(this.opts.to);
    try {
      await mkdir(to, { recursive: true });
      const st = await lstat(to);
      if (!st.isDirectory()) throw new Error("not a directory");
    } catch (e) {
      throw new FerryError("E_TARGET", `cannot use ${to} as the unpack target: ${(e as Error).message}`, {
        hint: "Pass a folder you can write to",
      });
    }
    this.root = Buffer.from(to);
    this.journalPath = `${to}/.ferry-unpack-${this.set.setHex.slice(0, 16)}.json`;
    await this.loadJournal();
    const stats = this.set.manifest!.stats;
    const present = this.set.drives.filter(Boolean).length;
    this.opts.onEvent?.({
      type: "start",
      set: this.set.setHex,
      files: stats.files,
      bytes: stats.bytes,
      drivesPresent: present,
      drivesTotal: this.set.layout.drives.length,
    });
    try {
      await this.passes();
    } finally {
      await this.small.close();
    }
    await rm(this.journalPath, { force: true });
    this.result.repairedStripes = this.reader.repairedStripes;
    this.result.badBlocks = this.reader.bad.length;
    this.result.blocksRead = this.reader.blocksRead;
    this.result.openFiles = this.order.maxOpen;
    this.progress(true);
    return this.result;
  }

  /**
   * Pass 1: folders and files. Pass 2: symlinks (after every file, so no file is ever written
   * through a link). Pass 3: folder modes and times (after their contents).
   */
  private async passes(): Promise<void> {
    for (let pass = this.journal.pass; pass <= 3; pass++) {
      let ordinal = 0;
      try {
        for await (const e of readIndex(this.set, this.reader)) {
          const skip = pass === this.journal.pass && ordinal < this.journal.done;
          const ord = ordinal++;
          if (this.failure) throw this.failure;
          if (this.match && !this.match(e.path.toString())) continue;
          if (pass === 1) await this.pass1(e, skip, ord);
          else if (pass === 2 && e.type === ENTRY_SYMLINK && !skip) await this.restoreSymlink(e);
          else if (pass === 3 && e.type === ENTRY_DIR && !skip) await this.dirMeta(e);
          await this.saveJournal(pass, this.doneBefore(ordinal), false);
        }
        while (this.ahead.length) await this.turn(this.ahead.shift()!);
        await this.pumpAll();
        await this.drain();
      } finally {
        // On failure too: no write or rename may outlive the run.
        await this.settle();
      }
      await this.saveJournal(pass + 1, 0, true);
    }
  }

  private async loadJournal(): Promise<void> {
    const only = this.opts.only?.length ? this.opts.only : null;
    this.journal = { set: this.set.setHex, pass: 1, done: 0, only };
    try {
      const j = JSON.parse(await readFile(this.journalPath, "utf8")) as Journal;
      if (
        j.set === this.set.setHex &&
        Number.isInteger(j.pass) &&
        Number.isInteger(j.done) &&
        JSON.stringify(j.only ?? null) === JSON.stringify(only)
      ) {
        this.journal = j;
        this.result.resumed = true;
      }
    } catch {
      // no journal: a fresh run
    }
  }

  /**
   * How many index entries are wholly done when the first `next` have been handed out: every
   * entry before the oldest file still finishing. The journal never counts an entry done
   * before it and all earlier ones are.
   */
  private doneBefore(next: number): number {
    let min = this.ahead[0]?.ord ?? next;
    for (const ord of this.finishing.keys()) min = Math.min(min, ord);
    for (const l of this.order.lanes) min = Math.min(min, l.file.ord);
    return min;
  }

  /** Waits for every file finishing in the background; throws the first failure. */
  private async drain(): Promise<void> {
    while (this.finishing.size) await Promise.all(this.finishing.values());
    if (this.failure) throw this.failure;
  }

  /** Waits for every write and background file, whatever their outcome; drops files opened ahead. */
  private async settle(): Promise<void> {
    for (const l of [...this.order.lanes]) {
      this.order.close(l);
      await this.abandon(l.file).catch(() => undefined);
    }
    for (const a of this.ahead.splice(0)) {
      const f = await a.file?.catch(() => null);
      if (!f) continue;
      await f.fh.close().catch(() => undefined);
      await rm(f.tmp, { force: true }).catch(() => undefined);
    }
    await this.pathChain;
    while (this.finishing.size) await Promise.all(this.finishing.values());
    while (this.writing.size) await Promise.all(this.writing);
  }

  /** Before touching `p` on disk: lets a file still finishing at that path land first. */
  private async awaitPath(p: Buffer): Promise<void> {
    if (this.finishingPaths.size && this.finishingPaths.has(p.toString("latin1"))) await this.drain();
  }

  private async saveJournal(pass: number, done: number, force: boolean): Promise<void> {
    const now = Date.now();
    if (!force && now - this.lastSave < 500) return;
    this.lastSave = now;
    const tmp = `${this.journalPath}.tmp`;
    await writeFile(tmp, JSON.stringify({ set: this.set.setHex, pass, done, only: this.journal.only }));
    await rename(tmp, this.journalPath);
  }

  /** Absolute path for an entry, after checking it and every parent on disk. */
  private async target(rel: Buffer, createParents: boolean): Promise<Buffer> {
    const parts = checkRelPath(rel);
    let cur = this.root;
    for (let i = 0; i < parts.length - 1; i++) {
      cur = Buffer.concat([cur, Buffer.from("/"), parts[i]!]);
      const key = cur.toString("latin1");
      if (this.safeDirs.has(key)) continue;
      await this.ensureDir(cur, createParents, rel);
      if (this.safeDirs.size > 4096) this.safeDirs.clear();
      this.safeDirs.add(key);
    }
    return Buffer.concat([cur, Buffer.from("/"), parts[parts.length - 1]!]);
  }

  private async ensureDir(p: Buffer, create: boolean, rel: Buffer): Promise<void> {
    await this.awaitPath(p);
    try {
      const st = await lstat(p);
      if (st.isDirectory()) return;
      throw new FerryError(
        "E_UNSAFE_PATH",
        `index entry ${JSON.stringify(rel.toString())} has a parent that is ${st.isSymbolicLink() ? "a symlink" : "not a folder"}`,
        {
          hint: "Nothing is written through links; unpack into an empty folder or remove the conflicting entry",
        },
      );
    } catch (e) {
      if (FerryError.is(e) || (e as NodeJS.ErrnoException).code !== "ENOENT" || !create) throw e;
    }
    await mkdir(p, { mode: 0o700 });
  }

  /**
   * Queues a pass-1 entry: its path is checked (and a folder entry's folder made) in index order
   * right away, a file's temp file is opened, and its content comes at its turn, OPEN_AHEAD
   * entries later.
   */
  private async pass1(e: IndexEntry, skip: boolean, ord: number): Promise<void> {
    if (e.type !== ENTRY_DIR && e.type !== ENTRY_FILE) return;
    const path = this.inOrder(async () => {
      const p = await this.target(e.path, true);
      if (e.type === ENTRY_DIR) {
        await this.ensureDir(p, true, e.path);
        this.safeDirs.add(p.toString("latin1"));
      }
      return p;
    });
    const file =
      e.type === ENTRY_FILE && !skip && !isSmall(e) ? path.then((p) => this.openTemp(p, ord, e.size)) : null;
    // Failures surface at the entry's turn (or never, when an earlier one stops the run).
    path.catch(() => undefined);
    file?.catch(() => undefined);
    this.ahead.push({ e, ord, skip, path, file });
    while (this.ahead.length > OPEN_AHEAD) await this.turn(this.ahead.shift()!);
  }

  /** Runs `fn` once every earlier call's `fn` has settled. */
  private inOrder<T>(fn: () => Promise<T>): Promise<T> {
    const r = this.pathChain.then(fn);
    this.pathChain = r.catch(() => undefined);
    return r;
  }

  /**
   * A pass-1 entry's turn, in index order: a folder is counted, a file is opened for restoring
   * (its content is read in log order, side by side with the other open files; see
   * log_order.ts), and open files advance until the next entry may be opened too.
   */
  private async turn(a: Ahead): Promise<void> {
    const { e, ord } = a;
    if (e.type === ENTRY_DIR) {
      await a.path;
      this.result.dirs++;
      return;
    }
    // A path listed twice (or a file listed under another): the earlier one lands first.
    if (this.openAt(e.path)) await this.pumpAll();
    const p = await a.path;
    // A file an interrupted run already restored is kept only if its content hashes right:
    // the size alone would accept an older copy, or garbage left by a power loss.
    if (a.skip) {
      await this.awaitPath(p);
      if (await this.alreadyRestored(e, p)) {
        this.result.files++;
        this.result.bytes += e.size;
        return;
      }
    }
    let tf: TempFile | null = null;
    try {
      if (!isSmall(e)) tf = await (a.file ?? this.openTemp(p, ord, e.size));
    } catch (err) {
      throw targetError(err, `write ${JSON.stringify(e.path.toString())} into the target`);
    }
    const lane = this.openFile(e, p, tf, ord);
    if (lane.chunks.length === 0) await this.complete(lane);
    const next = this.ahead[0];
    const nextChunks = next && next.e.type === ENTRY_FILE && !next.skip ? next.e.chunks : NO_CHUNKS;
    while (this.order.size && !this.order.canOpen(nextChunks)) await this.step(this.order.pick());
  }

  /** Whether an open file has this relative path, or is a parent of it. */
  private openAt(rel: Buffer): boolean {
    for (const l of this.order.lanes) {
      const q = l.file.e.path;
      if (
        rel.equals(q) ||
        (rel.length > q.length && rel[q.length] === SLASH && rel.subarray(0, q.length).equals(q))
      )
        return true;
    }
    return false;
  }

  /** Reads every open file to its end. */
  private async pumpAll(): Promise<void> {
    while (this.order.size) await this.step(this.order.pick());
  }

  /**
   * Creates the temp file entry `ordinal` is written to before its rename to `p`. Its name
   * depends only on the set and the entry (not the pid): a run killed mid-file leaves it
   * behind, and the resumed run, which always redoes that entry, reuses and renames it.
   * Entries finishing at the same time in one folder get different names.
   */
  private tempName(p: Buffer, ordinal: number): Buffer {
    const slash = p.lastIndexOf(SLASH);
    return Buffer.concat([
      p.subarray(0, slash + 1),
      Buffer.from(`.ferry-tmp-${this.set.setHex.slice(0, 16)}-${ordinal}`),
    ]);
  }

  private async openTemp(p: Buffer, ordinal: number, size: number): Promise<TempFile> {
    const tmp = this.tempName(p, ordinal);
    // Always a new file of our own: O_EXCL never follows a symlink or reuses a hard link, and a
    // leftover (or a planted link of the same name) is removed first. Trying first saves a
    // file-system call per file in the common case, where there is none.
    const flags = fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW;
    const create = async (f: number): Promise<FileHandle> => {
      try {
        return await open(tmp, f, 0o600);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        await rm(tmp, { force: true });
        return await open(tmp, f, 0o600);
      }
    };
    const direct = this.direct && size >= DIRECT_MIN;
    if (direct) {
      try {
        return { tmp, fh: await create(flags | fsc.O_DIRECT), direct };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EINVAL") throw err;
        // The target's filesystem has no O_DIRECT (it may have created the file first).
        this.direct = false;
      }
    }
    return { tmp, fh: await create(flags), direct: false };
  }

  private async alreadyRestored(e: FileEntry, p: Buffer): Promise<boolean> {
    let fh: Awaited<ReturnType<typeof open>> | null = null;
    try {
      fh = await open(p, fsc.O_RDONLY | fsc.O_NOFOLLOW);
      const st = await fh.stat();
      if (!st.isFile() || st.size !== e.size) return false;
      const h = new Blake3Hasher();
      const buf = Buffer.allocUnsafe(Math.min(4 << 20, Math.max(1, e.size)));
      for (let pos = 0; pos < e.size; ) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
        if (bytesRead === 0) return false;
        h.update(buf.subarray(0, bytesRead));
        pos += bytesRead;
      }
      return h.digestBuffer().equals(e.hash);
    } catch {
      return false;
    } finally {
      await fh?.close();
    }
  }

  /** A writer for a file being restored; its buffers count against WRITE_WINDOW until written. */
  private fileWriter(fh: FileHandle, direct: boolean): FileWriter {
    return new FileWriter(
      fh,
      direct,
      (b) => {
        this.writeBytes -= b.length;
        this.pool.give(b);
        this.stages.give(b);
        for (const w of this.throttled.splice(0)) w();
      },
      (p) => {
        this.writing.add(p);
        void p.then(() => this.writing.delete(p));
      },
    );
  }

  /** Waits while more than WRITE_WINDOW bytes are queued or being written. */
  private async throttle(): Promise<void> {
    while (this.writeBytes > WRITE_WINDOW && this.writing.size) {
      await new Promise<void>((r) => this.throttled.push(r));
    }
  }

  /**
   * Opens a file for restoring: its chunks are then read by {@link step}, in log order with the
   * other open files' chunks, and its writes overlap the reading of the next chunks.
   */
  private openFile(e: FileEntry, p: Buffer, tf: TempFile | null, ord: number): Lane<Restoring> {
    const writer = tf ? this.fileWriter(tf.fh, tf.direct) : null;
    // With O_DIRECT, plaintext is decrypted into aligned staging buffers that go out whole.
    const stager =
      tf && writer && tf.direct
        ? new Stager(
            this.stages,
            (b, at) => {
              this.writeBytes += b.length;
              writer.push(b, at);
            },
            e.size,
            this.stageCap(),
          )
        : null;
    const mem = tf ? null : [];
    return this.order.open(
      { e, p, ord, tf, writer, stager, mem, hasher: new Blake3Hasher(), pos: 0 },
      e.chunks,
    );
  }

  /** The largest staging buffer an open file may take for the rest of its content (STAGE_BUDGET). */
  private stageCap(): number {
    let cap = STAGE_SIZE;
    while (cap > 1 << 20 && cap * this.order.maxOpen > STAGE_BUDGET) cap /= 2;
    return cap;
  }

  /** Gives up an open file: its staged bytes, writes and temp file. */
  private async abandon(f: Restoring): Promise<void> {
    if (f.mem) {
      for (const b of f.mem.splice(0)) this.pool.give(b);
      return;
    }
    f.stager?.discard();
    await f.writer?.settle();
    await f.tf?.fh.close();
    if (f.tf) await rm(f.tf.tmp, { force: true });
  }

  /**
   * Reads, checks and writes the next chunk of an open file (`lane` from {@link LogOrder.pick});
   * after its last chunk, checks the whole-file hash and leaves the last writes, metadata and
   * rename to finish in the background. A file too damaged to restore is reported lost.
   */
  private async step(lane: Lane<Restoring> | null): Promise<void> {
    if (!lane) throw new FerryError("E_INTERNAL", "unpack has open files but no chunk to read");
    const f = lane.file;
    try {
      if (this.failure) throw this.failure;
      const ref = lane.chunks[lane.next]!;
      const into = f.stager?.reserve(ref.plainLength) ?? undefined;
      let plain: Buffer;
      try {
        plain = await readChunk(this.set, this.reader, ref, this.pool, into);
      } catch (err) {
        if (!FerryError.is(err, "E_UNRECOVERABLE")) throw err;
        this.order.close(lane);
        await this.abandon(f);
        const reason = err.message;
        this.result.lost.push({ path: f.e.path.toString(), reason });
        this.opts.onEvent?.({ type: "lost", path: f.e.path.toString(), reason });
        return;
      }
      lane.next++;
      f.hasher.update(plain);
      if (f.mem) f.mem.push(plain);
      else if (!f.stager) {
        this.writeBytes += plain.length;
        f.writer!.push(plain, f.pos);
      } else if (into && plain.buffer === into.buffer && plain.byteOffset === into.byteOffset) {
        f.stager.commit(plain.length);
      } else {
        f.stager.append(plain);
        this.pool.give(plain);
      }
      f.pos += plain.length;
      this.result.bytes += plain.length;
      this.progress(false);
      await this.throttle();
      if (f.writer?.error) throw f.writer.error;
    } catch (err) {
      this.order.close(lane);
      await this.abandon(f).catch(() => undefined);
      throw targetError(err, `write ${JSON.stringify(f.e.path.toString())} into the target`);
    }
    if (lane.next === lane.chunks.length) await this.complete(lane);
  }

  /** A file whose every chunk is read: checks its hash and finishes it in the background. */
  private async complete(lane: Lane<Restoring>): Promise<void> {
    this.order.close(lane);
    const { e, p, ord, tf, writer, stager, hasher } = lane.file;
    let tail: Buffer | null;
    try {
      if (!hasher.digestBuffer().equals(e.hash)) {
        throw new FerryError(
          "E_CORRUPT",
          `file ${JSON.stringify(e.path.toString())} does not match its recorded hash`,
          {
            hint: "The set was tampered with",
          },
        );
      }
      tail = stager?.finish() ?? null;
    } catch (err) {
      await this.abandon(lane.file).catch(() => undefined);
      throw err;
    }
    const key = p.toString("latin1");
    const work =
      tf && writer ? this.finishFile(e, p, tf.tmp, tf.fh, writer, tail, stager?.length ?? 0) : null;
    const task = (work ?? this.finishSmall(lane.file)).then(
      () => undefined,
      (err) => {
        this.failure ??= targetError(err, `write ${JSON.stringify(e.path.toString())} into the target`);
      },
    );
    const tracked = task.then(() => {
      this.finishing.delete(ord);
      const n = (this.finishingPaths.get(key) ?? 1) - 1;
      if (n > 0) this.finishingPaths.set(key, n);
      else this.finishingPaths.delete(key);
    });
    this.finishing.set(ord, tracked);
    this.finishingPaths.set(key, (this.finishingPaths.get(key) ?? 0) + 1);
    // Small files count apart: their cost is a copy, and a batch of them costs one thread wake-up.
    while (
      this.finishing.size - this.small.inflight >= MAX_FINISHING ||
      this.small.inflight >= MAX_FINISHING_SMALL
    ) {
      await Promise.race(this.finishing.values());
    }
  }

  /**
   * A small file whose content is checked: handed to the small-file writer (which creates,
   * writes, stamps and renames it on its own thread), its plaintext buffers back to the pool.
   * Renames there run in the order files are handed over; paths in an index are unique and
   * strictly increasing, so no rename here can overtake one of the same path.
   */
  private async finishSmall(f: Restoring): Promise<void> {
    const { e, p, ord } = f;
    const mem = f.mem!;
    f.mem = null;
    let done: Promise<void>;
    try {
      done = this.small.write({
        tmp: this.tempName(p, ord),
        path: p,
        data: mem,
        mode: e.mode & 0o7777,
        uid: e.uid,
        gid: e.gid,
        mtime: Number(e.mtimeNs) / 1e9,
      });
    } finally {
      for (const b of mem) this.pool.give(b);
    }
    try {
      await done;
    } catch (err) {
      const x = err as NodeJS.ErrnoException & { step?: string };
      throw x.step === "rename" ? renameError(err, e.path) : err;
    }
    this.result.files++;
  }

  /** The rest of a file whose content is checked: its writes, metadata, close and rename. */
  private async finishFile(
    e: FileEntry,
    p: Buffer,
    tmp: Buffer,
    fh: FileHandle,
    writer: FileWriter,
    /** With O_DIRECT: the bytes after the last whole unit, and the file's length. */
    tail: Buffer | null,
    length: number,
  ): Promise<void> {
    // Taken now, in index order; released whatever happens below.
    const before = this.renameChain;
    let release!: () => void;
    this.renameChain = new Promise((r) => {
      release = r;
    });
    try {
      let ok = false;
      try {
        await writer.settle();
        if (writer.error) throw writer.error;
        if (tail?.length) {
          // A partial unit cannot go with O_DIRECT: it goes through the page cache (a small,
          // quick write), which spares the padding and a truncate that would read it back.
          if (!native!.setDirect(fh.fd, false)) throw new Error("cannot turn O_DIRECT off");
          if (writeSync(fh.fd, tail, 0, tail.length, length - tail.length) !== tail.length) {
            throw new Error(`short write at offset ${length - tail.length}`);
          }
        }
        // chown first: the kernel clears setuid/setgid bits on chown. These calls only change
        // the inode and return at once; made directly they cost a few microseconds, where a
        // trip through the thread pool costs far more (for thousands of files).
        if (this.isRoot) fchownSync(fh.fd, e.uid, e.gid);
        fchmodSync(fh.fd, e.mode & 0o7777);
        const t = fsTime(Number(e.mtimeNs) / 1e9);
        futimesSync(fh.fd, t, t);
        ok = true;
      } finally {
        await fh.close();
        if (!ok) await rm(tmp, { force: true });
      }
      await before;
      try {
        renameSync(tmp, p);
      } catch (err) {
        await rm(tmp, { force: true });
        throw renameError(err, e.path);
      }
      this.result.files++;
      if (tail) this.result.directFiles++;
    } finally {
      release();
    }
  }

  private async restoreSymlink(e: IndexEntry & { type: typeof ENTRY_SYMLINK }): Promise<void> {
    const p = await this.target(e.path, true);
    try {
      const st = await lstat(p);
      if (st.isDirectory()) {
        throw new FerryError(
          "E_UNSAFE_PATH",
          `symlink ${JSON.stringify(e.path.toString())} would replace a folder`,
        );
      }
      await rm(p);
    } catch (err) {
      if (FerryError.is(err) || (err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    await symlink(e.target, p);
    if (this.isRoot) await lchown(p, e.uid, e.gid).catch(() => undefined);
    const t = fsTime(Number(e.mtimeNs) / 1e9);
    await lutimes(p, t, t).catch(() => undefined);
    this.result.symlinks++;
  }

  private async dirMeta(e: IndexEntry): Promise<void> {
    let p: Buffer;
    try {
      p = await this.target(e.path, false);
      const st = await lstat(p);
      if (!st.isDirectory()) return;
    } catch (err) {
      // A folder that was never created (its parent lost, say) has no metadata to set.
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
      throw err;
    }
    try {
      if (this.isRoot) await lchown(p, e.uid, e.gid);
      await chmod(p, e.mode & 0o7777);
      const t = fsTime(Number(e.mtimeNs) / 1e9);
      await lutimes(p, t, t);
    } catch (err) {
      throw targetError(err, `set the metadata of folder ${JSON.stringify(e.path.toString())}`);
    }
  }

  private progress(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.lastProgress < 250) return;
    this.lastProgress = now;
    this.opts.onEvent?.({
      type: "progress",
      files: this.result.files,
      bytes: this.result.bytes,
      totalBytes: this.set.manifest?.stats.bytes ?? 0,
    });
  }
}
