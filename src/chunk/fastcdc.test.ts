import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import fc from "fast-check";
import { FerryError } from "../errors.js";
import {
  Chunker,
  type ChunkerOptions,
  chunkStream,
  DEFAULT_CHUNK_PARAMS,
  findCut,
  GEAR_SEED_PREFIX,
  gearTable,
  resolveChunkParams,
} from "./fastcdc.js";
import { blake3Hash, chunkId } from "./id.js";
import { xorshift32Bytes } from "./testdata.js";

const SMALL: ChunkerOptions = { minSize: 64, avgSize: 256, maxSize: 1024 };

/** Cut offsets of a whole buffer, via the kernel. */
function cutsOf(buf: Uint8Array, opts: ChunkerOptions = DEFAULT_CHUNK_PARAMS): number[] {
  const cuts: number[] = [];
  for (let s = 0; s < buf.length; ) {
    s = findCut(buf, s, buf.length, opts);
    cuts.push(s);
  }
  return cuts;
}

/** Cut offsets produced by a Chunker fed in pieces of the given sizes (cycled). */
function chunkerCuts(
  buf: Uint8Array,
  splits: number[],
  opts: ChunkerOptions,
): { cuts: number[]; chunks: Buffer[] } {
  const c = new Chunker(opts);
  const chunks: Buffer[] = [];
  const maxSize = c.params.maxSize;
  let off = 0;
  let k = 0;
  while (off < buf.length) {
    const n = splits.length === 0 ? buf.length : splits[k++ % splits.length]!;
    chunks.push(...c.push(buf.subarray(off, Math.min(buf.length, off + n))));
    assert.ok(c.pendingBytes < maxSize, "pending data stays below maxSize");
    off += n;
  }
  chunks.push(...c.finish());
  const cuts: number[] = [];
  let pos = 0;
  for (const ch of chunks) {
    pos += ch.length;
    cuts.push(pos);
  }
  return { cuts, chunks };
}

/**
 * Independent reference straight from docs/CHUNKING.md: for each candidate length L the hash is the
 * explicit window sum  sum_{k=0..31} G[b[s+L-1-k]] * 2^k  (mod 2^32), no rolling state.
 */
function referenceCuts(
  buf: Uint8Array,
  o: { minSize: number; avgSize: number; maxSize: number; nc: number },
) {
  const G: number[] = [];
  for (let i = 0; i < 256; i++) {
    G.push(createHash("sha256").update(`ferry/fastcdc/gear/v1/${i}`).digest().readUInt32BE(0));
  }
  const bits = Math.log2(o.avgSize);
  const top = (k: number) => (2 ** k - 1) * 2 ** (32 - k);
  const maskS = top(bits + o.nc);
  const maskL = top(bits - o.nc);
  const cuts: number[] = [];
  let s = 0;
  while (s < buf.length) {
    const n = buf.length - s;
    let len = Math.min(n, o.maxSize);
    if (n > o.minSize) {
      for (let L = o.minSize; L <= Math.min(n, o.maxSize); L++) {
        let h = 0;
        for (let k = 0; k < 32; k++) h = (h + G[buf[s + L - 1 - k]!]! * 2 ** k) % 2 ** 32;
        const mask = L < o.avgSize ? maskS : maskL;
        // bitwise AND of two uint32 values without int32 pitfalls
        if ((h & mask) >>> 0 === 0) {
          len = L;
          break;
        }
      }
    } else {
      len = n;
    }
    s += len;
    cuts.push(s);
  }
  return cuts;
}

test("gear table is SHA-256(prefix + i), first 4 bytes big-endian", () => {
  const g = gearTable();
  assert.equal(g.length, 256);
  assert.equal(GEAR_SEED_PREFIX, "ferry/fastcdc/gear/v1/");
  // Pinned independently with: printf 'ferry/fastcdc/gear/v1/%d' $i | sha256sum | cut -c1-8
  assert.equal(g[0], 0x9faa7fee);
  assert.equal(g[1], 0x29ca3da6);
  assert.equal(g[255], 0x2d8f64c5);
  for (let i = 0; i < 256; i++) {
    const d = createHash("sha256").update(`${GEAR_SEED_PREFIX}${i}`).digest();
    assert.equal(g[i], d.readUInt32BE(0));
  }
  g[0] = 0; // a copy: mutating it must not change chunking
  assert.equal(gearTable()[0], 0x9faa7fee);
});

