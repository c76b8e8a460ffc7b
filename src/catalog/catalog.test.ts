import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import Database from "better-sqlite3";
import { FerryError } from "../errors.js";
import {
  ENTRY_DIR,
  ENTRY_FILE,
  ENTRY_SYMLINK,
  encodeEntry,
  encodeStoredEntry,
  storedEntryLength,
} from "../format/index.js";
import { keygen } from "../pipeline/keygen.js";
import { pack } from "../pipeline/pack.js";
import { compareTrees, flatDrives, makeDataset, packOpts, removeDir, tempDir } from "../pipeline/testkit.js";
import { unpack } from "../pipeline/unpack.js";
import { CATALOG_SCHEMA, Catalog, REF_SIZE, readRef, writeRef } from "./catalog.js";

/** Schema 1 exactly as ferry 0.1 (sessions 1–3) wrote it: the migration's starting point. */
const SCHEMA_V1 = `
CREATE TABLE sets(id TEXT PRIMARY KEY, source TEXT NOT NULL, state TEXT NOT NULL, created TEXT NOT NULL,
  layout TEXT NOT NULL, secrets TEXT NOT NULL, options TEXT NOT NULL, stripes INTEGER NOT NULL DEFAULT 0,
  log_length INTEGER NOT NULL DEFAULT 0, next_seq INTEGER NOT NULL DEFAULT 0, stats TEXT);
CREATE TABLE chunks(set_id TEXT NOT NULL, id BLOB NOT NULL, offset INTEGER NOT NULL, stored INTEGER NOT NULL,
  plain INTEGER NOT NULL, flags INTEGER NOT NULL, PRIMARY KEY(set_id, id)) WITHOUT ROWID;
CREATE TABLE entries(set_id TEXT NOT NULL, path BLOB NOT NULL, seq INTEGER NOT NULL, type INTEGER NOT NULL,
  mode INTEGER NOT NULL, uid INTEGER NOT NULL, gid INTEGER NOT NULL, mtime_ns TEXT NOT NULL,
  size INTEGER NOT NULL, hash BLOB, target BLOB, chunk_ids BLOB, PRIMARY KEY(set_id, path)) WITHOUT ROWID;
CREATE INDEX entries_seq ON entries(set_id, seq);
CREATE TABLE skipped(set_id TEXT NOT NULL, path BLOB NOT NULL, reason TEXT NOT NULL,
  PRIMARY KEY(set_id, path)) WITHOUT ROWID;
PRAGMA user_version = 1;
`;

let dir = "";
before(async () => {
  dir = await tempDir("ferry-catalog-");
});
after(() => removeDir(dir));

const id32 = (b: number) => Buffer.alloc(32, b);
const MTIME = 1_700_000_000_123_456_789n; // past 2^53: must survive exactly

test("a chunk reference round-trips, offsets past 4 GiB included", () => {
  const out = Buffer.alloc(REF_SIZE * 2);
  writeRef(out, REF_SIZE, id32(7), { offset: 2 ** 40 + 12345, stored: 70_000, plain: 65_536, flags: 1 });
  const r = readRef(out, REF_SIZE);
  assert.deepEqual(r.id, id32(7));
  assert.deepEqual(
    { offset: r.offset, stored: r.stored, plain: r.plain, flags: r.flags },
    { offset: 2 ** 40 + 12345, stored: 70_000, plain: 65_536, flags: 1 },
  );
});

