import { FerryError } from "../errors.js";
import { CHUNK_ID_LEN, INDEX_MAGIC } from "./constants.js";

/** Entry types in the index. */
export const ENTRY_END = 0;
export const ENTRY_DIR = 1;
export const ENTRY_FILE = 2;
export const ENTRY_SYMLINK = 3;

/** Where one chunk of a file lives in the data log. */
export interface ChunkRef {
  id: Buffer;
  offset: number;
  storedLength: number;
  plainLength: number;
  flags: number;
}

/** Common metadata of an index entry. Paths are raw bytes, `/`-separated, relative. */
interface EntryBase {
  path: Buffer;
  mode: number;
  uid: number;
  gid: number;
  /** Modification time in nanoseconds since the epoch. */
  mtimeNs: bigint;
}
export interface DirEntry extends EntryBase {
  type: typeof ENTRY_DIR;
}
export interface FileEntry extends EntryBase {
  type: typeof ENTRY_FILE;
  size: number;
  /** BLAKE3-256 of the whole file content. */
  hash: Buffer;
  chunks: ChunkRef[];
}
export interface SymlinkEntry extends EntryBase {
  type: typeof ENTRY_SYMLINK;
  target: Buffer;
}
export type IndexEntry = DirEntry | FileEntry | SymlinkEntry;

/** Limits a reader enforces on untrusted index data. */
export const MAX_PATH_BYTES = 4096;
export const MAX_CHUNKS_PER_FILE = 1 << 24;
const REF_SIZE = CHUNK_ID_LEN + 8 + 4 + 4 + 1;
const BASE_SIZE = 1 + 4 + 4 + 4 + 4 + 8;

/** The index stream header: `"FIDX" || version u8 (1)`. */
export function indexHeader(): Buffer {
  return Buffer.concat([INDEX_MAGIC, Buffer.from([1])]);
}

/**
 * Encodes one entry as `type u8 || pathLen u32 || path || mode u32 || uid u32 || gid u32 ||
 * mtimeNs i64 || body` (little-endian), body per type (docs/FORMAT.md §Index).
 *
 * @example
 * const rec = encodeEntry({ type: ENTRY_DIR, path: Buffer.from("a"), mode: 0o755, uid: 0, gid: 0, mtimeNs: 0n });
 */
export function encodeEntry(e: IndexEntry): Buffer {
  let body = 0;
  if (e.type === ENTRY_FILE) body = 8 + 32 + 4 + e.chunks.length * REF_SIZE;
  else if (e.type === ENTRY_SYMLINK) body = 4 + e.target.length;
  const out = Buffer.allocUnsafe(BASE_SIZE + e.path.length + body);
  let o = 0;
  out[o++] = e.type;
  out.writeUInt32LE(e.path.length, o);
  o += 4;
  o += e.path.copy(out, o);
  out.writeUInt32LE(e.mode >>> 0, o);
  out.writeUInt32LE(e.uid >>> 0, o + 4);
  out.writeUInt32LE(e.gid >>> 0, o + 8);
  out.writeBigInt64LE(e.mtimeNs, o + 12);
  o += 20;
  if (e.type === ENTRY_FILE) {
    out.writeBigUInt64LE(BigInt(e.size), o);
    o += 8;
    o += e.hash.copy(out, o);
    out.writeUInt32LE(e.chunks.length, o);
    o += 4;
    for (const c of e.chunks) {
      o += c.id.copy(out, o);
      out.writeBigUInt64LE(BigInt(c.offset), o);
      out.writeUInt32LE(c.storedLength, o + 8);
      out.writeUInt32LE(c.plainLength, o + 12);
      out[o + 16] = c.flags;
      o += 17;
    }
  } else if (e.type === ENTRY_SYMLINK) {
    out.writeUInt32LE(e.target.length, o);
    o += 4;
    o += e.target.copy(out, o);
  }
  return out;
}

/**
 * An entry's fields as an origin catalog stores them, in this order, for {@link encodeStoredEntry}:
 * numbers only (no bigint, no object per entry), the modification time split into its high
 * (signed) and low (unsigned) 32 bits, and a file's chunk references already in the index's
 * 49-byte layout (id, offset u64, stored u32, plain u32, flags u8), concatenated.
 */
export type StoredEntry = [
  path: Buffer,
  type: number,
  mode: number,
  uid: number,
  gid: number,
  mtimeHi: number,
  mtimeLo: number,
  size: number,
  hash: Buffer | null,
  target: Buffer | null,
  refs: Buffer | null,
];

/** Bytes {@link encodeStoredEntry} writes for `e`. */
export function storedEntryLength(e: StoredEntry): number {
  let body = 0;
  if (e[1] === ENTRY_FILE) body = 8 + 32 + 4 + (e[10]?.length ?? 0);
  else if (e[1] === ENTRY_SYMLINK) body = 4 + (e[9]?.length ?? 0);
  return BASE_SIZE + e[0].length + body;
}

