/**
 * Fault class 6, fuzzing: property-based tests (fast-check, seeded from the suite seed) of
 * every parser of on-drive structures — envelopes, the index parser (random bytes, mutated
 * valid indexes, split at random points), block headers, age key files, drive layouts, and
 * whole labels forged and re-signed with the set's own key — plus the chunker and the
 * erasure codec. Property: a parser returns a value or throws a FerryError, never a
 * TypeError or RangeError, and never allocates what a hostile length field claims.
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { Catalog } from "../catalog/catalog.js";
import { Chunker } from "../chunk/index.js";
import { ageDecrypt, ageEncrypt, sign } from "../crypto/index.js";
import { ReedSolomon } from "../erasure/index.js";
import { FerryError } from "../errors.js";
import {
  BLOCK_HEADER_SIZE,
  checkBlock,
  DRIVE_DIR,
  decodeEnvelope,
  ENTRY_DIR,
  ENTRY_FILE,
  ENTRY_SYMLINK,
  encodeEnd,
  encodeEntry,
  encodeEnvelope,
  type IndexEntry,
  IndexParser,
  indexHeader,
  KIND_LABEL,
  KIND_MANIFEST,
  LABEL_FILE,
  type LabelBody,
  readBlockHeader,
  type SetLayout,
  validateLayout,
  writeBlockHeader,
} from "../format/index.js";
import { keygen, pack, verify } from "../index.js";
import * as tk from "../pipeline/testkit.js";
import * as fk from "./kit.js";

const RUNS = fk.scale(300, 5000);
const params = (name: string, numRuns = RUNS) => ({ seed: fk.classRng(name)() * 2 ** 31, numRuns });

/** Runs `f`; counts a value as accepted (harmless) and a FerryError as refused; anything else fails. */
function typed(t: fk.Tally, what: string, f: () => unknown): void {
  t.cases++;
  try {
    f();
    t.harmless++;
  } catch (e) {
    if (!FerryError.is(e)) {
      t.wrongBytes++;
      assert.fail(`${what}: threw ${(e as Error)?.name}: ${(e as Error)?.stack ?? e}`);
    }
    t.refused++;
  }
}
async function typedAsync(t: fk.Tally, what: string, f: () => Promise<unknown>): Promise<void> {
  t.cases++;
  try {
    await f();
    t.harmless++;
  } catch (e) {
    if (!FerryError.is(e)) {
      t.wrongBytes++;
      assert.fail(`${what}: threw ${(e as Error)?.name}: ${(e as Error)?.stack ?? e}`);
    }
    t.refused++;
  }
}

/** Byte-level mutations of a valid buffer: flips, overwrites, cuts, insertions, u32 fields set huge. */
const mutation = (len: number) =>
  fc.array(
    fc.oneof(
      fc.record({
        op: fc.constant("flip" as const),
        at: fc.nat(len + 8),
        v: fc.integer({ min: 1, max: 255 }),
      }),
      fc.record({ op: fc.constant("cut" as const), at: fc.nat(len + 8), v: fc.nat() }),
      fc.record({
        op: fc.constant("insert" as const),
        at: fc.nat(len + 8),
        v: fc.integer({ min: 0, max: 255 }),
      }),
      fc.record({
        op: fc.constant("u32" as const),
        at: fc.nat(len + 8),
        v: fc.constantFrom(0, 1, 0x7fffffff, 0xffffffff, 4097, 1 << 24),
      }),
    ),
    { minLength: 1, maxLength: 4 },
  );
type Mutation = { op: "flip" | "cut" | "insert" | "u32"; at: number; v: number };
function mutate(b: Buffer, ms: Mutation[]): Buffer {
  let out = Buffer.from(b);
  for (const m of ms) {
    const at = out.length ? m.at % out.length : 0;
    if (m.op === "flip" && out.length) out[at]! ^= m.v;
    else if (m.op === "cut") out = out.subarray(0, at);
    else if (m.op === "insert") out = Buffer.concat([out.subarray(0, at), Buffer.of(m.v), out.subarray(at)]);
    else if (m.op === "u32" && at + 4 <= out.length) out.writeUInt32LE(m.v, at);
  }
  return out;
}

