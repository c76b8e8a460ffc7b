import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { FerryError } from "../errors.js";
import {
  decompress,
  maybeCompress,
  maybeCompressView,
  SAMPLE_BYTES,
  sampleSuggestsSaving,
  TINY_BYTES,
} from "./compress.js";
import { csvText, xorshift32Bytes } from "./testdata.js";

const isCorrupt = (e: unknown) => FerryError.is(e, "E_CORRUPT");

test("CSV text compresses and round-trips", () => {
  for (const len of [1000, SAMPLE_BYTES, SAMPLE_BYTES + 1, 1 << 20, 3 * 1024 * 1024 + 17]) {
    const csv = csvText(len);
    const r = maybeCompress(csv);
    assert.equal(r.compressed, true, `len ${len}`);
    assert.ok(r.data.length < csv.length * 0.5, `ratio ${r.data.length / csv.length} at ${len}`);
    assert.deepEqual(decompress(r.data, csv.length), csv);
  }
});

test("decompress into a caller's buffer of exactly the expected length", () => {
  const csv = csvText(200_000);
  const r = maybeCompress(csv);
  const into = Buffer.alloc(csv.length, 0xee);
  const out = decompress(r.data, csv.length, into);
  assert.equal(out, into, "written in place");
  assert.deepEqual(out, Buffer.from(csv));
  assert.throws(
    () => decompress(r.data, csv.length, Buffer.alloc(csv.length + 1)),
    (e) => FerryError.is(e, "E_USAGE"),
  );
  assert.throws(() => decompress(r.data.subarray(0, 100), csv.length, into), isCorrupt);
});

test("incompressible input stays uncompressed and is returned as-is", () => {
  for (const len of [1, 100, 5000, SAMPLE_BYTES, 1 << 20, 4 << 20]) {
    const rnd = xorshift32Bytes(len, len);
    const r = maybeCompress(rnd);
    assert.equal(r.compressed, false);
    assert.equal(r.data, rnd);
  }
  const empty = new Uint8Array(0);
  assert.deepEqual(maybeCompress(empty), { data: empty, compressed: false });
});

test("the sample probe sees compressible regions anywhere in the chunk", () => {
  // Half random, half CSV: the whole chunk saves ~40%, so it must be compressed.
  const half = 512 * 1024;
  for (const parts of [
    [xorshift32Bytes(3, half), csvText(half)],
    [csvText(half), xorshift32Bytes(4, half)],
  ]) {
    const mixed = Buffer.concat(parts);
    const r = maybeCompress(mixed);
    assert.equal(r.compressed, true);
    assert.ok(r.data.length < mixed.length * 0.75);
    assert.deepEqual(decompress(r.data, mixed.length), mixed);
  }
  // Mostly random with a little text: saves < 10%, so it stays uncompressed.
  const mostlyRandom = Buffer.concat([xorshift32Bytes(5, 1000 * 1024), csvText(24 * 1024)]);
  assert.equal(maybeCompress(mostlyRandom).compressed, false);
});

test("minSaving and level options", () => {
  const csv = csvText(256 * 1024);
  assert.equal(maybeCompress(csv, { minSaving: 0.95 }).compressed, false);
  const l1 = maybeCompress(csv);
  const l9 = maybeCompress(csv, { level: 9 });
  const fast = maybeCompress(csv, { level: -5 });
  assert.ok(l9.compressed && l1.compressed && fast.compressed);
  assert.ok(l9.data.length < l1.data.length, `${l9.data.length} < ${l1.data.length}`);
  for (const r of [l1, l9, fast]) assert.deepEqual(decompress(r.data, csv.length), csv);
  // back to level 1 after other levels: same bytes as the first level-1 call
  assert.deepEqual(maybeCompress(csv).data, l1.data);
  for (const bad of [
    { level: 23 },
    { level: 1.5 },
    { minSaving: 1 },
    { minSaving: -0.1 },
    { minSaving: Number.NaN },
  ]) {
    assert.throws(
      () => maybeCompress(csv, bad),
      (e) => FerryError.is(e, "E_USAGE"),
      JSON.stringify(bad),
    );
  }
});

test("property: anything that gets compressed round-trips", () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 200_000 }),
        fc.string({ maxLength: 50_000 }).map((s) => Buffer.from(s.repeat(3))),
      ),
      (data) => {
        const r = maybeCompress(data, { minSaving: 0 });
        if (r.compressed) {
          assert.ok(r.data.length < data.length);
          assert.deepEqual(decompress(r.data, data.length), Buffer.from(data));
        } else {
          assert.equal(r.data, data);
        }
      },
    ),
    { numRuns: 150 },
  );
});