/**
 * Writes entry `e` at `at` of `out` (room for {@link storedEntryLength} bytes) and returns the
 * offset after it: the same bytes as {@link encodeEntry}, without building an {@link IndexEntry}
 * first. Pack writes the index of millions of files this way.
 *
 * @example
 * const end = encodeStoredEntry(out, 0, [Buffer.from("a"), ENTRY_DIR, 0o755, 0, 0, 0, 0, 0, null, null, null]);
 */
export function encodeStoredEntry(out: Buffer, at: number, e: StoredEntry): number {
  const [path, type, mode, uid, gid, mtimeHi, mtimeLo, size, hash, target, refs] = e;
  let o = at;
  out[o++] = type;
  out.writeUInt32LE(path.length, o);
  o += 4;
  o += path.copy(out, o);
  out.writeUInt32LE(mode >>> 0, o);
  out.writeUInt32LE(uid >>> 0, o + 4);
  out.writeUInt32LE(gid >>> 0, o + 8);
  out.writeUInt32LE(mtimeLo >>> 0, o + 12);
  out.writeInt32LE(mtimeHi | 0, o + 16);
  o += 20;
  if (type === ENTRY_FILE) {
    if (hash === null || hash.length !== 32)
      throw new FerryError("E_INTERNAL", "a file entry without its hash");
    const r = refs ?? EMPTY;
    if (r.length % REF_SIZE !== 0) throw new FerryError("E_INTERNAL", "chunk references of a bad length");
    out.writeUInt32LE(size % 0x1_0000_0000, o);
    out.writeUInt32LE(Math.floor(size / 0x1_0000_0000), o + 4);
    o += 8;
    o += hash.copy(out, o);
    out.writeUInt32LE(r.length / REF_SIZE, o);
    o += 4;
    o += r.copy(out, o);
  } else if (type === ENTRY_SYMLINK) {
    const t = target ?? EMPTY;
    out.writeUInt32LE(t.length, o);
    o += 4;
    o += t.copy(out, o);
  }
  return o;
}

const EMPTY = Buffer.alloc(0);

/** The end record: `0 u8 || entries u64`. */
export function encodeEnd(entries: number): Buffer {
  const b = Buffer.alloc(9);
  b[0] = ENTRY_END;
  b.writeBigUInt64LE(BigInt(entries), 1);
  return b;
}

function corrupt(what: string): never {
  throw new FerryError("E_CORRUPT", `index: ${what}`, {
    hint: "The decrypted index is malformed; the set was written by a broken or hostile tool",
  });
}

/**
 * Incremental index parser for untrusted input: feed decrypted bytes with `push`, get
 * complete entries back; `end()` checks that the end record was seen. Memory is bounded by
 * the largest single entry.
 *
 * @example
 * const p = new IndexParser();
 * for (const piece of pieces) for (const e of p.entries(piece)) handle(e);
 * p.end();
 */
export class IndexParser {
  private buf: Buffer = Buffer.alloc(0);
  private headerSeen = false;
  private done = false;
  private count = 0;
  /** Pieces held back while an entry known to need `need` bytes is incomplete (no O(n²) concat). */
  private prev: Buffer | null = null;
  private parts: Buffer[] = [];
  private partsLen = 0;
  private need = 0;

  /**
   * Adds decrypted bytes; returns the entries they complete (possibly none). See {@link entries}
   * for the lazy form.
   */
  push(data: Buffer): IndexEntry[] {
    return [...this.entries(data)];
  }