const pathBytes = fc.uint8Array({ minLength: 1, maxLength: 40 }).map((u) => Buffer.from(u));
const entryArb: fc.Arbitrary<IndexEntry> = fc.oneof(
  fc.record({
    type: fc.constant(ENTRY_DIR as typeof ENTRY_DIR),
    path: pathBytes,
    mode: fc.nat(0o7777),
    uid: fc.nat(),
    gid: fc.nat(),
    mtimeNs: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  }),
  fc.record({
    type: fc.constant(ENTRY_SYMLINK as typeof ENTRY_SYMLINK),
    path: pathBytes,
    mode: fc.nat(0o7777),
    uid: fc.nat(),
    gid: fc.nat(),
    mtimeNs: fc.bigInt({ min: 0n, max: 2n ** 62n }),
    target: pathBytes,
  }),
  fc
    .array(
      fc.record({
        id: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((u) => Buffer.from(u)),
        offset: fc.nat(),
        storedLength: fc.nat(),
        plainLength: fc.nat(1 << 20),
        flags: fc.nat(1),
      }),
      { maxLength: 4 },
    )
    .chain((chunks) =>
      fc.record({
        type: fc.constant(ENTRY_FILE as typeof ENTRY_FILE),
        path: pathBytes,
        mode: fc.nat(0o7777),
        uid: fc.nat(),
        gid: fc.nat(),
        mtimeNs: fc.bigInt({ min: 0n, max: 2n ** 62n }),
        size: fc.constant(chunks.reduce((a, c) => a + c.plainLength, 0)),
        hash: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((u) => Buffer.from(u)),
        chunks: fc.constant(chunks),
      }),
    ),
);
const encodeIndex = (es: IndexEntry[]) =>
  Buffer.concat([indexHeader(), ...es.map(encodeEntry), encodeEnd(es.length)]);
/** Feeds `bytes` to a fresh parser in pieces cut at `cuts`; returns the entries. */
function parseSplit(bytes: Buffer, cuts: number[]): IndexEntry[] {
  const p = new IndexParser();
  const out: IndexEntry[] = [];
  let prev = 0;
  for (const c of [...cuts.map((x) => x % (bytes.length + 1))].sort((a, b) => a - b)) {
    out.push(...p.push(bytes.subarray(prev, c)));
    prev = c;
  }
  out.push(...p.push(bytes.subarray(prev)));
  p.end();
  return out;
}

