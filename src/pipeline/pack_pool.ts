/**
 * The worker threads that read, chunk, hash, compress and seal source files for pack, and the
 * main-thread side of their protocol (see pack_worker.ts). Work is handed out as messages of one
 * big file or a batch of small ones; results come back as sealed bytes in a few recycled
 * buffers per worker, so memory stays bounded whatever the data size: a worker that has no free
 * output buffer waits until the main thread has appended one to the log and given it back.
 *
 * Events of one worker arrive in the order it produced them (a file's chunks, then its `done`);
 * events of different workers interleave. {@link PackPool.onBatch} is called for one batch at a
 * time: the next waits until the previous one's promise settles.
 *
 * @example
 * const pool = new PackPool(2, init, async (events, buf) => { ... });
 * await pool.submit([{ job: 1, path: Buffer.from("/data/a") }], 1 << 20);
 * await pool.drain();
 * await pool.close();
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { ChunkParams } from "../chunk/index.js";
import { FerryError } from "../errors.js";

/** What each worker starts with. */
/** Files from this size up are read with O_DIRECT when {@link PackWorkerInit.directReads} is on. */
export const DIRECT_READ_MIN = 1 << 20;

export interface PackWorkerInit {
  idKey: Uint8Array;
  chunkKey: Uint8Array;
  setId: Uint8Array;
  chunk: ChunkParams;
  /** Bytes per source read. */
  readSize: number;
  /**
   * Read files of {@link DIRECT_READ_MIN} bytes and more with O_DIRECT where the page cache does
   * not hold them, the next read in flight while one is chunked (see pack_worker.ts); false reads
   * every file through the page cache.
   */
  directReads: boolean;
  /** Bytes per output buffer. */
  outSize: number;
  /** Set V8's young-generation tuning again as the worker starts (see tune.ts). */
  tuneYoungGeneration: boolean;
  /** Output buffers per worker (the cap on sealed bytes in flight). */
  outBuffers: number;
  /** Test hook module (see PackOptions.workerHook). */
  hook: string | null;
}

/** Messages to a worker. */
export type PackWorkerIn =
  | {
      type: "files";
      msg: number;
      files: { job: number; path: Uint8Array }[];
      /** Files found larger than this are not read but handed back (`b` event); 0: none. */
      handBack: number;
    }
  | { type: "recycle"; buf: ArrayBuffer };

/** What a worker reports, in order. */
export type PackWorkerEvent =
  /**
   * A chunk: its 32-byte id at `off..off+32` of the batch's buffer, its sealed bytes right after
   * (`len` of them). Ids and hashes travel in the transferred buffer, not as typed arrays of
   * their own: each of those would be a separate ArrayBuffer to clone and collect.
   */
  | { t: "c"; job: number; off: number; len: number; plain: number; flags: number }
  /** The file is read, stable, and every chunk of it was reported; its hash is at `hashOff..+32`. */
  | {
      t: "d";
      job: number;
      hashOff: number;
      size: number;
      /** Bytes of it read with O_DIRECT. */
      direct: number;
      mode: bigint;
      uid: bigint;
      gid: bigint;
      mtimeNs: bigint;
    }
  /** The file cannot be packed (unreadable, kept changing). */
  | { t: "s"; job: number; reason: string }
  /** The file changed while being read: forget its chunks so far, it is read again. */
  | { t: "r"; job: number }
  /** The file is bigger than the message's `handBack` and was not read: submit it on its own. */
  | { t: "b"; job: number; size: number }
  /** A `files` message is finished. */
  | { t: "e"; msg: number };

type WorkerOut =
  | { type: "batch"; buf: ArrayBuffer | null; events: PackWorkerEvent[] }
  | { type: "fatal"; message: string };

/** Threads pack uses by default: one per core. */
export function defaultPackThreads(): number {
  return Math.max(1, availableParallelism());
}

interface Slot {
  worker: Worker;
  /** `files` messages handed to it and not yet finished. */
  inflight: number;
  /** Bytes of source in those messages (for choosing the least loaded worker). */
  load: number;
  loads: Map<number, number>;
}