test("a new catalog is at the current schema; entries keep exact mtimes and chunk places", () => {
  const c = Catalog.open(join(dir, "new", "cat.db"));
  try {
    assert.equal(c.db.pragma("user_version", { simple: true }), CATALOG_SCHEMA);
    const a = c.createSet("aa".repeat(16), "/src", "{}", "{}", "{}");
    const b = c.createSet("bb".repeat(16), "/src", "{}", "{}", "{}");
    assert.notEqual(a, b);
    assert.equal(c.getSet("bb".repeat(16))!.no, b);
    const refs = Buffer.alloc(REF_SIZE);
    writeRef(refs, 0, id32(1), { offset: 5, stored: 40, plain: 10, flags: 0 });
    const row = {
      type: 2,
      mode: 0o644,
      uid: 1000,
      gid: 1000,
      mtimeNs: MTIME,
      size: 10,
      hash: id32(9),
      target: null,
      refs,
    };
    c.commit(
      a,
      { stripes: 1, logLength: 45 },
      [{ id: id32(1), offset: 5, stored: 40, plain: 10, flags: 0 }],
      [{ path: Buffer.from("f"), ...row }],
    );
    assert.deepEqual(c.getEntry(a, Buffer.from("f")), { path: Buffer.from("f"), ...row });
    assert.equal(c.getEntry(b, Buffer.from("f")), undefined, "sets do not see each other's rows");
    assert.deepEqual(c.getChunk(a, id32(1)), { offset: 5, stored: 40, plain: 10, flags: 0 });
    assert.equal(c.getChunk(b, id32(1)), undefined);
    assert.equal(c.stats(a).chunks, 1);
    assert.equal(c.stats(a).files, 1);
    assert.equal(c.getSet("aa".repeat(16))!.log_length, 45);
  } finally {
    c.close();
  }
});