  /**
   * Adds decrypted bytes and yields the entries they complete, one at a time, each parsed only
   * when asked for: a consumer that drops each entry before taking the next keeps one alive,
   * where {@link push} makes a whole piece's worth at once (a 1 MiB piece holds thousands), which
   * outlive V8's young generation together. A consumer may stop early: the entries not taken
   * come out of the next call (the bytes must not be pushed again).
   */
  *entries(data: Buffer): Generator<IndexEntry, void, undefined> {
    if (this.done) {
      if (data.length) corrupt("data after the end record");
      return;
    }
    if (this.buf.length + this.partsLen + data.length < this.need) {
      this.parts.push(data);
      this.partsLen += data.length;
      return;
    }
    this.buf = this.buf.length || this.parts.length ? Buffer.concat([this.buf, ...this.parts, data]) : data;
    this.parts = [];
    this.partsLen = 0;
    this.need = 0;
    let o = 0;
    if (!this.headerSeen) {
      if (this.buf.length < 5) return;
      if (!this.buf.subarray(0, 4).equals(INDEX_MAGIC)) corrupt("bad magic");
      if (this.buf[4] !== 1) {
        throw new FerryError("E_FORMAT_VERSION", `index version ${this.buf[4]} is not supported`);
      }
      this.headerSeen = true;
      o = 5;
    }
    try {
      for (;;) {
        const r = this.parseOne(o);
        if (r === null) break;
        o = r.next;
        if (r.entry === null) {
          this.done = true;
          if (o !== this.buf.length) corrupt("data after the end record");
          break;
        }
        // Paths must be strictly increasing in byte order: duplicates and reordering are refused
        // with constant memory, and a folder always comes before its contents.
        if (this.prev && Buffer.compare(this.prev, r.entry.path) >= 0) {
          const same = this.prev.equals(r.entry.path);
          throw new FerryError(
            "E_UNSAFE_PATH",
            `index ${same ? "lists" : "is out of order at"} ${JSON.stringify(r.entry.path.toString())}${same ? " twice" : ""}`,
            { hint: "The set's index is hostile or corrupt; nothing outside the target was written" },
          );
        }
        this.prev = r.entry.path;
        this.count++;
        // The state is whole at every pause: a consumer that never resumes (nor returns) this
        // generator leaves the rest of the bytes for the next call.
        this.buf = this.buf.subarray(o);
        o = 0;
        yield r.entry;
      }
    } finally {
      this.buf = this.buf.subarray(o);
    }
  }

  /** Throws unless the end record was read. */
  end(): number {
    if (!this.done) corrupt("truncated (no end record)");
    return this.count;
  }

  private parseOne(o: number): { entry: IndexEntry | null; next: number } | null {
    const b = this.buf;
    if (b.length - o < 1) return null;
    const type = b[o]!;
    if (type === ENTRY_END) {
      if (b.length - o < 9) return null;
      const n = b.readBigUInt64LE(o + 1);
      if (n !== BigInt(this.count)) corrupt(`end record says ${n} entries, read ${this.count}`);
      return { entry: null, next: o + 9 };
    }
    if (type !== ENTRY_DIR && type !== ENTRY_FILE && type !== ENTRY_SYMLINK)
      corrupt(`unknown entry type ${type}`);
    if (b.length - o < 5) return null;
    const plen = b.readUInt32LE(o + 1);
    if (plen === 0 || plen > MAX_PATH_BYTES) corrupt(`path length ${plen} out of range`);
    let p = o + 5;
    if (b.length - p < plen + 20) return null;
    const path = Buffer.from(b.subarray(p, p + plen));
    p += plen;
    const mode = b.readUInt32LE(p);
    const uid = b.readUInt32LE(p + 4);
    const gid = b.readUInt32LE(p + 8);
    const mtimeNs = b.readBigInt64LE(p + 12);
    p += 20;
    if (type === ENTRY_DIR) return { entry: { type, path, mode, uid, gid, mtimeNs }, next: p };
    if (type === ENTRY_SYMLINK) {
      if (b.length - p < 4) return null;
      const tlen = b.readUInt32LE(p);
      if (tlen === 0 || tlen > MAX_PATH_BYTES) corrupt(`symlink target length ${tlen} out of range`);
      if (b.length - p - 4 < tlen) return null;
      const target = Buffer.from(b.subarray(p + 4, p + 4 + tlen));
      return { entry: { type, path, mode, uid, gid, mtimeNs, target }, next: p + 4 + tlen };
    }
    if (b.length - p < 44) return null;
    const size = b.readBigUInt64LE(p);
    if (size > BigInt(Number.MAX_SAFE_INTEGER)) corrupt("file size out of range");
    const hash = Buffer.from(b.subarray(p + 8, p + 40));
    const n = b.readUInt32LE(p + 40);
    if (n > MAX_CHUNKS_PER_FILE) corrupt(`file has ${n} chunks`);
    p += 44;
    if (b.length - p < n * REF_SIZE) {
      this.need = p - o + n * REF_SIZE;
      return null;
    }
    const chunks: ChunkRef[] = [];
    let total = 0;
    for (let i = 0; i < n; i++) {
      const off = b.readBigUInt64LE(p + 32);
      if (off > BigInt(Number.MAX_SAFE_INTEGER)) corrupt("chunk offset out of range");
      const ref: ChunkRef = {
        id: Buffer.from(b.subarray(p, p + 32)),
        offset: Number(off),
        storedLength: b.readUInt32LE(p + 40),
        plainLength: b.readUInt32LE(p + 44),
        flags: b[p + 48]!,
      };
      total += ref.plainLength;
      chunks.push(ref);
      p += REF_SIZE;
    }
    if (total !== Number(size)) corrupt(`file chunk lengths add up to ${total}, not ${size}`);
    return { entry: { type, path, mode, uid, gid, mtimeNs, size: Number(size), hash, chunks }, next: p };
  }
}