/** The pool; see the module comment. */
/**
 * Most bytes of files queued on one worker beyond the one it is packing. Each worker packs its
 * files in order and the main thread appends their chunks as they come, so the files packed at
 * the same time lie interleaved in the log: with big files queued four deep per worker, a file
 * could land 8 files away from its place in the index, and unpack (which follows the index) read
 * stripes twice. With this cap a big file waits for a free worker, and only as many files as
 * there are workers interleave.
 */
const MAX_QUEUED_BYTES = 16 << 20;

export class PackPool {
  private readonly slots: Slot[] = [];
  private chain: Promise<void> = Promise.resolve();
  private failure: unknown = null;
  private msgSeq = 0;
  private readonly waiters: (() => void)[] = [];
  private readonly perWorker: number;

  constructor(
    threads: number,
    init: PackWorkerInit,
    private readonly onBatch: (events: PackWorkerEvent[], buf: Buffer | null) => Promise<void> | void,
    perWorker = 4,
  ) {
    this.perWorker = perWorker;
    for (let i = 0; i < threads; i++) {
      const worker = new Worker(new URL("./pack_worker.js", import.meta.url), { workerData: init });
      const slot: Slot = { worker, inflight: 0, load: 0, loads: new Map() };
      worker.on("message", (m: WorkerOut) => this.receive(slot, m));
      worker.on("error", (e) => this.fail(e));
      worker.on("exit", (code) => {
        if (code !== 0 && !this.closing) this.fail(new Error(`pack worker exited with code ${code}`));
      });
      this.slots.push(slot);
    }
  }

  private closing = false;

  private fail(e: unknown): void {
    if (this.failure === null) this.failure = e ?? new Error("pack worker failed");
    for (const w of this.waiters.splice(0)) w();
  }

  private receive(slot: Slot, m: WorkerOut): void {
    if (m.type === "fatal") {
      this.fail(
        new FerryError("E_INTERNAL", `pack worker failed: ${m.message.split("\n")[0]}`, {
          hint: "This is a bug in ferry, or the machine ran out of memory; rerun the same command to resume",
        }),
      );
      return;
    }
    this.chain = this.chain.then(async () => {
      if (this.failure !== null) return;
      const buf = m.buf ? Buffer.from(m.buf) : null;
      try {
        await this.onBatch(m.events, buf);
      } catch (e) {
        this.fail(e);
        return;
      }
      if (m.buf) slot.worker.postMessage({ type: "recycle", buf: m.buf }, [m.buf]);
      for (const e of m.events) {
        if (e.t !== "e") continue;
        slot.inflight--;
        slot.load -= slot.loads.get(e.msg) ?? 0;
        slot.loads.delete(e.msg);
      }
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /**
   * Runs `fn` after every batch received so far is handled, and before any later one: for work
   * of the main thread that must not overlap {@link onBatch} (a checkpoint). Rejects with its
   * failure, which also stops the pool.
   */
  serial(fn: () => Promise<void> | void): Promise<void> {
    const r = this.chain.then(() => (this.failure === null ? fn() : undefined));
    this.chain = r.then(
      () => undefined,
      (e) => this.fail(e),
    );
    return r;
  }

  private check(): void {
    if (this.failure !== null) throw this.failure;
  }

  /**
   * Hands files to the least loaded worker (`bytes`: their total size), waiting while every
   * worker already has its share of messages, or of bytes (MAX_QUEUED_BYTES), in flight.
   */
  async submit(files: { job: number; path: Uint8Array }[], bytes: number, handBack = 0): Promise<void> {
    for (;;) {
      this.check();
      let best: Slot | null = null;
      for (const s of this.slots) {
        const room = s.inflight === 0 || (s.inflight < this.perWorker && s.load + bytes <= MAX_QUEUED_BYTES);
        if (room && (!best || s.load < best.load)) best = s;
      }
      if (best) {
        const msg = ++this.msgSeq;
        best.inflight++;
        best.load += bytes;
        best.loads.set(msg, bytes);
        best.worker.postMessage({ type: "files", msg, files, handBack } satisfies PackWorkerIn);
        return;
      }
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** Waits until every submitted file is reported and handled. */
  async drain(): Promise<void> {
    for (;;) {
      this.check();
      if (this.slots.every((s) => s.inflight === 0)) {
        await this.chain;
        this.check();
        return;
      }
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** Stops the workers (after a failure too). */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    await this.chain.catch(() => undefined);
  }
}