test("default params and masks", () => {
  const p = DEFAULT_CHUNK_PARAMS;
  assert.deepEqual([p.minSize, p.avgSize, p.maxSize, p.normalization], [256 << 10, 1 << 20, 4 << 20, 2]);
  assert.equal(p.maskS >>> 0, 0xfffffc00); // 22 top bits
  assert.equal(p.maskL >>> 0, 0xffffc000); // 18 top bits
  const q = resolveChunkParams({ minSize: 2048, avgSize: 8192, maxSize: 65536, normalization: 0 });
  assert.equal(q.maskS, q.maskL);
  assert.equal(q.maskS >>> 0, 0xfff80000); // 13 top bits
  assert.equal(resolveChunkParams(q), q, "resolved params are reused as-is");
});

test("bad options are E_USAGE", () => {
  const bad: ChunkerOptions[] = [
    { minSize: 32, avgSize: 256, maxSize: 1024 },
    { minSize: 64, avgSize: 300, maxSize: 1024 },
    { minSize: 256, avgSize: 256, maxSize: 1024 },
    { minSize: 64, avgSize: 1024, maxSize: 1024 },
    { minSize: 64, avgSize: 128, maxSize: 1024 },
    { minSize: 1 << 20, avgSize: 1 << 28, maxSize: 2 ** 31 },
    { minSize: 64.5, avgSize: 256, maxSize: 1024 },
    { minSize: 64, avgSize: 256, maxSize: 1024, normalization: 4 },
    { minSize: 64, avgSize: 256, maxSize: 1024, normalization: -1 },
    { maxSize: Number.NaN },
  ];
  for (const o of bad) {
    assert.throws(
      () => new Chunker(o),
      (e) => FerryError.is(e, "E_USAGE"),
      JSON.stringify(o),
    );
  }
  const buf = new Uint8Array(10);
  assert.throws(
    () => findCut(buf, 5, 4),
    (e) => FerryError.is(e, "E_USAGE"),
  );
  assert.throws(
    () => findCut(buf, 0, 11),
    (e) => FerryError.is(e, "E_USAGE"),
  );
  assert.throws(
    () => findCut(buf, -1, 4),
    (e) => FerryError.is(e, "E_USAGE"),
  );
  assert.throws(
    () => new Chunker().push("abc" as unknown as Uint8Array),
    (e) => FerryError.is(e, "E_USAGE"),
  );
  assert.equal(findCut(buf, 3, 3), 3);
});

test("kernel matches the explicit window-sum reference (several parameter sets)", () => {
  const sets = [
    { minSize: 64, avgSize: 256, maxSize: 1024, nc: 2 },
    { minSize: 100, avgSize: 512, maxSize: 700, nc: 0 },
    { minSize: 64, avgSize: 256, maxSize: 4096, nc: 3 },
    { minSize: 200, avgSize: 1024, maxSize: 3000, nc: 1 },
  ];
  for (const [i, o] of sets.entries()) {
    const buf = xorshift32Bytes(1000 + i, 40_000);
    const opts = { minSize: o.minSize, avgSize: o.avgSize, maxSize: o.maxSize, normalization: o.nc };
    assert.deepEqual(cutsOf(buf, opts), referenceCuts(buf, o), JSON.stringify(o));
  }
  // Low-entropy input too (few distinct bytes, long runs)
  const runs = Buffer.alloc(30_000);
  for (let i = 0; i < runs.length; i++) runs[i] = (i >> 7) % 3 === 0 ? 0 : (i * 31) & 0x3;
  const o = { minSize: 64, avgSize: 256, maxSize: 1024, nc: 2 };
  assert.deepEqual(cutsOf(runs, SMALL), referenceCuts(runs, o));
});

test("property: Chunker cut points do not depend on how the input is split", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 0, maxLength: 12_000 }),
      fc.array(fc.integer({ min: 0, max: 2500 }), { minLength: 1, maxLength: 20 }),
      (data, splits) => {
        if (!splits.some((s) => s > 0)) splits.push(1);
        const whole = cutsOf(data, SMALL);
        const { cuts, chunks } = chunkerCuts(data, splits, SMALL);
        assert.deepEqual(cuts, whole);
        assert.deepEqual(Buffer.concat(chunks), Buffer.from(data));
      },
    ),
    { numRuns: 300 },
  );
});

test("property: split-invariance on random bytes with small parameters", () => {
  // fc.uint8Array above is biased to small values; this one is uniform bytes with many cuts.
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 0xffffffff }),
      fc.integer({ min: 0, max: 50_000 }),
      fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 10 }),
      (seed, len, splits) => {
        const data = xorshift32Bytes(seed, len);
        assert.deepEqual(chunkerCuts(data, splits, SMALL).cuts, cutsOf(data, SMALL));
      },
    ),
    { numRuns: 200 },
  );
});

