import { chmodSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { FerryError } from "../errors.js";
import type { StoredEntry } from "../format/index.js";

/** Schema version of the origin catalog; migrations run from the stored value up to this. */
export const CATALOG_SCHEMA = 2;

/**
 * Schema 2. Rows name their set by a small integer (`sets.no`), not by the 32-character set id:
 * the id appeared in every row and every key and made up about a third of a small-file catalog.
 * An entry's `refs` hold each chunk's id and its place in the log (see {@link REF_SIZE}), so
 * writing the index needs no lookup per chunk.
 */
const SCHEMA_V2 = `
CREATE TABLE IF NOT EXISTS sets(
  no INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  source TEXT NOT NULL,
  state TEXT NOT NULL,
  created TEXT NOT NULL,
  layout TEXT NOT NULL,
  secrets TEXT NOT NULL,
  options TEXT NOT NULL,
  stripes INTEGER NOT NULL DEFAULT 0,
  log_length INTEGER NOT NULL DEFAULT 0,
  stats TEXT
);
CREATE TABLE IF NOT EXISTS chunks(
  set_no INTEGER NOT NULL, id BLOB NOT NULL, offset INTEGER NOT NULL, stored INTEGER NOT NULL,
  plain INTEGER NOT NULL, flags INTEGER NOT NULL,
  PRIMARY KEY(set_no, id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS entries(
  set_no INTEGER NOT NULL, path BLOB NOT NULL, type INTEGER NOT NULL,
  mode INTEGER NOT NULL, uid INTEGER NOT NULL, gid INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
  size INTEGER NOT NULL, hash BLOB, target BLOB, refs BLOB,
  PRIMARY KEY(set_no, path)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS skipped(set_no INTEGER NOT NULL, path BLOB NOT NULL, reason TEXT NOT NULL,
  PRIMARY KEY(set_no, path)) WITHOUT ROWID;
`;

/**
 * Bytes per chunk in an entry's `refs`: the 32-byte chunk id, then its place in the data log as
 * little-endian integers: offset (u64), stored length (u32), plain length (u32), flags (u8).
 */
export const REF_SIZE = 49;

/** A chunk's place in the data log. */
export interface ChunkRow {
  offset: number;
  stored: number;
  plain: number;
  flags: number;
}

/** Writes one chunk reference (id and place) at `at` of `out`. */
export function writeRef(out: Buffer, at: number, id: Uint8Array, c: ChunkRow): void {
  out.set(id, at);
  out.writeUInt32LE(c.offset % 0x1_0000_0000, at + 32);
  out.writeUInt32LE(Math.floor(c.offset / 0x1_0000_0000), at + 36);
  out.writeUInt32LE(c.stored, at + 40);
  out.writeUInt32LE(c.plain, at + 44);
  out.writeUInt8(c.flags, at + 48);
}

/** Reads the chunk reference at `at` of `refs` (the id is a view into `refs`). */
export function readRef(refs: Buffer, at: number): ChunkRow & { id: Buffer } {
  return {
    id: refs.subarray(at, at + 32),
    offset: refs.readUInt32LE(at + 32) + refs.readUInt32LE(at + 36) * 0x1_0000_0000,
    stored: refs.readUInt32LE(at + 40),
    plain: refs.readUInt32LE(at + 44),
    flags: refs.readUInt8(at + 48),
  };
}

/** Runs a catalog operation, turning SQLite failures (busy, full, I/O) into E_CATALOG. */
function guard<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (FerryError.is(e)) throw e;
    const code = (e as { code?: string }).code ?? "";
    throw new FerryError("E_CATALOG", `the origin catalog failed while ${what}: ${(e as Error).message}`, {
      hint: code.includes("BUSY")
        ? "Another process holds the catalog (a second ferry pack?); wait for it, or pass another --catalog, then rerun to resume"
        : "Check the disk holding the catalog (space, permissions), then rerun the same command to resume",
      cause: e,
    });
  }
}

