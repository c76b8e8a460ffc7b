import assert from "node:assert/strict";
import { test } from "node:test";
import { ENTRY_FILE, encodeEnd, encodeEntry, IndexParser, indexHeader } from "./index_codec.js";

/** A folder entry at `p`. */
const dir = (p: string) => ({
  type: 1 as const,
  path: Buffer.from(p),
  mode: 0o755,
  uid: 0,
  gid: 0,
  mtimeNs: 0n,
});

// Review finding: an entry spanning many pieces was re-concatenated on every piece (O(n²));
// a 100,000-chunk file fed in 1 KiB pieces must parse exactly, and in one concatenation.
test("a file entry spanning thousands of pieces parses exactly", () => {
  const n = 100_000;
  const chunks = Array.from({ length: n }, (_, i) => ({
    id: Buffer.alloc(32, i & 0xff),
    offset: i * 10,
    storedLength: 38,
    plainLength: 10,
    flags: 0,
  }));
  const entry = {
    type: ENTRY_FILE,
    path: Buffer.from("big.bin"),
    mode: 0o644,
    uid: 1,
    gid: 2,
    mtimeNs: 5n,
    size: n * 10,
    hash: Buffer.alloc(32, 9),
    chunks,
  } as const;
  const bytes = Buffer.concat([indexHeader(), encodeEntry(entry), encodeEnd(1)]);
  const p = new IndexParser();
  const got = [];
  for (let o = 0; o < bytes.length; o += 1024) got.push(...p.push(bytes.subarray(o, o + 1024)));
  assert.equal(p.end(), 1);
  assert.equal(got.length, 1);
  const e = got[0]!;
  assert.equal(e.type, ENTRY_FILE);
  if (e.type !== ENTRY_FILE) return;
  assert.equal(e.chunks.length, n);
  assert.equal(e.chunks[n - 1]!.offset, (n - 1) * 10);
  assert.equal(e.size, n * 10);
});

test("paths must be strictly increasing: duplicates and reordering are refused", async () => {
  const { FerryError } = await import("../errors.js");
  const parse = (paths: string[]) => {
    const p = new IndexParser();
    p.push(Buffer.concat([indexHeader(), ...paths.map((x) => encodeEntry(dir(x))), encodeEnd(paths.length)]));
    return p.end();
  };
  // Byte order puts a folder before its contents, and "a.txt" (0x2e) before "a/x" (0x2f).
  assert.equal(parse(["a", "a.txt", "a/x", "b"]), 4);
  assert.throws(
    () => parse(["a", "a"]),
    (e) => FerryError.is(e, "E_UNSAFE_PATH") && /twice/.test(e.message),
  );
  assert.throws(
    () => parse(["b", "a"]),
    (e) => FerryError.is(e, "E_UNSAFE_PATH") && /out of order/.test(e.message),
  );
});

test("entries() parses one entry at a time, as the consumer asks", async () => {
  const { FerryError } = await import("../errors.js");
  const names = Array.from({ length: 1000 }, (_, i) => `d${String(i).padStart(4, "0")}`);
  const good = Buffer.concat([
    indexHeader(),
    ...names.map((x) => encodeEntry(dir(x))),
    encodeEnd(names.length),
  ]);
  // The same piece through both forms, and split mid-entry: the same entries.
  const p = new IndexParser();
  const lazy = [...p.entries(good.subarray(0, 777)), ...p.entries(good.subarray(777))];
  assert.equal(p.end(), names.length);
  assert.deepEqual(
    lazy.map((e) => e.path.toString()),
    new IndexParser().push(good).map((e) => e.path.toString()),
  );
  // Lazy: the first entries come out before a bad one further on is even parsed (the whole
  // piece at once parsed it all before returning anything).
  const bad = Buffer.concat([indexHeader(), ...names.map((x) => encodeEntry(dir(x))), encodeEntry(dir("a"))]);
  const it = new IndexParser().entries(bad);
  assert.equal(it.next().value?.path.toString(), "d0000");
  assert.equal(it.next().value?.path.toString(), "d0001");
  assert.throws(
    () => {
      for (const _ of it);
    },
    (e) => FerryError.is(e, "E_UNSAFE_PATH"),
  );
  assert.throws(
    () => new IndexParser().push(bad),
    (e) => FerryError.is(e, "E_UNSAFE_PATH"),
  );
});

test("entries() may be left early: the entries not taken come out of the next call", () => {
  const names = Array.from({ length: 20 }, (_, i) => `d${String(i).padStart(2, "0")}`);
  const bytes = Buffer.concat([
    indexHeader(),
    ...names.map((x) => encodeEntry(dir(x))),
    encodeEnd(names.length),
  ]);
  const half = Buffer.concat([indexHeader(), ...names.slice(0, 10).map((x) => encodeEntry(dir(x)))]).length;
  for (const leave of ["break", "abandon"] as const) {
    const p = new IndexParser();
    const got: string[] = [];
    if (leave === "break") {
      for (const e of p.entries(bytes.subarray(0, half))) {
        got.push(e.path.toString());
        if (got.length === 3) break;
      }
    } else {
      // Paused and never resumed nor returned.
      const it = p.entries(bytes.subarray(0, half));
      for (let i = 0; i < 3; i++) got.push(it.next().value!.path.toString());
    }
    for (const e of p.entries(bytes.subarray(half))) got.push(e.path.toString());
    assert.equal(p.end(), names.length, leave);
    assert.deepEqual(got, names, leave);
  }
});