describe("fault class 6: fuzzing", () => {
  before(() => console.log(fk.banner("fuzz")));

  test("envelopes: random bytes and mutated valid envelopes give a body or a FerryError", () => {
    const t = new fk.Tally("fuzz", "decodeEnvelope (LABEL/MANIFEST envelope)");
    const valid = encodeEnvelope(KIND_MANIFEST, { format: 1, set: "ab".repeat(16), stripes: 3 }, () =>
      Buffer.alloc(64, 7),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (u) => {
        typed(t, "random", () => decodeEnvelope(Buffer.from(u), KIND_MANIFEST, "fuzz"));
      }),
      params("env-random"),
    );
    fc.assert(
      fc.property(mutation(valid.length), fc.constantFrom(KIND_LABEL, KIND_MANIFEST), (ms, kind) => {
        typed(t, "mutated", () => decodeEnvelope(mutate(valid, ms), kind, "fuzz"));
      }),
      params("env-mutated"),
    );
    t.save();
  });

  test("index parser: valid indexes round-trip at any split; random and mutated ones give entries or a FerryError", () => {
    const rt = new fk.Tally("fuzz", "IndexParser round trip, split at random points");
    fc.assert(
      fc.property(fc.array(entryArb, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 6 }), (raw, cuts) => {
        // A valid index lists each path once, in strictly increasing byte order (FORMAT §7).
        const es = raw
          .sort((a, b) => Buffer.compare(a.path, b.path))
          .filter((e, i, all) => i === 0 || !all[i - 1]!.path.equals(e.path));
        rt.cases++;
        const got = parseSplit(encodeIndex(es), cuts);
        assert.deepEqual(got.map(encodeEntry), es.map(encodeEntry));
        rt.harmless++;
      }),
      params("index-rt"),
    );
    rt.save();
    const t = new fk.Tally("fuzz", "IndexParser on random and mutated indexes");
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.array(fc.nat(), { maxLength: 4 }),
        fc.boolean(),
        (u, cuts, magic) => {
          const b = magic ? Buffer.concat([indexHeader(), Buffer.from(u)]) : Buffer.from(u);
          typed(t, "random", () => parseSplit(b, cuts));
        },
      ),
      params("index-random"),
    );
    fc.assert(
      fc.property(
        fc.array(entryArb, { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 4 }),
        fc.nat(),
        (es, cuts, seed) => {
          const b = encodeIndex(es);
          const ms = fc.sample(mutation(b.length), { seed, numRuns: 1 })[0]!;
          typed(t, "mutated", () => parseSplit(mutate(b, ms), cuts));
        },
      ),
      params("index-mutated"),
    );
    // A declared length far beyond the data must not allocate it.
    const before = process.memoryUsage().arrayBuffers;
    const huge = encodeIndex([]).subarray(0, 5);
    const e = Buffer.alloc(64);
    e[0] = ENTRY_FILE;
    e.writeUInt32LE(4, 1);
    const p = new IndexParser();
    p.push(Buffer.concat([huge, e]));
    assert.ok(process.memoryUsage().arrayBuffers - before < 64 << 20);
    t.save();
  });

  test("block headers: readBlockHeader and checkBlock never throw on garbage", () => {
    const t = new fk.Tally("fuzz", "readBlockHeader / checkBlock");
    const setId = Buffer.alloc(16, 3);
    const valid = Buffer.alloc(BLOCK_HEADER_SIZE + 512);
    writeBlockHeader(valid, setId, 5, 1, 0, valid.subarray(BLOCK_HEADER_SIZE));
    const want = { setId, stripe: 5, shard: 1, group: 0, blockSize: 512 };
    assert.equal(checkBlock(valid, want), null);
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 700 }),
        mutation(valid.length),
        fc.boolean(),
        (u, ms, useValid) => {
          const b = useValid ? mutate(valid, ms) : Buffer.from(u);
          t.cases++;
          readBlockHeader(b);
          const why = checkBlock(b, want);
          if (useValid && !b.equals(valid)) assert.notEqual(why, null, "a changed block must not pass");
          if (why === null) t.harmless++;
          else t.refused++;
        },
      ),
      params("block"),
    );
    t.save();
  });

  test("age key files: mutated files open to the same bytes or fail with a FerryError", () => {
    const t = new fk.Tally("fuzz", "ageDecrypt on mutated key files");
    const key = keygen();
    const plain = Buffer.from(JSON.stringify({ format: 1, set: "00".repeat(16), dataKey: "11".repeat(32) }));
    const file = ageEncrypt(plain, { recipients: [key.recipient, keygen().recipient] });
    fc.assert(
      fc.property(mutation(file.length), (ms) => {
        const b = mutate(file, ms);
        typed(t, "mutated", () => {
          const out = ageDecrypt(b, { identities: [key.identity] });
          assert.ok(out.equals(plain), "a mutated age file decrypted to other bytes");
        });
      }),
      params("age", fk.scale(200, 2000)),
    );
    t.save();
  });

  test("layouts: mutated layouts are accepted only when consistent, else a FerryError", () => {
    const t = new fk.Tally("fuzz", "validateLayout on mutated layouts");
    const drives = Array.from({ length: 6 }, (_x, i) => ({
      index: i,
      id: `${i}`.repeat(32),
      bag: `b${i % 3}`,
      group: i % 2,
      shard: Math.floor(i / 2),
    }));
    const valid: SetLayout = {
      tolerate: "bag",
      blockSize: 4096,
      k: 2,
      m: 1,
      groups: [{ drives: [0, 2, 4] }, { drives: [1, 3, 5] }],
      drives,
    } as SetLayout;
    validateLayout(valid);
    const value = fc.oneof(
      fc.constant(null),
      fc.constant(undefined),
      fc.integer({ min: -3, max: 300 }),
      fc.double(),
      fc.string({ maxLength: 4 }),
      fc.constant([]),
      fc.constant({}),
      fc.constant([null]),
      fc.constant({ drives: null }),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.nat(), value), { minLength: 1, maxLength: 3 }), (edits) => {
        const l = JSON.parse(JSON.stringify(valid)) as Record<string, unknown>;
        for (const [a, b, v] of edits) {
          // Walk to a random container inside the layout and replace one of its members.
          let cur: unknown = l;
          let depth = a % 4;
          while (depth-- > 0 && cur && typeof cur === "object") {
            const keys = Object.keys(cur);
            if (!keys.length) break;
            const next = (cur as Record<string, unknown>)[keys[b % keys.length]!];
            if (!next || typeof next !== "object") break;
            cur = next;
          }
          if (cur && typeof cur === "object") {
            const keys = Object.keys(cur);
            if (keys.length)
              (cur as Record<string, unknown>)[keys[(a + b) % keys.length]!] = structuredClone(v);
          }
        }
        typed(t, JSON.stringify(l), () => validateLayout(l as unknown as SetLayout));
      }),
      params("layout"),
    );
    t.save();
  });

  test("chunker: any split of the input gives the same chunks, within bounds, covering the input", () => {
    const t = new fk.Tally("fuzz", "Chunker (FastCDC) split invariance and bounds");
    const sizes = { minSize: 256, avgSize: 1024, maxSize: 4096 };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40_000 }), fc.array(fc.nat(), { maxLength: 8 }), (u, cuts) => {
        t.cases++;
        const data = Buffer.from(u);
        const one = new Chunker(sizes);
        const whole = [...one.push(data), ...one.finish()];
        const c = new Chunker(sizes);
        const parts: Buffer[] = [];
        let prev = 0;
        for (const x of cuts.map((v) => v % (data.length + 1)).sort((a, b) => a - b)) {
          parts.push(...c.push(data.subarray(prev, x)));
          prev = x;
        }
        parts.push(...c.push(data.subarray(prev)), ...c.finish());
        assert.deepEqual(
          parts.map((p) => p.length),
          whole.map((p) => p.length),
        );
        assert.ok(Buffer.concat(parts).equals(data));
        whole.forEach((p, i) => {
          assert.ok(p.length <= sizes.maxSize);
          if (i < whole.length - 1) assert.ok(p.length >= sizes.minSize);
        });
        t.harmless++;
      }),
      params("chunker", fk.scale(150, 2000)),
    );
    t.save();
  });

  test("erasure codec: random k, m and erasure patterns; ≤ m erasures rebuild exactly, more give E_UNRECOVERABLE", () => {
    const t = new fk.Tally("fuzz", "ReedSolomon encode/reconstruct, random k, m, erasures");
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 24 }),
        fc.integer({ min: 0, max: 8 }),
        fc.integer({ min: 1, max: 200 }),
        fc.nat(),
        fc.nat(),
        (k, m, len, seed, lose) => {
          t.cases++;
          const rand = tk.rng(seed);
          const shards: Uint8Array[] = [];
          for (let i = 0; i < k; i++) shards.push(tk.randomData(rand, len));
          for (let i = 0; i < m; i++) shards.push(new Uint8Array(len));
          const rs = new ReedSolomon(k, m);
          rs.encode(shards);
          const n = lose % (k + m + 1);
          const gone = fk.sample(
            rand,
            shards.map((_s, i) => i),
            n,
          );
          const holes: (Uint8Array | null)[] = shards.map((s, i) => (gone.includes(i) ? null : s));
          if (n <= m) {
            rs.reconstruct(holes);
            for (let i = 0; i < holes.length; i++)
              assert.ok(Buffer.from(holes[i]!).equals(Buffer.from(shards[i]!)));
            t.healed++;
          } else {
            assert.throws(
              () => rs.reconstruct(holes),
              (e: unknown) => FerryError.is(e, "E_UNRECOVERABLE"),
            );
            t.detected++;
          }
        },
      ),
      params("erasure", fk.scale(300, 3000)),
    );
    t.save();
  });
});

