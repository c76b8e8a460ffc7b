/**
 * What the bench's disk can do, so that every step's speed can be read against the hardware: the
 * disk's sequential write, read, and read-while-writing throughput with O_DIRECT (no page cache,
 * as ferry's drives and big files go), and from it each step's *disk ceiling*: the MB/s of source
 * data the step would reach if moving its bytes (as GNU time counts them) were all it did.
 *
 * @example
 * const d = await measureDisk(workDir, 2 << 30);
 * const c = diskCeiling(d, { read: 3.3e9, written: 3.2e9 }, 3.2e9); // MB/s of source, or null
 */
import { randomFillSync } from "node:crypto";
import { constants as fsc, rmSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { join } from "node:path";
import { allocAligned, native } from "../native/index.js";

/** Throughput of the disk under the bench's folder, MB (10^6 bytes) per second. */
export interface DiskSpeed {
  /** Sequential writes, several files at once. */
  writeMBps: number;
  /** Sequential reads of those files, several at once. */
  readMBps: number;
  /** Bytes read plus bytes written per second while half the streams read and half write. */
  mixedMBps: number;
  /** Bytes each phase moved. */
  bytes: number;
}

/** Streams at once: as many as libuv's default thread pool runs, as ferry's own I/O does. */
const STREAMS = 4;
/** Size of each read or write (ferry writes runs of 1 MiB block records). */
const IO_SIZE = 4 << 20;

async function openDirect(path: string, flags: number): Promise<FileHandle> {
  return open(path, flags | fsc.O_DIRECT, 0o644);
}

/** Writes `bytes` (a multiple of IO_SIZE) to `path` with O_DIRECT from `buf`. */
async function writeFile(path: string, bytes: number, buf: Buffer): Promise<void> {
  const fh = await openDirect(path, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_TRUNC);
  try {
    for (let pos = 0; pos < bytes; pos += buf.length) {
      const { bytesWritten } = await fh.write(buf, 0, buf.length, pos);
      if (bytesWritten !== buf.length) throw new Error(`short write to ${path}`);
    }
  } finally {
    await fh.close();
  }
}

/** Reads `path` to its end with O_DIRECT into `buf`; returns the bytes read. */
async function readFile(path: string, buf: Buffer): Promise<number> {
  const fh = await openDirect(path, fsc.O_RDONLY);
  let pos = 0;
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) return pos;
      pos += bytesRead;
    }
  } finally {
    await fh.close();
  }
}

async function timedAll(jobs: (() => Promise<unknown>)[]): Promise<number> {
  const t0 = process.hrtime.bigint();
  await Promise.all(jobs.map((j) => j()));
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/**
 * Measures the disk under `dir` with about `bytes` per phase (rounded to whole 4 MiB writes per
 * stream): STREAMS files written at once, then read back at once, then half of them read while as
 * many new files are written. Random data, so no layer below can compress or skip it. Returns
 * null where O_DIRECT is not available (no native kernel, or a filesystem such as tmpfs).
 * Leaves nothing behind.
 */
export async function measureDisk(dir: string, bytes: number): Promise<DiskSpeed | null> {
  if (!native) return null;
  const per = Math.max(1, Math.round(bytes / STREAMS / IO_SIZE)) * IO_SIZE;
  const bufs = Array.from({ length: STREAMS }, () => randomFillSync(allocAligned(IO_SIZE)));
  const files = Array.from({ length: STREAMS }, (_, i) => join(dir, `disk-probe-${i}`));
  const fresh = Array.from({ length: STREAMS / 2 }, (_, i) => join(dir, `disk-probe-new-${i}`));
  try {
    let write: number;
    try {
      write = await timedAll(files.map((f, i) => () => writeFile(f, per, bufs[i]!)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EINVAL") return null;
      throw e;
    }
    const read = await timedAll(files.map((f, i) => () => readFile(f, bufs[i]!)));
    // Half the streams read 2 files each while the other half write as much: equal volumes.
    const half = STREAMS / 2;
    const mixed = await timedAll([
      ...Array.from({ length: half }, (_, i) => async () => {
        for (let j = i; j < STREAMS; j += half) await readFile(files[j]!, bufs[i]!);
      }),
      ...fresh.map((f, i) => () => writeFile(f, per * 2, bufs[half + i]!)),
    ]);
    const total = per * STREAMS;
    return {
      writeMBps: total / 1e6 / write,
      readMBps: total / 1e6 / read,
      mixedMBps: (2 * total) / 1e6 / mixed,
      bytes: total,
    };
  } finally {
    for (const f of [...files, ...fresh]) rmSync(f, { force: true });
  }
}

/**
 * A step's disk ceiling in MB/s of its `source` bytes: the time the disk needs to move what the
 * step read and wrote (reads alone at the read speed, writes alone at the write speed, both at
 * the mixed speed), turned into a speed. Null when the step moved nothing (all from the page
 * cache: it is then bound by the CPU, not the disk).
 */
export function diskCeiling(
  d: DiskSpeed,
  moved: { read: number; written: number },
  source: number,
): number | null {
  const { read, written } = moved;
  // Under 1% of the source is noise (metadata, a log): not what bounds the step.
  const r = read >= source * 0.01 ? read : 0;
  const w = written >= source * 0.01 ? written : 0;
  if (r === 0 && w === 0) return null;
  const seconds =
    r > 0 && w > 0 ? (r + w) / 1e6 / d.mixedMBps : r > 0 ? r / 1e6 / d.readMBps : w / 1e6 / d.writeMBps;
  return source / 1e6 / seconds;
}