test("corrupted compressed data is E_CORRUPT", () => {
  const csv = csvText(300 * 1024);
  const { data, compressed } = maybeCompress(csv);
  assert.ok(compressed);
  const frame = Buffer.from(data);
  // flip single bytes across the frame: header, body, checksum
  for (const at of [0, 5, Math.floor(frame.length / 3), Math.floor(frame.length / 2), frame.length - 1]) {
    const bad = Buffer.from(frame);
    bad[at]! ^= 0x40;
    assert.throws(() => decompress(bad, csv.length), isCorrupt, `flip at ${at}`);
  }
  assert.throws(() => decompress(frame.subarray(0, frame.length - 10), csv.length), isCorrupt, "truncated");
  assert.throws(() => decompress(Buffer.concat([frame, Buffer.from([1, 2, 3])]), csv.length), isCorrupt);
  assert.throws(() => decompress(xorshift32Bytes(1, 5000), csv.length), isCorrupt, "garbage");
  assert.throws(() => decompress(new Uint8Array(0), csv.length), isCorrupt, "empty");
  // still usable after errors
  assert.deepEqual(decompress(frame, csv.length), csv);
});

test("wrong expected length is E_CORRUPT; bad expected length is E_USAGE", () => {
  const csv = csvText(100_000);
  const { data } = maybeCompress(csv);
  for (const len of [csv.length - 1, csv.length + 1, 0, csv.length * 2]) {
    assert.throws(() => decompress(data, len), isCorrupt, `expected ${len}`);
  }
  for (const len of [-1, 1.5, Number.NaN, 2 ** 40]) {
    assert.throws(
      () => decompress(data, len),
      (e) => FerryError.is(e, "E_USAGE"),
      `expected ${len}`,
    );
  }
});

test("sampleSuggestsSaving: rejects random, accepts text and mixed chunks, always tries tiny chunks", () => {
  assert.equal(sampleSuggestsSaving(xorshift32Bytes(8, 1 << 20)), false);
  assert.equal(sampleSuggestsSaving(xorshift32Bytes(8, 4 << 20)), false);
  assert.equal(sampleSuggestsSaving(xorshift32Bytes(8, TINY_BYTES)), true);
  // Small chunks (a small image, a small CSV) are judged by a 4 KiB sample.
  for (const len of [TINY_BYTES + 1, 36_000, SAMPLE_BYTES]) {
    assert.equal(sampleSuggestsSaving(xorshift32Bytes(8, len)), false, `random ${len}`);
    assert.equal(maybeCompress(xorshift32Bytes(8, len)).compressed, false);
    assert.equal(sampleSuggestsSaving(csvText(len)), true, `csv ${len}`);
    assert.equal(maybeCompress(csvText(len)).compressed, true);
  }
  assert.equal(sampleSuggestsSaving(csvText(1 << 20)), true);
  // a CSV region in the last quarter only
  const tail = Buffer.concat([xorshift32Bytes(9, 768 * 1024), csvText(256 * 1024)]);
  assert.equal(sampleSuggestsSaving(tail), true);
  assert.equal(maybeCompress(tail).compressed, true);
  // random with a CSV region in the middle third
  const mid = xorshift32Bytes(10, 1 << 20);
  mid.set(csvText(300 * 1024), 349_000);
  assert.equal(sampleSuggestsSaving(mid), true);
  assert.equal(maybeCompress(mid).compressed, true);
});

test("maybeCompressView: the same bytes as maybeCompress, in one reused buffer (no allocation per chunk)", () => {
  const a = Buffer.from(csvText(200_000, 1));
  const b = Buffer.from(csvText(150_000, 2));
  const va = maybeCompressView(a);
  assert.ok(va.compressed);
  const copyA = Buffer.from(va.data);
  assert.deepEqual(copyA, maybeCompress(a).data);
  assert.deepEqual(decompress(copyA, a.length), a);
  const vb = maybeCompressView(b);
  assert.ok(vb.compressed);
  // The same memory: a view is valid only until the next compression.
  assert.equal(vb.data.buffer, va.data.buffer);
  assert.equal(vb.data.byteOffset, 0);
  assert.deepEqual(decompress(vb.data, b.length), b);
  // Incompressible input comes back as itself, as with maybeCompress.
  const noise = xorshift32Bytes(5, 100_000);
  const vn = maybeCompressView(noise);
  assert.equal(vn.compressed, false);
  assert.equal(vn.data, noise);
});
