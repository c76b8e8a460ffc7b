/**
 * Worker thread of {@link SmallFileWriter} (small_writer.ts): creates, writes, stamps and renames
 * small restored files, a batch per message, with synchronous system calls. On the main thread
 * each of those files cost three trips through libuv's thread pool (open, write, close), and on
 * a two-core VM the thread wake-ups cost more than the file system work itself.
 *
 * Protocol: in `{ buf, meta, n, chown }` (both transferred): file `i` is described by
 * `meta[i * META_FIELDS ...]` (see small_writer.ts) with its temp path, target path and content
 * in `buf`; out `{ buf, meta, errors }` with both buffers transferred back and one error record
 * per file that failed, in order. Files are independent: one failing does not stop the others.
 */
import {
  closeSync,
  fchmodSync,
  fchownSync,
  constants as fsc,
  futimesSync,
  openSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import {
  fsTime,
  META_FIELDS,
  type SmallBatch,
  type SmallBatchDone,
  type SmallFileError,
  type SmallWriterInit,
} from "./small_writer.js";
import { tuneYoungGeneration } from "./tune.js";

// Starting this thread set V8's flags back to the command line's: pin the young generation again.
// The parent has decided (FERRY_V8_TUNE included), so this thread's own environment is not asked.
if ((workerData as SmallWriterInit | undefined)?.tuneYoungGeneration) tuneYoungGeneration({});

// A new file of our own: O_EXCL never follows a symlink or reuses a hard link (see unpack.ts).
const CREATE = fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW;

function create(tmp: Buffer): number {
  try {
    return openSync(tmp, CREATE, 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    // A leftover of an interrupted run (or a planted link of the same name): removed, not used.
    rmSync(tmp, { force: true });
    return openSync(tmp, CREATE, 0o600);
  }
}

function writeOne(buf: Buffer, m: Float64Array, at: number, chown: boolean): SmallFileError | null {
  const tmp = buf.subarray(m[at]!, m[at]! + m[at + 1]!);
  const path = buf.subarray(m[at + 2]!, m[at + 2]! + m[at + 3]!);
  const dataOff = m[at + 4]!;
  const dataLen = m[at + 5]!;
  let fd = -1;
  let step: SmallFileError["step"] = "create";
  try {
    fd = create(tmp);
    step = "write";
    for (let o = 0; o < dataLen; ) {
      const n = writeSync(fd, buf, dataOff + o, dataLen - o, o);
      if (n <= 0) throw Object.assign(new Error(`short write at offset ${o}`), { code: "EIO" });
      o += n;
    }
    step = "metadata";
    // chown first: the kernel clears setuid/setgid bits on chown.
    if (chown) fchownSync(fd, m[at + 7]!, m[at + 8]!);
    fchmodSync(fd, m[at + 6]!);
    const t = fsTime(m[at + 9]!);
    futimesSync(fd, t, t);
    step = "close";
    const f = fd;
    fd = -1;
    closeSync(f);
    step = "rename";
    renameSync(tmp, path);
    return null;
  } catch (e) {
    if (fd >= 0) {
      try {
        closeSync(fd);
      } catch {}
    }
    if (step !== "create") {
      try {
        rmSync(tmp, { force: true });
      } catch {}
    }
    const err = e as NodeJS.ErrnoException;
    return { i: -1, step, code: err.code ?? "", message: err.message ?? String(e) };
  }
}

parentPort!.on("message", (b: SmallBatch) => {
  const buf = Buffer.from(b.buf);
  const meta = new Float64Array(b.meta);
  const errors: SmallFileError[] = [];
  for (let i = 0; i < b.n; i++) {
    const err = writeOne(buf, meta, i * META_FIELDS, b.chown);
    if (err) errors.push({ ...err, i });
  }
  const out: SmallBatchDone = { buf: b.buf, meta: b.meta, errors };
  parentPort!.postMessage(out, [b.buf, b.meta]);
});