/** Writes a schema-1 catalog holding two sets. */
function writeV1(path: string, withLostChunk = false): void {
  const db = new Database(path);
  db.exec(SCHEMA_V1);
  const set = db.prepare(
    "INSERT INTO sets(id, source, state, created, layout, secrets, options, stripes, log_length, next_seq) VALUES (?, '/data', ?, ?, '{\"k\":1}', '{\"s\":2}', '{}', ?, ?, ?)",
  );
  set.run("11".repeat(16), "complete", "2026-01-01T00:00:00.000Z", 3, 300, 4);
  set.run("22".repeat(16), "packing", "2026-02-01T00:00:00.000Z", 1, 100, 1);
  const chunk = db.prepare("INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?)");
  chunk.run("11".repeat(16), id32(1), 0, 100, 90, 0);
  chunk.run("11".repeat(16), id32(2), 2 ** 33, 120, 300, 1);
  chunk.run("22".repeat(16), id32(1), 7, 100, 90, 0);
  const entry = db.prepare("INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  const s1 = "11".repeat(16);
  entry.run(s1, Buffer.from("d"), 0, 1, 0o755, 0, 0, "1000", 0, null, null, null);
  entry.run(
    s1,
    Buffer.from("d/f"),
    1,
    2,
    0o600,
    5,
    6,
    MTIME.toString(),
    390,
    id32(8),
    null,
    Buffer.concat([id32(2), id32(1), id32(2)]),
  );
  entry.run(s1, Buffer.from("l"), 2, 3, 0o777, 0, 0, "-5", 0, null, Buffer.from("d/f"), null);
  entry.run(s1, Buffer.from("z"), 3, 2, 0o644, 0, 0, "1", 0, id32(9), null, Buffer.alloc(0));
  entry.run(
    "22".repeat(16),
    Buffer.from("g"),
    0,
    2,
    0o644,
    0,
    0,
    "2",
    90,
    id32(7),
    null,
    withLostChunk ? id32(3) : id32(1),
  );
  db.prepare("INSERT INTO skipped VALUES (?, ?, ?)").run(
    s1,
    Buffer.from("p"),
    "special file (fifo) not packed",
  );
  db.close();
}

test("a schema-1 catalog is migrated in place: sets, chunks, entries with their chunk places, skips", () => {
  const path = join(dir, "v1.db");
  writeV1(path);
  const c = Catalog.open(path);
  try {
    assert.equal(c.db.pragma("user_version", { simple: true }), 2);
    const s1 = c.getSet("11".repeat(16))!;
    const s2 = c.getSet("22".repeat(16))!;
    assert.deepEqual(
      [s1.state, s1.stripes, s1.log_length, s1.layout, s1.secrets, s2.state],
      ["complete", 3, 300, '{"k":1}', '{"s":2}', "packing"],
    );
    const entries = [...c.entries(s1.no)];
    assert.deepEqual(
      entries.map((e) => [e.path.toString(), e.type, e.mode, e.mtimeNs]),
      [
        ["d", 1, 0o755, 1000n],
        ["d/f", 2, 0o600, MTIME],
        ["l", 3, 0o777, -5n],
        ["z", 2, 0o644, 1n],
      ],
    );
    const f = entries[1]!;
    assert.deepEqual([f.uid, f.gid, f.size, f.hash], [5, 6, 390, id32(8)]);
    const refs = [0, 1, 2].map((i) => readRef(f.refs!, i * REF_SIZE));
    assert.deepEqual(
      refs.map((r) => [r.id[0], r.offset, r.stored, r.plain, r.flags]),
      [
        [2, 2 ** 33, 120, 300, 1],
        [1, 0, 100, 90, 0],
        [2, 2 ** 33, 120, 300, 1],
      ],
    );
    assert.deepEqual(entries[2]!.target, Buffer.from("d/f"));
    assert.equal(entries[3]!.refs!.length, 0);
    const g = c.getEntry(s2.no, Buffer.from("g"))!;
    assert.equal(readRef(g.refs!, 0).offset, 7, "each set takes its own chunk's place");
    assert.deepEqual(c.skipped(s1.no), [
      { path: Buffer.from("p"), reason: "special file (fifo) not packed" },
    ]);
    assert.deepEqual(
      { ...c.stats(s1.no), skipped: 0 },
      {
        files: 2,
        dirs: 1,
        symlinks: 1,
        skipped: 0,
        bytes: 390,
        chunks: 3,
        dedupChunks: 1,
        storedBytes: 220,
        compressedChunks: 1,
      },
    );
    const tables = c.db.prepare("SELECT name FROM sqlite_master ORDER BY name").pluck().all();
    assert.ok(!tables.some((t) => String(t).startsWith("v1_") || t === "entries_seq"), String(tables));
  } finally {
    c.close();
  }
  // Opening again finds schema 2 and changes nothing.
  const again = Catalog.open(path);
  assert.equal([...again.entries(again.getSet("11".repeat(16))!.no)].length, 4);
  again.close();
});

test("migration and entries() page through thousands of rows of interleaved sets, none lost or repeated", () => {
  const path = join(dir, "v1-many.db");
  const db = new Database(path);
  db.exec(SCHEMA_V1);
  const sets = ["33".repeat(16), "44".repeat(16)];
  const N = 1300; // more than two pages of 512
  db.transaction(() => {
    for (const [i, s] of sets.entries()) {
      db.prepare(
        "INSERT INTO sets(id, source, state, created, layout, secrets, options) VALUES (?, '/d', 'packing', ?, '{}', '{}', '{}')",
      ).run(s, `2026-0${i + 1}-01`);
      db.prepare("INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?)").run(s, id32(i), i * 1000, 10, 10, 0);
      const put = db.prepare("INSERT INTO entries VALUES (?, ?, ?, 2, 420, 0, 0, ?, 10, ?, NULL, ?)");
      for (let n = 0; n < N; n++) {
        put.run(s, Buffer.from(`f${String(n).padStart(5, "0")}`), n, String(n), id32(9), id32(i));
      }
    }
  })();
  db.close();
  const c = Catalog.open(path);
  try {
    for (const [i, s] of sets.entries()) {
      const rows = [...c.entries(c.getSet(s)!.no)];
      assert.equal(rows.length, N);
      assert.deepEqual(
        rows.map((r) => r.mtimeNs),
        [...Array(N).keys()].map((n) => BigInt(n)),
        "every entry once, in path order",
      );
      assert.ok(rows.every((r) => readRef(r.refs!, 0).offset === i * 1000));
    }
  } finally {
    c.close();
  }
});

test("a schema-1 catalog that cannot be migrated stays as it was, with E_CATALOG", () => {
  const path = join(dir, "v1-lost.db");
  writeV1(path, true);
  assert.throws(
    () => Catalog.open(path),
    (e) => FerryError.is(e, "E_CATALOG") && /no chunk 0303/.test(e.message),
  );
  const db = new Database(path, { readonly: true });
  assert.equal(db.pragma("user_version", { simple: true }), 1);
  assert.equal(db.prepare("SELECT count(*) FROM entries").pluck().get(), 5);
  db.close();
});

test("a catalog from a newer ferry is refused", () => {
  const path = join(dir, "v9.db");
  const db = new Database(path);
  db.pragma("user_version = 9");
  db.close();
  assert.throws(
    () => Catalog.open(path),
    (e) => FerryError.is(e, "E_CATALOG") && /schema 9/.test(e.message),
  );
});

/** Rewrites a schema-2 catalog as schema 1 (what an older ferry left behind). */
function downgradeToV1(path: string): void {
  const c = Catalog.open(path);
  const db = c.db;
  db.exec(
    SCHEMA_V1.replace(/CREATE TABLE (\w+)/g, "CREATE TABLE old_$1")
      .replace("CREATE INDEX entries_seq ON entries", "CREATE INDEX entries_seq ON old_entries")
      .replace("PRAGMA user_version = 1;", ""),
  );
  db.exec(`
    INSERT INTO old_sets SELECT id, source, state, created, layout, secrets, options, stripes, log_length, 0, stats FROM sets;
    INSERT INTO old_chunks SELECT s.id, c.id, c.offset, c.stored, c.plain, c.flags FROM chunks c JOIN sets s ON s.no = c.set_no;
    INSERT INTO old_skipped SELECT s.id, k.path, k.reason FROM skipped k JOIN sets s ON s.no = k.set_no;
  `);
  const put = db.prepare("INSERT INTO old_entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  const sets = db.prepare("SELECT no, id FROM sets").all() as { no: number; id: string }[];
  let seq = 0;
  for (const set of sets) {
    for (const e of c.entries(set.no)) {
      const refs = e.refs;
      const ids = refs
        ? Buffer.concat([...Array(refs.length / REF_SIZE).keys()].map((i) => readRef(refs, i * REF_SIZE).id))
        : null;
      const mtime = e.mtimeNs.toString();
      put.run(set.id, e.path, seq++, e.type, e.mode, e.uid, e.gid, mtime, e.size, e.hash, e.target, ids);
    }
  }
  db.exec(`
    DROP TABLE sets; DROP TABLE chunks; DROP TABLE entries; DROP TABLE skipped;
    ALTER TABLE old_sets RENAME TO sets; ALTER TABLE old_chunks RENAME TO chunks;
    ALTER TABLE old_entries RENAME TO entries; ALTER TABLE old_skipped RENAME TO skipped;
    PRAGMA user_version = 1;
  `);
  c.close();
}

test("an unfinished set in a schema-1 catalog resumes after the migration, byte-exact", async () => {
  const src = join(dir, "src");
  const ds = await makeDataset(src, { seed: 11 });
  const key = keygen();
  const catalog = join(dir, "resume.db");
  const drives = flatDrives(join(dir, "drives"), 3);
  const opts = packOpts(src, drives, catalog, {
    tolerate: "1",
    recipients: [key.recipient],
    checkpointBytes: 64 << 10,
  });
  const stop = new Error("stopped after the second checkpoint");
  let checkpoints = 0;
  await assert.rejects(
    pack({
      ...opts,
      onCheckpoint: () => {
        checkpoints++;
        if (checkpoints === 2) throw stop;
      },
    }),
    (e) => e === stop,
  );
  downgradeToV1(catalog);
  const old = new Database(catalog, { readonly: true });
  const packed = old.prepare("SELECT count(*) FROM entries WHERE type = 2").pluck().get() as number;
  old.close();
  assert.ok(
    packed > 0 && packed < ds.files.length,
    `${packed} of ${ds.files.length} files in the old catalog`,
  );
  const read: string[] = [];
  const r = await pack({ ...opts, threads: 0, onFileRead: (p) => read.push(p) });
  assert.equal(r.resumed, true);
  assert.equal(read.length, ds.files.length - packed, "files the old catalog holds are not read again");
  const out = join(dir, "out");
  await unpack({ drives: drives.map((d) => d.path), to: out, unlock: { identities: [key.identity] } });
  await compareTrees(src, out);
});

// The index is written from storedEntryPages through encodeStoredEntry (no object per entry):
// the bytes must be exactly encodeEntry's for every kind of entry and every field's extremes.
test("stored entries encode to the same index bytes as encodeEntry", () => {
  const c = Catalog.open(join(dir, "stored", "cat.db"));
  try {
    const set = c.createSet("cc".repeat(16), "/src", "{}", "{}", "{}");
    const refs = Buffer.alloc(REF_SIZE * 3);
    writeRef(refs, 0, id32(1), { offset: 5, stored: 40, plain: 10, flags: 0 });
    writeRef(refs, REF_SIZE, id32(2), { offset: 2 ** 44 + 3, stored: 1 << 20, plain: 4 << 20, flags: 1 });
    writeRef(refs, REF_SIZE * 2, id32(3), { offset: 2 ** 52, stored: 38, plain: 1, flags: 0 });
    const base = { uid: 0, gid: 0, hash: null, target: null, refs: null, size: 0 };
    const rows = [
      { ...base, path: Buffer.from("a"), type: ENTRY_DIR, mode: 0o40755, mtimeNs: MTIME },
      {
        ...base,
        path: Buffer.from("a/big"),
        type: ENTRY_FILE,
        mode: 0o100600,
        uid: 0xffff_fffe,
        gid: 4_000_000_000,
        mtimeNs: -5_000_000_001n,
        size: 2 ** 40 + 7,
        hash: id32(9),
        refs,
      },
      { ...base, path: Buffer.from("a/empty"), type: ENTRY_FILE, mode: 0o100644, mtimeNs: 0n, hash: id32(8) },
      {
        ...base,
        path: Buffer.from("a/l\xffnk", "latin1"),
        type: ENTRY_SYMLINK,
        mode: 0o120777,
        mtimeNs: -1n,
        target: Buffer.from("../x"),
      },
      {
        ...base,
        path: Buffer.from("b"),
        type: ENTRY_FILE,
        mode: 0o100644,
        mtimeNs: 2n ** 62n,
        size: 1,
        hash: id32(7),
        refs: refs.subarray(0, REF_SIZE),
      },
    ];
    c.commit(set, { stripes: 0, logLength: 0 }, [], rows);
    const encoded = [...c.storedEntryPages(set)].flat().map((e) => {
      const out = Buffer.alloc(storedEntryLength(e) + 3, 0xee);
      const end = encodeStoredEntry(out, 2, e);
      assert.equal(end, out.length - 1, "writes exactly storedEntryLength bytes");
      return out.subarray(2, end);
    });
    const expected = [...c.entries(set)].map((r) => {
      const meta = { path: r.path, mode: r.mode, uid: r.uid, gid: r.gid, mtimeNs: r.mtimeNs };
      if (r.type === ENTRY_DIR) return encodeEntry({ type: ENTRY_DIR, ...meta });
      if (r.type === ENTRY_SYMLINK) return encodeEntry({ type: ENTRY_SYMLINK, ...meta, target: r.target! });
      const chunks = [];
      for (let o = 0; o < (r.refs?.length ?? 0); o += REF_SIZE) {
        const x = readRef(r.refs!, o);
        chunks.push({
          id: x.id,
          offset: x.offset,
          storedLength: x.stored,
          plainLength: x.plain,
          flags: x.flags,
        });
      }
      return encodeEntry({ type: ENTRY_FILE, ...meta, size: r.size, hash: r.hash!, chunks });
    });
    assert.equal(encoded.length, rows.length);
    assert.deepEqual(encoded, expected);
  } finally {
    c.close();
  }
});
