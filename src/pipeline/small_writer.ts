/**
 * Small restored files, written by a worker thread in batches (see small_writer_worker.ts).
 *
 * Unpack hands over each small file once its content is complete and checked: the bytes are
 * copied into the current batch buffer (a few memcpys of at most {@link SMALL_WRITE_MAX} bytes,
 * and the plaintext buffers go straight back to their pool), and the batch goes to the worker on
 * the next turn of the event loop, or as soon as it is full. The worker creates the temp file,
 * writes it, sets owner, mode and times, closes it and renames it into place, all with
 * synchronous system calls, so a batch of files costs one thread wake-up instead of three per
 * file; meanwhile this thread decrypts and hashes the next ones.
 *
 * Files in a batch are written in the order they were handed over. Memory is bounded by the
 * caller, which waits for files to finish (see unpack.ts); batch buffers are reused.
 *
 * @example
 * const w = new SmallFileWriter(process.getuid?.() === 0);
 * await w.write({ tmp, path, data: [plain], mode: 0o644, uid: 0, gid: 0, mtime: 1.7e9 });
 * await w.close();
 */
import { Worker } from "node:worker_threads";
import { FerryError } from "../errors.js";
import { youngGenerationTuned } from "./tune.js";

/** Largest file content handed to the worker (unpack writes bigger files itself). */
export const SMALL_WRITE_MAX = 256 * 1024;
/** A batch is sent once it holds this many files or bytes, else on the next event-loop turn. */
const BATCH_FILES = 64;
const BATCH_BYTES = 1 << 20;
/** Batch buffers kept for reuse. */
const FREE_BUFFERS = 4;

/**
 * Numbers per file in a batch's `meta`: temp path offset and length, target path offset and
 * length, content offset and length (all in `buf`), mode, uid, gid, mtime in seconds.
 */
export const META_FIELDS = 10;

/**
 * A time in seconds as Node's `futimes`/`lutimes` take it: a number, or a Date before 1970.
 * Node replaces a negative number with the current time, so an mtime before 1970 would be
 * restored as "now"; a Date goes through as it is (to the millisecond).
 *
 * @example
 * futimesSync(fd, fsTime(-86400.5), fsTime(-86400.5)); // 1969-12-30T23:59:59.500Z
 */
export function fsTime(seconds: number): number | Date {
  return seconds >= 0 ? seconds : new Date(seconds * 1000);
}

/** A batch for the worker (both buffers transferred). */
export interface SmallBatch {
  buf: ArrayBuffer;
  meta: ArrayBuffer;
  n: number;
  /** Set the owner (unpack runs as root). */
  chown: boolean;
}

/** A file of a batch that could not be written. */
export interface SmallFileError {
  /** Its place in the batch. */
  i: number;
  step: "create" | "write" | "metadata" | "close" | "rename";
  /** errno code (`ENOSPC`, ...), or "". */
  code: string;
  message: string;
}

/** The worker's answer to a batch (both buffers transferred back). */
export interface SmallBatchDone {
  buf: ArrayBuffer;
  meta: ArrayBuffer;
  errors: SmallFileError[];
}

/** What the writer thread is started with. */
export interface SmallWriterInit {
  /**
   * Pin V8's young generation again ({@link youngGenerationTuned} in the parent): a worker's start
   * sets V8's flags back to the command line's, for the whole process. Unpack's young generation
   * then grew to 2 × 16 MiB near the end of a long run, its peak RSS with it (an 8 GiB set: 272 MB
   * against 238–241 with the pin).
   */
  tuneYoungGeneration: boolean;
}

/** One small file to write. */
export interface SmallFile {
  /** Temp path (in the target's folder), created with O_EXCL and renamed to `path`. */
  tmp: Buffer;
  path: Buffer;
  /** The content, in order (read only during {@link SmallFileWriter.write}). */
  data: Buffer[];
  mode: number;
  uid: number;
  gid: number;
  /** Modification (and access) time in seconds. */
  mtime: number;
}

interface Waiter {
  resolve: () => void;
  reject: (e: Error) => void;
}

/** A batch sent and not yet answered. */
interface Sent {
  waiters: Waiter[];
  answered: () => void;
}

/** See the module comment. */
export class SmallFileWriter {
  private worker: Worker | null = null;
  private buf: Buffer | null = null;
  private meta: Float64Array | null = null;
  private fill = 0;
  private waiters: Waiter[] = [];
  private scheduled = false;
  private readonly sent: Sent[] = [];
  /** Settles when the last batch sent is answered (batches are answered in order). */
  private lastAnswered: Promise<void> = Promise.resolve();
  private readonly free: { buf: ArrayBuffer; meta: ArrayBuffer }[] = [];
  private failure: Error | null = null;
  /** Files handed over and not yet reported. */
  inflight = 0;

  /**
   * @param chown set each file's owner (unpack runs as root)
   * @param makeWorker starts the writer thread (tests pass one that dies)
   */
  constructor(
    private readonly chown: boolean,
    private readonly makeWorker: () => Worker = () =>
      new Worker(new URL("./small_writer_worker.js", import.meta.url), {
        workerData: { tuneYoungGeneration: youngGenerationTuned() } satisfies SmallWriterInit,
      }),
  ) {}

