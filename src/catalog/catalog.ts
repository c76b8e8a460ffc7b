import { chmodSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { FerryError } from "../errors.js";

/** Schema version of the origin catalog; migrations run from the stored value up to this. */
export const CATALOG_SCHEMA = 1;

const SCHEMA_V1 = `
CREATE TABLE IF NOT EXISTS sets(
  id TEXT PRIMARY KEY,
  source TEXT NOT NULL,
  state TEXT NOT NULL,
  created TEXT NOT NULL,
  layout TEXT NOT NULL,
  secrets TEXT NOT NULL,
  options TEXT NOT NULL,
  stripes INTEGER NOT NULL DEFAULT 0,
  log_length INTEGER NOT NULL DEFAULT 0,
  next_seq INTEGER NOT NULL DEFAULT 0,
  stats TEXT
);
CREATE TABLE IF NOT EXISTS chunks(
  set_id TEXT NOT NULL, id BLOB NOT NULL, offset INTEGER NOT NULL, stored INTEGER NOT NULL,
  plain INTEGER NOT NULL, flags INTEGER NOT NULL,
  PRIMARY KEY(set_id, id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS entries(
  set_id TEXT NOT NULL, path BLOB NOT NULL, seq INTEGER NOT NULL, type INTEGER NOT NULL,
  mode INTEGER NOT NULL, uid INTEGER NOT NULL, gid INTEGER NOT NULL, mtime_ns TEXT NOT NULL,
  size INTEGER NOT NULL, hash BLOB, target BLOB, chunk_ids BLOB,
  PRIMARY KEY(set_id, path)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entries_seq ON entries(set_id, seq);
CREATE TABLE IF NOT EXISTS skipped(set_id TEXT NOT NULL, path BLOB NOT NULL, reason TEXT NOT NULL,
  PRIMARY KEY(set_id, path)) WITHOUT ROWID;
`;

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
  id: string;
  source: string;
  state: "packing" | "complete";
  created: string;
  layout: string;
  secrets: string;
  options: string;
  stripes: number;
  log_length: number;
  next_seq: number;
  stats: string | null;
}

/** A chunk's place in the data log. */
export interface ChunkRow {
  offset: number;
  stored: number;
  plain: number;
  flags: number;
}

/** An entry row as stored. */
export interface EntryRow {
  path: Buffer;
  seq: number;
  type: number;
  mode: number;
  uid: number;
  gid: number;
  mtime_ns: string;
  size: number;
  hash: Buffer | null;
  target: Buffer | null;
  chunk_ids: Buffer | null;
}

/**
 * The origin catalog: a SQLite database that records what has been packed, so that pack can
 * resume after a crash and dedup across the whole set. It holds the set's secrets, so it is
 * created with mode 0600 and never copied to a drive.
 *
 * @example
 * const cat = Catalog.open("/home/me/.local/share/ferry/catalog.db");
 * const set = cat.getSet(id);
 */
export class Catalog {
  readonly db: Database.Database;
  private readonly st: ReturnType<Catalog["prepare"]>;

  private constructor(db: Database.Database) {
    this.db = db;
    this.st = this.prepare();
  }