/** A set as the origin catalog knows it. */
export interface SetRow {
  /** The set's number inside this catalog (rows of the other tables name it). */
  no: number;
  id: string;
  source: string;
  state: "packing" | "complete";
  created: string;
  layout: string;
  secrets: string;
  options: string;
  stripes: number;
  log_length: number;
  stats: string | null;
}

/** An entry as stored. */
export interface EntryRow {
  path: Buffer;
  type: number;
  mode: number;
  uid: number;
  gid: number;
  mtimeNs: bigint;
  size: number;
  hash: Buffer | null;
  target: Buffer | null;
  /** Files: {@link REF_SIZE} bytes per chunk, in file order (see {@link readRef}). */
  refs: Buffer | null;
}

/** An entry row as SQLite gives it with safe integers on (every integer a bigint). */
interface RawEntry {
  path: Buffer;
  type: bigint;
  mode: bigint;
  uid: bigint;
  gid: bigint;
  mtime_ns: bigint;
  size: bigint;
  hash: Buffer | null;
  target: Buffer | null;
  refs: Buffer | null;
}

function entryFrom(r: RawEntry): EntryRow {
  return {
    path: r.path,
    type: Number(r.type),
    mode: Number(r.mode),
    uid: Number(r.uid),
    gid: Number(r.gid),
    mtimeNs: r.mtime_ns,
    size: Number(r.size),
    hash: r.hash,
    target: r.target,
    refs: r.refs,
  };
}

/**
 * The origin catalog: a SQLite database that records what has been packed, so that pack can
 * resume after a crash and dedup across the whole set. It holds the set's secrets, so it is
 * created with mode 0600 and never copied to a drive.
 *
 * Sets are named by their id in {@link getSet}; every other call takes the set's number
 * (`SetRow.no`), a small integer local to this catalog.
 *
 * @example
 * const cat = Catalog.open("/home/me/.local/share/ferry/catalog.db");
 * const set = cat.getSet(id);
 * for (const e of cat.entries(set.no)) console.log(e.path.toString());
 */
export class Catalog {
  readonly db: Database.Database;
  private readonly st: ReturnType<Catalog["prepare"]>;

  private constructor(db: Database.Database) {
    this.db = db;
    this.st = this.prepare();
  }