test("property: views() cuts as push() does, in place where it can, whatever the splits", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 0xffffffff }),
      fc.integer({ min: 0, max: 40_000 }),
      fc.array(fc.integer({ min: 1, max: 6000 }), { minLength: 1, maxLength: 10 }),
      (seed, len, splits) => {
        const data = xorshift32Bytes(seed, len);
        const c = new Chunker(SMALL);
        const got: Buffer[] = [];
        let inPlace = 0;
        let off = 0;
        for (let k = 0; off < data.length; k++) {
          const piece = data.subarray(off, Math.min(data.length, off + splits[k % splits.length]!));
          for (const v of c.views(piece)) {
            if (v.buffer === piece.buffer) inPlace++;
            got.push(Buffer.from(v)); // a view is valid only until the loop moves on
          }
          assert.ok(c.pendingBytes < c.params.maxSize);
          off += piece.length;
        }
        for (const v of c.finishViews()) got.push(Buffer.from(v));
        const cuts: number[] = [];
        let pos = 0;
        for (const g of got) {
          pos += g.length;
          cuts.push(pos);
        }
        assert.deepEqual(cuts, cutsOf(data, SMALL));
        assert.ok(Buffer.concat(got).equals(data));
        // Pieces much longer than maxSize are mostly cut in place.
        if (splits.every((n) => n >= 4 * c.params.maxSize) && got.length > 8) assert.ok(inPlace > 0);
      },
    ),
    { numRuns: 200 },
  );
});

test("all chunks are within [min, max] except the last; default params, random splits", () => {
  const data = xorshift32Bytes(0xc0ffee, 20 * 1024 * 1024 + 333);
  const whole = cutsOf(data);
  const p = DEFAULT_CHUNK_PARAMS;
  let prev = 0;
  for (const [i, c] of whole.entries()) {
    const len = c - prev;
    if (i < whole.length - 1) {
      assert.ok(len >= p.minSize && len <= p.maxSize, `chunk ${i} has length ${len}`);
    } else {
      assert.ok(len > 0 && len <= p.maxSize);
    }
    prev = c;
  }
  assert.equal(prev, data.length);
  assert.ok(whole.length >= 10 && whole.length <= 40, `${whole.length} chunks for 20 MiB`);
  for (const splits of [[65536], [1], [7_000_001, 13], [4 << 20], [(4 << 20) - 1, 1, (4 << 20) + 1]]) {
    if (splits[0] === 1) {
      // byte-at-a-time on a shorter prefix (the full buffer would take too long)
      const small = data.subarray(0, 600_000);
      assert.deepEqual(chunkerCuts(small, splits, p).cuts, cutsOf(small));
      continue;
    }
    assert.deepEqual(chunkerCuts(data, splits, p).cuts, whole, `splits ${splits}`);
  }
});

test("a read that ends right at a cut, or a byte either side, cuts the same (default params)", () => {
  // A cut found at the very end of the data at hand looks the same as none (both return the end);
  // the chunker searches a pending chunk only from where it left off, so that last byte must be
  // searched again. Reads of one size end at every offset mod that size; these hit each cut.
  const data = xorshift32Bytes(0x5eed, 12 * 1024 * 1024 + 77);
  const p = DEFAULT_CHUNK_PARAMS;
  const whole = cutsOf(data);
  for (const [i, c] of whole.slice(0, -1).entries()) {
    const start = i === 0 ? 0 : whole[i - 1]!;
    for (const d of [-1, 0, 1]) {
      // Reads start at the chunk's start: one ends at c + d, the next takes the rest.
      const cut = chunkerCuts(data.subarray(start), [c + d - start, data.length], p).cuts.map(
        (x) => x + start,
      );
      assert.deepEqual(
        cut,
        whole.filter((x) => x > start),
        `cut ${c}, read ending ${d} from it`,
      );
    }
  }
});

test("constant data is cut at exactly maxSize (no content cut ever fires)", () => {
  const zeros = new Uint8Array(10 * 1024 * 1024);
  assert.deepEqual(cutsOf(zeros), [4 << 20, 8 << 20, 10 << 20]);
});