  /** Opens (creating if needed) the catalog at `path`. */
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
    const version = Number(db.pragma("user_version", { simple: true }));
    if (version > CATALOG_SCHEMA) {
      db.close();
      throw new FerryError(
        "E_CATALOG",
        `catalog ${path} has schema ${version}; this ferry knows ${CATALOG_SCHEMA}`,
        {
          hint: "Use a newer ferry",
        },
      );
    }
    if (version < 1) {
      db.exec(SCHEMA_V1);
      db.pragma(`user_version = ${CATALOG_SCHEMA}`);
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
      progress: d.prepare("UPDATE sets SET stripes = ?, log_length = ?, next_seq = ? WHERE id = ?"),
      finish: d.prepare("UPDATE sets SET state = 'complete', stats = ? WHERE id = ?"),
      getChunk: d.prepare("SELECT offset, stored, plain, flags FROM chunks WHERE set_id = ? AND id = ?"),
      putChunk: d.prepare(
        "INSERT OR IGNORE INTO chunks(set_id, id, offset, stored, plain, flags) VALUES (?, ?, ?, ?, ?, ?)",
      ),
      getEntry: d.prepare("SELECT * FROM entries WHERE set_id = ? AND path = ?"),
      chunkIds: d.prepare("SELECT id FROM chunks WHERE set_id = ?").pluck(),
      anyEntry: d.prepare("SELECT 1 FROM entries WHERE set_id = ? LIMIT 1").pluck(),
      putEntry: d.prepare(
        `INSERT OR REPLACE INTO entries(set_id, path, seq, type, mode, uid, gid, mtime_ns, size, hash, target, chunk_ids)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      entriesPage: d.prepare("SELECT * FROM entries WHERE set_id = ? AND path > ? ORDER BY path LIMIT 512"),
      countEntries: d.prepare("SELECT count(*) AS n FROM entries WHERE set_id = ?"),
      putSkipped: d.prepare("INSERT OR REPLACE INTO skipped(set_id, path, reason) VALUES (?, ?, ?)"),
      skipped: d.prepare("SELECT path, reason FROM skipped WHERE set_id = ?"),
    };
  }

  getSet(id: string): SetRow | undefined {
    return this.st.getSet.get(id) as SetRow | undefined;
  }
  setsForSource(source: string): SetRow[] {
    return this.st.setsForSource.all(source) as SetRow[];
  }
  createSet(id: string, source: string, layout: string, secrets: string, options: string): void {
    this.durably(() =>
      guard("creating the set", () =>
        this.st.insertSet.run(id, source, new Date().toISOString(), layout, secrets, options),
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
  getChunk(setId: string, id: Buffer): ChunkRow | undefined {
    return this.st.getChunk.get(setId, id) as ChunkRow | undefined;
  }
  /** Every chunk id the set stores (streamed). */
  *chunkIds(setId: string): Generator<Buffer> {
    // Consumed to the end before any other statement runs (the connection is busy meanwhile).
    yield* this.st.chunkIds.iterate(setId) as IterableIterator<Buffer>;
  }

  /** Whether the set has any entry yet (a fresh set needs no resume lookups). */
  hasEntries(setId: string): boolean {
    return this.st.anyEntry.get(setId) !== undefined;
  }

  getEntry(setId: string, path: Buffer): EntryRow | undefined {
    return this.st.getEntry.get(setId, path) as EntryRow | undefined;
  }
  /** All entries in byte order of their paths (the index order), a page at a time so other statements may run in between. */
  *entries(setId: string): Generator<EntryRow> {
    let after: Buffer = Buffer.alloc(0);
    for (;;) {
      const page = this.st.entriesPage.all(setId, after) as EntryRow[];
      if (page.length === 0) return;
      yield* page;
      after = page[page.length - 1]!.path;
    }
  }

  countEntries(setId: string): number {
    return (this.st.countEntries.get(setId) as { n: number }).n;
  }
  skipped(setId: string): { path: Buffer; reason: string }[] {
    return this.st.skipped.all(setId) as { path: Buffer; reason: string }[];
  }
  putSkipped(setId: string, path: Buffer, reason: string): void {
    guard("recording a skipped file", () => this.st.putSkipped.run(setId, path, reason));
  }

  /**
   * Records durable progress in one transaction: the chunks now inside durable stripes, the
   * entries whose every chunk is durable, and the new stripe count.
   */
  commit(
    setId: string,
    progress: { stripes: number; logLength: number; nextSeq: number },
    chunks: { id: Buffer; offset: number; stored: number; plain: number; flags: number }[],
    entries: Omit<EntryRow, never>[],
  ): void {
    const tx = this.db.transaction((): void => {
      for (const c of chunks) this.st.putChunk.run(setId, c.id, c.offset, c.stored, c.plain, c.flags);
      for (const e of entries) {
        this.st.putEntry.run(
          setId,
          e.path,
          e.seq,
          e.type,
          e.mode,
          e.uid,
          e.gid,
          e.mtime_ns,
          e.size,
          e.hash,
          e.target,
          e.chunk_ids,
        );
      }
      this.st.progress.run(progress.stripes, progress.logLength, progress.nextSeq, setId);
    });
    guard("recording progress", () => tx());
  }

  /** Totals of everything recorded for a set (files, folders, bytes, chunks, stored bytes). */
  stats(setId: string): {
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
                  coalesce(sum(length(chunk_ids) / 32), 0) AS refs
           FROM entries WHERE set_id = ?`,
        )
        .get(setId) as { files: number; dirs: number; symlinks: number; bytes: number; refs: number };
      const c = this.db
        .prepare(
          `SELECT count(*) AS n, coalesce(sum(stored), 0) AS stored, coalesce(sum(flags & 1), 0) AS compressed
           FROM chunks WHERE set_id = ?`,
        )
        .get(setId) as { n: number; stored: number; compressed: number };
      const s = this.db.prepare("SELECT count(*) AS n FROM skipped WHERE set_id = ?").get(setId) as {
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

  finishSet(setId: string, stats: unknown): void {
    this.durably(() => guard("finishing the set", () => this.st.finish.run(JSON.stringify(stats), setId)));
  }

  close(): void {
    this.db.close();
  }
}
