import { constants as fsc } from "node:fs";
import { type FileHandle, open, stat } from "node:fs/promises";
import { join } from "node:path";
import { Blake3Hasher } from "@napi-rs/blake-hash";
import { FerryError } from "../errors.js";
import {
  BLOCK_HEADER_SIZE,
  BLOCKS_DIR,
  blockLocation,
  DRIVE_DIR,
  decodeEnvelope,
  MAX_ENVELOPE_BODY,
  INDEX_FILE,
  type Envelope,
  KIND_LABEL,
  KIND_MANIFEST,
  LABEL_FILE,
  type LabelBody,
  MANIFEST_FILE,
  type ManifestBody,
  SUMS_FILE,
} from "../format/index.js";
import { allocAligned, DIRECT_ALIGN, directWrites, native } from "../native/index.js";

/**
 * An open block segment: `fh` reads with O_DIRECT when `direct`; `plain` is a handle through the
 * page cache, opened when a read cannot go direct (an unaligned buffer, the tail after a short
 * read, a filesystem that refuses a direct read).
 */
interface Segment {
  fh: FileHandle;
  /** `fh` was opened with O_DIRECT. */
  direct: boolean;
  /** Reads still try `fh` direct (false once the filesystem refused a direct read). */
  tryDirect: boolean;
  plain: Promise<FileHandle | null> | null;
  path: string;
}

/** Whether a buffer starts on a {@link DIRECT_ALIGN} boundary (always false without the kernel). */
function aligned(b: Buffer): boolean {
  return native !== null && native.alignGap(b, DIRECT_ALIGN) === 0;
}