test("content-defined: an insertion near the start only changes the chunks around it", () => {
  const base = xorshift32Bytes(0xabcdef, 24 * 1024 * 1024);
  const hashes = (b: Uint8Array) => {
    const out: string[] = [];
    let s = 0;
    for (const c of cutsOf(b)) {
      out.push(blake3Hash(b.subarray(s, c)).toString("hex"));
      s = c;
    }
    return out;
  };
  const before = hashes(base);
  for (const [at, ins] of [
    [1000, 100],
    [300_000, 1],
    [2_000_000, 4096],
  ] as const) {
    const edited = Buffer.concat([base.subarray(0, at), xorshift32Bytes(77, ins), base.subarray(at)]);
    const after = hashes(edited);
    const kept = before.filter((h) => after.includes(h)).length;
    assert.ok(kept >= before.length - 3, `insert ${ins}@${at}: kept ${kept} of ${before.length}`);
    // and the tails line up exactly
    const tail = before.length - 4;
    assert.deepEqual(after.slice(-tail), before.slice(-tail));
  }
  // deletion of a few bytes
  const deleted = Buffer.concat([base.subarray(0, 5000), base.subarray(5010)]);
  const afterDel = hashes(deleted);
  assert.ok(before.filter((h) => afterDel.includes(h)).length >= before.length - 3);
});

test("empty and short inputs", async () => {
  const c = new Chunker();
  assert.deepEqual(c.push(new Uint8Array(0)), []);
  assert.deepEqual(c.finish(), []);
  const got: Buffer[] = [];
  for await (const ch of chunkStream([])) got.push(ch);
  for await (const ch of chunkStream([new Uint8Array(0), new Uint8Array(0)])) got.push(ch);
  assert.equal(got.length, 0);
  // shorter than minSize: one chunk
  const short = xorshift32Bytes(5, 1000);
  c.push(short.subarray(0, 10));
  c.push(short.subarray(10));
  assert.deepEqual(c.finish(), [short]);
  assert.deepEqual(cutsOf(short), [1000]);
});

test("chunkStream matches Chunker; Chunker is reusable after finish; chunks are owned copies", async () => {
  const data = xorshift32Bytes(99, 60_000);
  async function* reads() {
    for (let off = 0; off < data.length; off += 777) yield data.subarray(off, off + 777);
  }
  const streamed: Buffer[] = [];
  for await (const ch of chunkStream(reads(), SMALL)) streamed.push(ch);
  const c = new Chunker(SMALL);
  const first = [...c.push(data), ...c.finish()];
  const second = [...c.push(data), ...c.finish()];
  assert.deepEqual(streamed, first);
  assert.deepEqual(second, first);
  assert.ok(first.length > 50);
  // Mutating the input after push must not change returned chunks (fast path copies too).
  const input = Buffer.from(data);
  const c2 = new Chunker(SMALL);
  const out = c2.push(input);
  const snapshot = out.map((b) => Buffer.from(b));
  input.fill(0);
  assert.deepEqual(out, snapshot);
  for (const ch of [...first, ...out]) {
    assert.equal(ch.byteOffset, 0, "each chunk owns its ArrayBuffer");
    assert.equal(ch.buffer.byteLength, ch.length);
  }
});

interface VectorCase {
  name: string;
  params: { minSize: number; avgSize: number; maxSize: number; normalization: number };
  seed: number;
  length: number;
  cuts: number[];
  ids: string[];
  blake3: string[];
}
interface Vectors {
  generator: { algorithm: string };
  gear: { prefix: string; first: string[]; sha256OfTableBE: string };
  idKey: string;
  cases: VectorCase[];
}

test("known-answer vectors (test/vectors/chunk.json)", () => {
  const v = JSON.parse(
    readFileSync(new URL("../../test/vectors/chunk.json", import.meta.url), "utf8"),
  ) as Vectors;
  assert.equal(v.generator.algorithm, "xorshift32");
  const g = gearTable();
  assert.equal(v.gear.prefix, GEAR_SEED_PREFIX);
  assert.deepEqual(
    v.gear.first,
    Array.from(g.subarray(0, v.gear.first.length), (x) => x.toString(16).padStart(8, "0")),
  );
  const be = Buffer.alloc(1024);
  g.forEach((x, i) => {
    be.writeUInt32BE(x, i * 4);
  });
  assert.equal(createHash("sha256").update(be).digest("hex"), v.gear.sha256OfTableBE);
  const key = Buffer.from(v.idKey, "hex");
  assert.ok(v.cases.length >= 3);
  for (const k of v.cases) {
    const data = xorshift32Bytes(k.seed, k.length);
    const cuts = cutsOf(data, k.params);
    assert.deepEqual(cuts, k.cuts, `${k.name}: cut offsets`);
    let s = 0;
    cuts.forEach((c, i) => {
      assert.equal(chunkId(key, data.subarray(s, c)).toString("hex"), k.ids[i], `${k.name}: id ${i}`);
      assert.equal(blake3Hash(data.subarray(s, c)).toString("hex"), k.blake3[i], `${k.name}: blake3 ${i}`);
      s = c;
    });
    assert.equal(k.ids.length, cuts.length);
  }
});