  /**
   * Queues `f`; resolves once it is in place, rejects with the reason it is not: an Error with
   * the errno `code` and the `step` that failed ({@link SmallFileError}), or a FerryError.
   */
  write(f: SmallFile): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    let len = 0;
    for (const d of f.data) len += d.length;
    if (len > SMALL_WRITE_MAX) throw new FerryError("E_INTERNAL", "a file too big for the small-file writer");
    const need = f.tmp.length + f.path.length + len;
    if (this.buf && (this.fill + need > this.buf.length || this.waiters.length === BATCH_FILES)) this.send();
    if (!this.buf) this.take(need);
    const buf = this.buf!;
    const m = this.meta!;
    const at = this.waiters.length * META_FIELDS;
    m[at] = this.fill;
    m[at + 1] = f.tmp.length;
    this.fill += f.tmp.copy(buf, this.fill);
    m[at + 2] = this.fill;
    m[at + 3] = f.path.length;
    this.fill += f.path.copy(buf, this.fill);
    m[at + 4] = this.fill;
    m[at + 5] = len;
    for (const d of f.data) this.fill += d.copy(buf, this.fill);
    m[at + 6] = f.mode;
    m[at + 7] = f.uid;
    m[at + 8] = f.gid;
    m[at + 9] = f.mtime;
    this.inflight++;
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (this.fill >= BATCH_BYTES || this.waiters.length === BATCH_FILES) this.send();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.send();
      });
    }
    return done;
  }

  /** Stops the worker once every file handed over is reported. */
  async close(): Promise<void> {
    this.send();
    await this.lastAnswered;
    const w = this.worker;
    this.worker = null;
    await w?.terminate();
  }

  private take(need: number): void {
    const f = this.free.pop();
    const size = Math.max(BATCH_BYTES, need);
    this.buf = f && f.buf.byteLength >= size ? Buffer.from(f.buf) : Buffer.from(new ArrayBuffer(size));
    this.meta = new Float64Array(f ? f.meta : new ArrayBuffer(BATCH_FILES * META_FIELDS * 8));
    this.fill = 0;
  }

  private send(): void {
    if (!this.buf || this.waiters.length === 0) return;
    if (this.failure) {
      this.rejectQueued(this.failure);
      return;
    }
    const batch: SmallBatch = {
      buf: this.buf.buffer as ArrayBuffer,
      meta: this.meta!.buffer as ArrayBuffer,
      n: this.waiters.length,
      chown: this.chown,
    };
    let answered!: () => void;
    this.lastAnswered = new Promise((r) => {
      answered = r;
    });
    this.sent.push({ waiters: this.waiters, answered });
    this.waiters = [];
    this.buf = null;
    this.meta = null;
    this.fill = 0;
    this.start().postMessage(batch, [batch.buf, batch.meta]);
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const w = this.makeWorker();
    w.on("message", (d: SmallBatchDone) => this.done(d));
    w.on("error", (e) => this.fail(e));
    w.on("exit", (code) => {
      if (this.worker === w) this.fail(new Error(`the small-file writer thread exited with code ${code}`));
    });
    this.worker = w;
    return w;
  }

  private done(d: SmallBatchDone): void {
    if (this.free.length < FREE_BUFFERS) this.free.push({ buf: d.buf, meta: d.meta });
    const sent = this.sent.shift();
    if (!sent) return;
    const errs = new Map(d.errors.map((e) => [e.i, e]));
    for (let i = 0; i < sent.waiters.length; i++) {
      const e = errs.get(i);
      this.inflight--;
      if (!e) sent.waiters[i]!.resolve();
      else
        sent.waiters[i]!.reject(
          Object.assign(new Error(e.message), { code: e.code || undefined, step: e.step }),
        );
    }
    sent.answered();
  }

  /**
   * The worker thread failed or exited: every file handed over and not reported fails, those
   * still in the batch being filled too, and so does every later write. Nothing waits for an
   * answer that cannot come (review finding: a batch sent to the dead thread hung unpack).
   */
  private fail(e: unknown): void {
    this.failure ??= new FerryError(
      "E_INTERNAL",
      `the small-file writer failed: ${(e as Error)?.message ?? e}`,
      {
        hint: "This is a bug in ferry, or the machine ran out of memory; rerun the same command to resume",
        cause: e,
      },
    );
    const w = this.worker;
    this.worker = null;
    void w?.terminate();
    for (const sent of this.sent.splice(0)) {
      for (const x of sent.waiters) {
        this.inflight--;
        x.reject(this.failure);
      }
      sent.answered();
    }
    this.rejectQueued(this.failure);
  }

  /** Fails the files in the batch being filled. */
  private rejectQueued(e: Error): void {
    for (const x of this.waiters.splice(0)) {
      this.inflight--;
      x.reject(e);
    }
    this.buf = null;
    this.meta = null;
    this.fill = 0;
  }
}
