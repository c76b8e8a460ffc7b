/**
 * Worker thread of {@link PackPool}: reads source files itself (synchronous reads are cheap in
 * a worker and cost no event-loop hops), cuts them into chunks, hashes the file and each chunk,
 * compresses where it pays and seals every chunk straight into a recycled output buffer. The main
 * thread only dedups, appends sealed bytes to the log and writes stripes.
 *
 * Protocol (messages in order, one job at a time):
 * - in `{ type: "files", msg, files: [{ job, path }], handBack }`: pack these files, in order;
 *   a file bigger than `handBack` (when > 0) is not read but handed back.
 * - in `{ type: "recycle", buf }`: an output buffer the main thread has finished with.
 * - out `{ type: "batch", buf, events }`: chunk ids, sealed bytes and file hashes in `buf`
 *   (transferred) and, in order,
 *   chunk / done / skip / restart / hand-back events of the jobs, and `end` when a `files`
 *   message is done.
 * - out `{ type: "fatal", message }`: a bug or an out-of-memory; the pool stops the pack.
 */
import { type BigIntStats, closeSync, fstatSync, read, readSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { Blake3Hasher } from "@napi-rs/blake-hash";
import { Chunker, chunkId, maybeCompressView } from "../chunk/index.js";
import { SEAL_OVERHEAD, seal } from "../crypto/index.js";
import { chunkAad, FLAG_ZSTD } from "../format/index.js";
import { allocAligned, DIRECT_ALIGN, native } from "../native/index.js";
import {
  CHANGED_REASON,
  NOT_REGULAR_REASON,
  openSourceSync,
  READ_TRIES,
  unchangedWhileRead,
} from "./source_file.js";
import {
  DIRECT_READ_MIN,
  type PackWorkerEvent,
  type PackWorkerInit,
  type PackWorkerIn,
} from "./pack_pool.js";
import { tuneYoungGeneration } from "./tune.js";

const init = workerData as PackWorkerInit;
// Starting this worker set V8's flags back to the command line's: pin the young generation again.
// The parent has decided (FERRY_V8_TUNE included), so this thread's own environment is not asked.
if (init.tuneYoungGeneration) tuneYoungGeneration({});
const idKey = Buffer.from(init.idKey);
const chunkKey = Buffer.from(init.chunkKey);
const setId = Buffer.from(init.setId);
const chunker = new Chunker(init.chunk);
const READ = init.readSize;
const directReads = init.directReads && native !== null && READ % DIRECT_ALIGN === 0;
/**
 * Page-aligned read buffers: a big file read with O_DIRECT has the next read in flight into one
 * while the other is cut, hashed and sealed; the page-cache path uses the first. The second is
 * made on the first direct read.
 */
const inBufs: Buffer[] = [directReads ? allocAligned(READ) : Buffer.allocUnsafeSlow(READ)];
const inBuf = inBufs[0]!;
/** One hasher for every file, reset in between (a new one per small file cost more than hashing it). */
const fileHasher = new Blake3Hasher();
/** Room for the largest sealed chunk, and then some, so a buffer usually holds several. */
const OUT_SIZE = Math.max(init.outSize, chunker.params.maxSize + SEAL_OVERHEAD + 32);

const hook = init.hook
  ? ((await import(init.hook)) as { default: (path: string, attempt: number) => void }).default
  : null;

const free: ArrayBuffer[] = [];
let made = 0;
let waiting: (() => void) | null = null;
const queue: PackWorkerIn[] = [];
let wake: (() => void) | null = null;

let out: Buffer | null = null;
let outPos = 0;
let events: PackWorkerEvent[] = [];

/** An output buffer: a recycled one, a new one while under the cap, or wait for one. */
async function takeOut(): Promise<Buffer> {
  for (;;) {
    const b = free.pop();
    if (b) return Buffer.from(b);
    if (made < init.outBuffers) {
      made++;
      return Buffer.from(new ArrayBuffer(OUT_SIZE));
    }
    await new Promise<void>((r) => {
      waiting = r;
    });
  }
}

/** Sends the sealed bytes and events gathered so far. */
function flush(): void {
  if (events.length === 0 && outPos === 0) return;
  const buf = out ? out.buffer : null;
  const msg = { type: "batch", buf, events };
  if (buf) parentPort!.postMessage(msg, [buf as ArrayBuffer]);
  else parentPort!.postMessage(msg);
  out = null;
  outPos = 0;
  events = [];
}

async function emitChunk(job: number, plain: Buffer): Promise<void> {
  // The file hash is fed chunk by chunk (chunks partition the file, in order), so each chunk is
  // hashed, identified and sealed while it is still in the CPU's cache.
  fileHasher.update(plain);
  const id = chunkId(idKey, plain);
  // A view of the compressor's scratch buffer, sealed before anything else is compressed.
  const c = maybeCompressView(plain);
  const flags = c.compressed ? FLAG_ZSTD : 0;
  const o = await reserve(32 + c.data.length + SEAL_OVERHEAD);
  o.set(id, outPos);
  const sealed = seal(chunkKey, c.data, chunkAad(setId, id, flags, plain.length), o.subarray(outPos + 32));
  events.push({ t: "c", job, off: outPos, len: sealed.length, plain: plain.length, flags });
  outPos += 32 + sealed.length;
}

/** The output buffer, with room for `need` more bytes at `outPos` (flushing or waiting for one). */
async function reserve(need: number): Promise<Buffer> {
  if (out && outPos + need > out.length) flush();
  if (!out) {
    out = await takeOut();
    outPos = 0;
  }
  return out;
}

const sourceError = (e: unknown) =>
  `read failed: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;

/** pread on the thread pool. */
function readAt(fd: number, buf: Buffer, pos: number): Promise<number> {
  return new Promise((res, rej) => read(fd, buf, 0, buf.length, pos, (e, n) => (e ? rej(e) : res(n))));
}

/**
 * Reads a big file from `start` (a multiple of {@link DIRECT_ALIGN}) with O_DIRECT (already set
 * on `fd`), straight from the drive into the aligned read buffers, the next read in flight while
 * the current one is chunked: no copy out of the page cache, and no page cache filled with a
 * source that is read once. Stops at `expected` bytes, at the end of the file, or at a read that
 * is not a whole buffer (the file's last, unaligned part, or a file that shrank); it then turns
 * O_DIRECT off so that the caller's page-cache loop reads whatever follows. A filesystem that
 * refuses a direct read (EINVAL) is read through the page cache from there. Returns the bytes
 * read and chunked, or null when the file could not be read (an `s` event is pushed).
 */
async function readDirect(fd: number, job: number, start: number, expected: number): Promise<number | null> {
  let size = start;
  let cur = 0;
  let pending: Promise<number> | null = readAt(fd, inBufs[0]!, start);
  try {
    while (pending) {
      let n: number;
      try {
        n = await pending;
      } catch (e) {
        pending = null;
        if ((e as NodeJS.ErrnoException).code === "EINVAL") break;
        events.push({ t: "s", job, reason: sourceError(e) });
        return null;
      }
      pending = null;
      if (n === 0) break;
      const buf = inBufs[cur]!;
      size += n;
      if (n === READ && size < expected) {
        cur ^= 1;
        pending = readAt(fd, inBufs[cur]!, size);
      }
      for (const c of chunker.views(buf.subarray(0, n))) await emitChunk(job, c);
      if (n < READ) break;
    }
  } finally {
    // Never leave a read in flight on a descriptor the caller is about to close.
    if (pending) await pending.catch(() => 0);
  }
  native!.setDirect(fd, false);
  return size;
}

async function packFile(job: number, path: Uint8Array, handBack: number): Promise<void> {
  for (let attempt = 0; attempt < READ_TRIES; attempt++) {
    let fd: number;
    try {
      fd = openSourceSync(Buffer.from(path.buffer, path.byteOffset, path.byteLength));
    } catch (e) {
      events.push({ t: "s", job, reason: `unreadable: ${(e as NodeJS.ErrnoException).code ?? e}` });
      return;
    }
    const hasher = fileHasher;
    hasher.reset();
    let size = 0;
    let direct = 0;
    let before: BigIntStats;
    let after: BigIntStats;
    chunker.reset();
    try {
      try {
        before = fstatSync(fd, { bigint: true });
      } catch (e) {
        events.push({ t: "s", job, reason: sourceError(e) });
        return;
      }
      if (!before.isFile()) {
        events.push({ t: "s", job, reason: NOT_REGULAR_REASON });
        return;
      }
      const expected = Number(before.size);
      if (handBack > 0 && expected > handBack) {
        events.push({ t: "b", job, size: expected });
        return;
      }
      // A big file is read through the page cache while the page cache holds it (a source just
      // written or read before), and with O_DIRECT from the first read it does not hold in full:
      // a cold read through the page cache cost this benchmark machine more system time than the
      // rest of the pack, and a direct read of data already in memory made the pack slower.
      let probe = directReads && expected >= DIRECT_READ_MIN;
      // Without read-ahead: a page-cache read of the cached start would fetch the cold rest into
      // the page cache before the probe of the next piece, which then read it all from there.
      if (probe) native!.adviseRandom?.(fd);
      for (;;) {
        // Stop at the size fstat gave (no read just to meet EOF: one syscall less per small
        // file); a file that grew meanwhile fails the size check below and is read again.
        if (size === expected && size > 0) break;
        if (probe && size % DIRECT_ALIGN === 0 && size < expected) {
          const want = Math.min(READ, expected - size);
          // -1: the kernel cannot tell (a file this user neither owns nor may write): a source too
          // big for memory is cold, so it is read direct.
          const cached = native!.cachedBytes(fd, size, want);
          if (cached < want) {
            probe = false;
            if (!native!.setDirect(fd, true)) continue; // no O_DIRECT here: the page cache
            inBufs[1] ??= allocAligned(READ);
            const got = await readDirect(fd, job, size, expected);
            if (got === null) return;
            direct += got - size;
            size = got;
            continue;
          }
        }
        let n: number;
        try {
          n = readSync(fd, inBuf, 0, READ, size);
        } catch (e) {
          events.push({ t: "s", job, reason: sourceError(e) });
          return;
        }
        if (n === 0) break;
        const data = inBuf.subarray(0, n);
        size += n;
        for (const c of chunker.views(data)) await emitChunk(job, c);
      }
      for (const c of chunker.finishViews()) await emitChunk(job, c);
      hook?.(Buffer.from(path).toString(), attempt);
      try {
        after = fstatSync(fd, { bigint: true });
      } catch (e) {
        events.push({ t: "s", job, reason: sourceError(e) });
        return;
      }
    } finally {
      closeSync(fd);
    }
    if (!unchangedWhileRead(before, after, size)) {
      events.push({ t: "r", job });
      continue;
    }
    const o = await reserve(32);
    o.set(hasher.digestBuffer(), outPos);
    events.push({
      t: "d",
      job,
      hashOff: outPos,
      size,
      direct,
      mode: after.mode,
      uid: after.uid,
      gid: after.gid,
      mtimeNs: after.mtimeNs,
    });
    outPos += 32;
    return;
  }
  events.push({ t: "s", job, reason: CHANGED_REASON });
}

async function run(): Promise<void> {
  for (;;) {
    const m = queue.shift();
    if (!m) {
      await new Promise<void>((r) => {
        wake = r;
      });
      continue;
    }
    if (m.type !== "files") continue;
    for (const f of m.files) {
      await packFile(f.job, f.path, m.handBack);
      // Big files stream out as their buffers fill; small ones go out together.
      if (outPos >= OUT_SIZE / 2) flush();
    }
    events.push({ t: "e", msg: m.msg });
    flush();
  }
}

parentPort!.on("message", (m: PackWorkerIn) => {
  if (m.type === "recycle") {
    free.push(m.buf);
    const w = waiting;
    waiting = null;
    w?.();
    return;
  }
  queue.push(m);
  const w = wake;
  wake = null;
  w?.();
});

run().catch((e) => {
  parentPort!.postMessage({ type: "fatal", message: (e as Error)?.stack ?? String(e) });
});
