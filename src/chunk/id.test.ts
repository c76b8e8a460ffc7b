import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { FerryError } from "../errors.js";
import { blake3Hash, CHUNK_ID_BYTES, chunkId } from "./id.js";

test("blake3Hash matches the official BLAKE3 vectors", () => {
  assert.equal(
    blake3Hash(new Uint8Array(0)).toString("hex"),
    "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
  );
  assert.equal(
    blake3Hash(Buffer.from("abc")).toString("hex"),
    "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85",
  );
});

test("chunkId is BLAKE3 keyed_hash (official vector: empty input, key 'whats the Elvish word for friend')", () => {
  const key = Buffer.from("whats the Elvish word for friend");
  assert.equal(
    chunkId(key, new Uint8Array(0)).toString("hex"),
    "92b2b75604ed3c761f9d6f62392c8a9227ad0ea3f09573e783f1498a4ed60d26",
  );
});

test("keyed id differs from the plain hash and between keys; same key and data give the same id", () => {
  const data = Buffer.from("a public file everyone has");
  const k1 = Buffer.alloc(32, 1);
  const k2 = Buffer.alloc(32, 1);
  k2[31] = 2;
  const id1 = chunkId(k1, data);
  assert.equal(id1.length, CHUNK_ID_BYTES);
  assert.notDeepEqual(id1, blake3Hash(data));
  assert.notDeepEqual(id1, chunkId(k2, data));
  assert.deepEqual(id1, chunkId(Buffer.from(k1), Buffer.from(data)));
  assert.notDeepEqual(id1, chunkId(k1, Buffer.from("a public file everyone hat")));
});

test("Uint8Array views (with offsets) hash like the equivalent Buffer", () => {
  const key = new Uint8Array(32).fill(9);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 5000 }), fc.nat(100), (bytes, pad) => {
      const backing = new Uint8Array(pad + bytes.length + 7);
      backing.set(bytes, pad);
      const view = backing.subarray(pad, pad + bytes.length);
      assert.deepEqual(blake3Hash(view), blake3Hash(Buffer.from(bytes)));
      assert.deepEqual(chunkId(key, view), chunkId(Buffer.from(key), Buffer.from(bytes)));
    }),
    { numRuns: 100 },
  );
});

test("wrong key length is E_USAGE (and does not abort the process)", () => {
  for (const len of [0, 16, 31, 33, 64]) {
    assert.throws(
      () => chunkId(Buffer.alloc(len), Buffer.from("x")),
      (e) => FerryError.is(e, "E_USAGE"),
    );
  }
  assert.throws(
    () => blake3Hash("x" as unknown as Uint8Array),
    (e) => FerryError.is(e, "E_USAGE"),
  );
});