/** Reads a label or manifest: a regular file no larger than an envelope can be (never a FIFO or device). */
async function readSmallFile(path: string, what: string): Promise<Buffer> {
  const fh = await open(path, fsc.O_RDONLY | fsc.O_NONBLOCK | fsc.O_NOFOLLOW);
  try {
    const st = await fh.stat();
    if (!st.isFile() || st.size > MAX_ENVELOPE_BODY + 80) {
      throw new FerryError("E_CORRUPT", `${what} is not a regular file of envelope size`, {
        hint: "The drive is damaged or tampered with; try another drive of the set",
      });
    }
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}

/**
 * Read access to one drive of a set: its label, manifest, SUMS entries and blocks.
 * All reads are positional; open segment handles are cached.
 *
 * @example
 * const d = await DriveReader.open("/mnt/a");
 * const rec = await d.readBlock(0);
 */
export class DriveReader {
  /** Open segments by name (a promise, so that concurrent first reads open it once). */
  private segs = new Map<string, Promise<Segment | null>>();
  /** The SUMS handle, opened once (a promise, so that concurrent first reads open it once). */
  private sumsFh: Promise<FileHandle | null> | undefined;
  /** Block records read whole with O_DIRECT so far (see {@link readBlock}). */
  directReads = 0;

  private constructor(
    readonly path: string,
    readonly root: string,
    readonly label: Envelope<LabelBody>,
    readonly manifest: Envelope<ManifestBody> | null,
    readonly manifestError: FerryError | null,
  ) {}

  /** Opens a drive path; throws E_NOT_A_DRIVE when it holds no ferry label. */
  static async open(path: string): Promise<DriveReader> {
    const root = join(path, DRIVE_DIR);
    let labelBytes: Buffer;
    try {
      labelBytes = await readSmallFile(join(root, LABEL_FILE), `label of ${path}`);
    } catch (e) {
      if (FerryError.is(e)) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") {
        throw new FerryError(
          "E_NOT_A_DRIVE",
          `${path} holds no ferry drive (no ${DRIVE_DIR}/${LABEL_FILE})`,
          {
            hint: "Check the mount point; a ferry drive has a ferry/ folder at its top",
          },
        );
      }
      throw new FerryError("E_DRIVE_IO", `cannot read the label of ${path}: ${(e as Error).message}`, {
        hint: "Check that the drive is mounted and readable",
        cause: e,
      });
    }
    const label = decodeEnvelope<LabelBody>(labelBytes, KIND_LABEL, `label of ${path}`);
    let manifest: Envelope<ManifestBody> | null = null;
    let manifestError: FerryError | null = null;
    try {
      const bytes = await readSmallFile(join(root, MANIFEST_FILE), `manifest of ${path}`);
      manifest = decodeEnvelope<ManifestBody>(bytes, KIND_MANIFEST, `manifest of ${path}`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") {
        manifestError = FerryError.is(e)
          ? e
          : new FerryError("E_DRIVE_IO", `cannot read the manifest of ${path}: ${(e as Error).message}`);
      }
    }
    return new DriveReader(path, root, label, manifest, manifestError);
  }

  get index(): number {
    return this.label.body.drive.index;
  }

  private seg(name: string, direct: boolean): Promise<Segment | null> {
    let p = this.segs.get(name);
    if (!p) {
      const path = join(this.root, BLOCKS_DIR, name);
      p = (async (): Promise<Segment | null> => {
        if (direct) {
          try {
            const fh = await open(path, fsc.O_RDONLY | fsc.O_DIRECT);
            return { fh, direct: true, tryDirect: true, plain: null, path };
          } catch (e) {
            // EINVAL: this filesystem does not do O_DIRECT (tmpfs, some FUSE mounts).
            if ((e as NodeJS.ErrnoException).code !== "EINVAL") return null;
          }
        }
        try {
          const fh = await open(path, fsc.O_RDONLY);
          return { fh, direct: false, tryDirect: false, plain: null, path };
        } catch {
          return null;
        }
      })();
      this.segs.set(name, p);
    }
    return p;
  }

  /** The page-cache handle of a segment opened direct (opened once, on first need). */
  private plainOf(s: Segment): Promise<FileHandle | null> {
    if (!s.direct) return Promise.resolve(s.fh);
    s.plain ??= open(s.path, fsc.O_RDONLY).catch(() => null);
    return s.plain;
  }

  /**
   * Reads block record `n` (header || payload). Returns null when the block is absent
   * (missing segment or short read) or unreadable; never throws for I/O damage.
   *
   * Records that are whole {@link DIRECT_ALIGN} units (sets packed with the default block size)
   * are read with O_DIRECT, straight from the drive into `into`, when `into` starts on such a
   * boundary (see {@link allocAligned}): no page-cache copy and no page cache filled with blocks
   * that are read once. `FERRY_DIRECT=0` reads through the page cache.
   */
  async readBlock(n: number, blockSize: number, into?: Buffer): Promise<Buffer | null> {
    const loc = blockLocation(n, blockSize);
    const len = BLOCK_HEADER_SIZE + blockSize;
    const wantDirect = len % DIRECT_ALIGN === 0 && directWrites();
    const seg = await this.seg(loc.segment, wantDirect);
    if (!seg) return null;
    const buf =
      into && into.length >= len
        ? into.subarray(0, len)
        : seg.direct
          ? allocAligned(len)
          : Buffer.allocUnsafe(len);
    try {
      let got = 0;
      if (seg.tryDirect && aligned(buf)) {
        try {
          got = (await seg.fh.read(buf, 0, len, loc.offset)).bytesRead;
        } catch (e) {
          // EINVAL: the filesystem opened it direct but refuses direct reads. Any other failure
          // (EIO, ENOMEM pinning pages, a FUSE mount's EOPNOTSUPP) is tried once more through the
          // page cache below: only a read that fails there too makes the block unreadable.
          if ((e as NodeJS.ErrnoException).code === "EINVAL") seg.tryDirect = false;
          got = 0;
        }
        if (got === len) {
          this.directReads++;
          return buf;
        }
      }
      // Through the page cache: the whole record, or what a short direct read left (the end of
      // a truncated segment, or a read cut short).
      const fh = await this.plainOf(seg);
      if (!fh) return null;
      while (got < len) {
        const { bytesRead } = await fh.read(buf, got, len - got, loc.offset + got);
        if (bytesRead === 0) return null;
        got += bytesRead;
      }
      return buf;
    } catch {
      return null;
    }
  }

  /** Reads `count` SUMS entries starting at block `n`; missing entries come back short. */
  async readSums(n: number, count: number): Promise<Buffer> {
    this.sumsFh ??= open(join(this.root, SUMS_FILE), fsc.O_RDONLY).catch(() => null);
    const fh = await this.sumsFh;
    if (!fh) return Buffer.alloc(0);
    const buf = Buffer.allocUnsafe(count * 32);
    try {
      const { bytesRead } = await fh.read(buf, 0, buf.length, n * 32);
      return buf.subarray(0, bytesRead - (bytesRead % 32));
    } catch {
      return Buffer.alloc(0);
    }
  }

  /** Reads `length` bytes of this drive's index replica at `offset`; null when absent or short. */
  async readIndexReplica(offset: number, length: number): Promise<Buffer | null> {
    let fh: FileHandle | null = null;
    try {
      fh = await open(join(this.root, INDEX_FILE), fsc.O_RDONLY);
      const buf = Buffer.allocUnsafe(length);
      const { bytesRead } = await fh.read(buf, 0, length, offset);
      return bytesRead === length ? buf : null;
    } catch {
      return null;
    } finally {
      await fh?.close();
    }
  }

  /**
   * Size and BLAKE3-256 (hex) of a file in ferry/ (SUMS, INDEX), read in 4 MiB pieces so memory
   * stays flat however large it is; null when absent or unreadable.
   */
  async hashFile(name: typeof SUMS_FILE | typeof INDEX_FILE): Promise<{ size: number; hash: string } | null> {
    let fh: FileHandle | null = null;
    try {
      fh = await open(join(this.root, name), fsc.O_RDONLY);
      const h = new Blake3Hasher();
      const buf = Buffer.allocUnsafe(4 << 20);
      let size = 0;
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, size);
        if (bytesRead === 0) break;
        h.update(buf.subarray(0, bytesRead));
        size += bytesRead;
      }
      return { size, hash: h.digestBuffer().toString("hex") };
    } catch {
      return null;
    } finally {
      await fh?.close();
    }
  }

  /** Size in bytes of a segment file, or -1 when missing. */
  async segmentSize(name: string): Promise<number> {
    try {
      return (await stat(join(this.root, BLOCKS_DIR, name))).size;
    } catch {
      return -1;
    }
  }

  async close(): Promise<void> {
    const segs = [...this.segs.values()];
    this.segs.clear();
    for (const p of segs) {
      const seg = await p;
      await seg?.fh.close();
      if (seg?.direct && seg.plain) await (await seg.plain)?.close();
    }
    const sums = this.sumsFh;
    this.sumsFh = undefined;
    await (await sums)?.close();
  }
}