  /** Opens (creating if needed) the catalog at `path`, migrating an older schema in place. */
  static open(path: string): Catalog {
    let db: Database.Database;
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      db = new Database(path);
      chmodSync(path, 0o600);
      db.pragma("journal_mode = WAL");
      // Progress commits do not wait for the disk: after a power loss the catalog may lag behind
      // the drives (never ahead of them: drives are fsynced before a commit names their stripes),
      // and a lagging catalog only makes resume redo some work. A FULL sync per checkpoint stalled
      // pack for ~0.15 s each. The set's creation and completion are made durable (see durably).
      db.pragma("synchronous = NORMAL");
      db.pragma("busy_timeout = 5000");
    } catch (e) {
      throw new FerryError("E_CATALOG", `cannot open catalog ${path}: ${(e as Error).message}`, {
        hint: "Check the path and its permissions, or pass --catalog FILE",
        cause: e,
      });
    }
    try {
      const version = Number(db.pragma("user_version", { simple: true }));
      if (version > CATALOG_SCHEMA) {
        throw new FerryError(
          "E_CATALOG",
          `catalog ${path} has schema ${version}; this ferry knows ${CATALOG_SCHEMA}`,
          { hint: "Use a newer ferry" },
        );
      }
      if (version === 1) guard(`migrating catalog ${path} to schema 2`, () => migrateV1(db));
      else if (version < 1) {
        db.exec(SCHEMA_V2);
        db.pragma(`user_version = ${CATALOG_SCHEMA}`);
      }
    } catch (e) {
      db.close();
      throw e;
    }
    return new Catalog(db);
  }

  private prepare() {
    const d = this.db;
    return {
      getSet: d.prepare("SELECT * FROM sets WHERE id = ?"),
      setsForSource: d.prepare("SELECT * FROM sets WHERE source = ? ORDER BY created DESC"),
      insertSet: d.prepare(
        "INSERT INTO sets(id, source, state, created, layout, secrets, options) VALUES (?, ?, 'packing', ?, ?, ?, ?)",
      ),
      progress: d.prepare("UPDATE sets SET stripes = ?, log_length = ? WHERE no = ?"),
      finish: d.prepare("UPDATE sets SET state = 'complete', stats = ? WHERE no = ?"),
      getChunk: d.prepare("SELECT offset, stored, plain, flags FROM chunks WHERE set_no = ? AND id = ?"),
      putChunk: d.prepare(
        "INSERT OR IGNORE INTO chunks(set_no, id, offset, stored, plain, flags) VALUES (?, ?, ?, ?, ?, ?)",
      ),
      getEntry: d.prepare("SELECT * FROM entries WHERE set_no = ? AND path = ?").safeIntegers(true),
      chunkIds: d.prepare("SELECT id FROM chunks WHERE set_no = ?").pluck(),
      anyEntry: d.prepare("SELECT 1 FROM entries WHERE set_no = ? LIMIT 1").pluck(),
      putEntry: d.prepare(
        `INSERT OR REPLACE INTO entries(set_no, path, type, mode, uid, gid, mtime_ns, size, hash, target, refs)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      entriesPage: d
        .prepare("SELECT * FROM entries WHERE set_no = ? AND path > ? ORDER BY path LIMIT 512")
        .safeIntegers(true),
      storedPage: d
        .prepare(
          `SELECT path, type, mode, uid, gid, mtime_ns >> 32, mtime_ns & 4294967295, size, hash, target, refs
           FROM entries WHERE set_no = ? AND path > ? ORDER BY path LIMIT 1024`,
        )
        .raw(true),
      countEntries: d.prepare("SELECT count(*) AS n FROM entries WHERE set_no = ?"),
      putSkipped: d.prepare("INSERT OR REPLACE INTO skipped(set_no, path, reason) VALUES (?, ?, ?)"),
      skipped: d.prepare("SELECT path, reason FROM skipped WHERE set_no = ?"),
    };
  }

  getSet(id: string): SetRow | undefined {
    return this.st.getSet.get(id) as SetRow | undefined;
  }
  setsForSource(source: string): SetRow[] {
    return this.st.setsForSource.all(source) as SetRow[];
  }
  /** Records a new set (durably) and returns its number. */
  createSet(id: string, source: string, layout: string, secrets: string, options: string): number {
    return this.durably(() =>
      guard("creating the set", () =>
        Number(
          this.st.insertSet.run(id, source, new Date().toISOString(), layout, secrets, options)
            .lastInsertRowid,
        ),
      ),
    );
  }

  /** Runs `fn` with every commit fsynced (synchronous = FULL), for records that must not roll back. */
  private durably<T>(fn: () => T): T {
    this.db.pragma("synchronous = FULL");
    try {
      return fn();
    } finally {
      this.db.pragma("synchronous = NORMAL");
    }
  }
  getChunk(set: number, id: Uint8Array): ChunkRow | undefined {
    return this.st.getChunk.get(set, id) as ChunkRow | undefined;
  }
  /** Every chunk id the set stores (streamed). */
  *chunkIds(set: number): Generator<Buffer> {
    // Consumed to the end before any other statement runs (the connection is busy meanwhile).
    yield* this.st.chunkIds.iterate(set) as IterableIterator<Buffer>;
  }

  /** Whether the set has any entry yet (a fresh set needs no resume lookups). */
  hasEntries(set: number): boolean {
    return this.st.anyEntry.get(set) !== undefined;
  }

  getEntry(set: number, path: Buffer): EntryRow | undefined {
    const r = this.st.getEntry.get(set, path) as RawEntry | undefined;
    return r && entryFrom(r);
  }
  /** All entries in byte order of their paths (the index order), a page at a time so other statements may run in between. */
  *entries(set: number): Generator<EntryRow> {
    let after: Buffer = Buffer.alloc(0);
    for (;;) {
      const page = this.st.entriesPage.all(set, after) as RawEntry[];
      if (page.length === 0) return;
      for (const r of page) yield entryFrom(r);
      after = page[page.length - 1]!.path;
    }
  }

  /**
   * All entries in byte order of their paths, a page (up to 1,024) at a time, as field arrays in
   * the order the index encoder takes them ({@link StoredEntry}): no object and no bigint per
   * entry, for writing the index of millions of files.
   */
  *storedEntryPages(set: number): Generator<StoredEntry[]> {
    let after: Buffer = Buffer.alloc(0);
    for (;;) {
      const page = guard("reading the entries", () => this.st.storedPage.all(set, after) as StoredEntry[]);
      if (page.length === 0) return;
      yield page;
      after = page[page.length - 1]![0];
    }
  }

  countEntries(set: number): number {
    return (this.st.countEntries.get(set) as { n: number }).n;
  }
  skipped(set: number): { path: Buffer; reason: string }[] {
    return this.st.skipped.all(set) as { path: Buffer; reason: string }[];
  }
  putSkipped(set: number, path: Buffer, reason: string): void {
    guard("recording a skipped file", () => this.st.putSkipped.run(set, path, reason));
  }

  /**
   * Records durable progress in one transaction: the chunks now inside durable stripes, the
   * entries whose every chunk is durable, and the new stripe count.
   */
  commit(
    set: number,
    progress: { stripes: number; logLength: number },
    chunks: ({ id: Uint8Array } & ChunkRow)[],
    entries: EntryRow[],
  ): void {
    const tx = this.db.transaction((): void => {
      for (const c of chunks) this.st.putChunk.run(set, c.id, c.offset, c.stored, c.plain, c.flags);
      for (const e of entries) {
        this.st.putEntry.run(
          set,
          e.path,
          e.type,
          e.mode,
          e.uid,
          e.gid,
          e.mtimeNs,
          e.size,
          e.hash,
          e.target,
          e.refs,
        );
      }
      this.st.progress.run(progress.stripes, progress.logLength, set);
    });
    guard("recording progress", () => tx());
  }

  /** Totals of everything recorded for a set (files, folders, bytes, chunks, stored bytes). */
  stats(set: number): {
    files: number;
    dirs: number;
    symlinks: number;
    skipped: number;
    bytes: number;
    chunks: number;
    dedupChunks: number;
    storedBytes: number;
    compressedChunks: number;
  } {
    return guard("summing the set", () => {
      const e = this.db
        .prepare(
          `SELECT coalesce(sum(type = 2), 0) AS files, coalesce(sum(type = 1), 0) AS dirs,
                  coalesce(sum(type = 3), 0) AS symlinks,
                  coalesce(sum(CASE WHEN type = 2 THEN size ELSE 0 END), 0) AS bytes,
                  coalesce(sum(length(refs) / ${REF_SIZE}), 0) AS refs
           FROM entries WHERE set_no = ?`,
        )
        .get(set) as { files: number; dirs: number; symlinks: number; bytes: number; refs: number };
      const c = this.db
        .prepare(
          `SELECT count(*) AS n, coalesce(sum(stored), 0) AS stored, coalesce(sum(flags & 1), 0) AS compressed
           FROM chunks WHERE set_no = ?`,
        )
        .get(set) as { n: number; stored: number; compressed: number };
      const s = this.db.prepare("SELECT count(*) AS n FROM skipped WHERE set_no = ?").get(set) as {
        n: number;
      };
      return {
        files: e.files,
        dirs: e.dirs,
        symlinks: e.symlinks,
        skipped: s.n,
        bytes: e.bytes,
        chunks: e.refs,
        dedupChunks: Math.max(0, e.refs - c.n),
        storedBytes: c.stored,
        compressedChunks: c.compressed,
      };
    });
  }

  finishSet(set: number, stats: unknown): void {
    this.durably(() => guard("finishing the set", () => this.st.finish.run(JSON.stringify(stats), set)));
  }

  close(): void {
    this.db.close();
  }
}

/**
 * Schema 1 → 2, in one transaction (a failure leaves schema 1 as it was): sets get numbers, rows
 * name their set by number, entries take their chunks' places from the chunk table, mtimes
 * become integers, and the unused `seq` column and its index go.
 */
function migrateV1(db: Database.Database): void {
  db.transaction(() => {
    db.exec(`
      DROP INDEX IF EXISTS entries_seq;
      ALTER TABLE sets RENAME TO v1_sets;
      ALTER TABLE chunks RENAME TO v1_chunks;
      ALTER TABLE entries RENAME TO v1_entries;
      ALTER TABLE skipped RENAME TO v1_skipped;
    `);
    db.exec(SCHEMA_V2);
    db.exec(`
      INSERT INTO sets(id, source, state, created, layout, secrets, options, stripes, log_length, stats)
        SELECT id, source, state, created, layout, secrets, options, stripes, log_length, stats
        FROM v1_sets ORDER BY created, id;
      INSERT INTO chunks SELECT s.no, c.id, c.offset, c.stored, c.plain, c.flags
        FROM v1_chunks c JOIN sets s ON s.id = c.set_id;
      INSERT INTO skipped SELECT s.no, k.path, k.reason FROM v1_skipped k JOIN sets s ON s.id = k.set_id;
    `);
    // Paged per set along v1's primary key (set_id, path): each page is one index seek.
    const sets = db.prepare("SELECT no, id FROM sets ORDER BY no").all() as { no: number; id: string }[];
    const page = db
      .prepare("SELECT * FROM v1_entries WHERE set_id = ? AND path > ? ORDER BY path LIMIT 512")
      .safeIntegers(true);
    const chunk = db.prepare("SELECT offset, stored, plain, flags FROM chunks WHERE set_no = ? AND id = ?");
    const put = db.prepare(
      `INSERT INTO entries(set_no, path, type, mode, uid, gid, mtime_ns, size, hash, target, refs)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    type V1Entry = Omit<RawEntry, "mtime_ns" | "refs"> & { mtime_ns: string; chunk_ids: Buffer | null };
    for (const set of sets) {
      let after: Buffer = Buffer.alloc(0);
      for (;;) {
        const rows = page.all(set.id, after) as V1Entry[];
        if (rows.length === 0) break;
        for (const r of rows) migrateEntry(set.no, r);
        after = rows[rows.length - 1]!.path;
      }
    }
    db.exec("DROP TABLE v1_entries; DROP TABLE v1_chunks; DROP TABLE v1_skipped; DROP TABLE v1_sets;");
    db.pragma(`user_version = ${CATALOG_SCHEMA}`);

    function migrateEntry(setNo: number, r: V1Entry): void {
      let refs: Buffer | null = null;
      if (r.chunk_ids) {
        refs = Buffer.alloc((r.chunk_ids.length / 32) * REF_SIZE);
        for (let i = 0; i * 32 < r.chunk_ids.length; i++) {
          const id = r.chunk_ids.subarray(i * 32, i * 32 + 32);
          const c = chunk.get(setNo, id) as ChunkRow | undefined;
          if (!c) {
            throw new FerryError(
              "E_CATALOG",
              `catalog has no chunk ${id.toString("hex")} of ${r.path.toString()}`,
            );
          }
          writeRef(refs, i * REF_SIZE, id, c);
        }
      }
      const mtime = BigInt(r.mtime_ns);
      put.run(setNo, r.path, r.type, r.mode, r.uid, r.gid, mtime, r.size, r.hash, r.target, refs);
    }
  })();
}