describe("fault class 6: forged labels, re-signed with the set's key", () => {
  let dir = "";
  let paths: string[] = [];
  let signSecret: Buffer;
  let label: LabelBody;
  const key = keygen();

  before(async () => {
    dir = await tk.tempDir("ferry-faults-fuzz-");
    const src = join(dir, "src");
    await tk.makeDataset(src, { seed: 6, scale: 0.2 });
    const drives = tk.flatDrives(join(dir, "d"), 3);
    paths = drives.map((d) => d.path);
    const catalog = join(dir, "catalog.db");
    const r = await pack(tk.packOpts(src, drives, catalog, { tolerate: "1", recipients: [key.recipient] }));
    const c = Catalog.open(catalog);
    signSecret = Buffer.from(
      (JSON.parse(c.getSet(r.set)!.secrets) as { signSecret: string }).signSecret,
      "hex",
    );
    c.close();
    label = decodeEnvelope<LabelBody>(
      await readFile(join(paths[0]!, DRIVE_DIR, LABEL_FILE)),
      KIND_LABEL,
      "l",
    ).body;
  });
  after(() => tk.removeDir(dir));

  test("verify on a set whose first label is forged (validly signed) gives a report or a FerryError", async () => {
    const t = new fk.Tally("fuzz", "openSet/verify on forged, re-signed labels");
    const file = join(paths[0]!, DRIVE_DIR, LABEL_FILE);
    const orig = await readFile(file);
    const value = fc.oneof(
      fc.constant(null),
      fc.integer({ min: -2, max: 5 }),
      fc.constant(2 ** 53),
      fc.string({ maxLength: 3 }),
      fc.constant([]),
      fc.constant({}),
      fc.constant("00".repeat(16)),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(), fc.nat(), value), { minLength: 1, maxLength: 2 }),
        async (edits) => {
          const body = JSON.parse(JSON.stringify(label)) as Record<string, unknown>;
          for (const [a, b, v] of edits) {
            let cur: unknown = body;
            let depth = a % 4;
            while (depth-- > 0 && cur && typeof cur === "object") {
              const keys = Object.keys(cur);
              if (!keys.length) break;
              const next = (cur as Record<string, unknown>)[keys[b % keys.length]!];
              if (!next || typeof next !== "object") break;
              cur = next;
            }
            if (cur && typeof cur === "object") {
              const keys = Object.keys(cur);
              if (keys.length)
                (cur as Record<string, unknown>)[keys[(a + b) % keys.length]!] = structuredClone(v);
            }
          }
          await writeFile(
            file,
            encodeEnvelope(KIND_LABEL, body, (m) => sign(signSecret, m)),
          );
          await typedAsync(t, JSON.stringify(body), () => verify({ drives: paths, statePath: null }));
        },
      ),
      params("label", fk.scale(60, 600)),
    );
    await writeFile(file, orig);
    assert.equal((await verify({ drives: paths, statePath: null })).exitCode, 0);
    t.save();
  });
});
