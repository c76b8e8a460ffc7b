import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { open, verifySignature } from "../crypto/index.js";
import { FerryError } from "../errors.js";
import { checkBlock, decodeEnvelope, IndexParser, KIND_LABEL, KIND_MANIFEST } from "./index.js";
import { buildVectors } from "./gen_vectors.js";

const vectors = JSON.parse(readFileSync(new URL("../../test/vectors/format.json", import.meta.url), "utf8"));
const b = (h: string) => Buffer.from(h, "hex");

test("format v1 encoders reproduce the committed vectors exactly", () => {
  assert.deepEqual(JSON.parse(JSON.stringify(buildVectors())), vectors);
});

test("envelope vector decodes and its Ed25519 signature verifies", () => {
  const env = decodeEnvelope<Record<string, unknown>>(b(vectors.envelope.bytes), KIND_LABEL, "vector");
  assert.deepEqual(env.body, vectors.envelope.body);
  assert.ok(verifySignature(b(vectors.envelope.signPub), env.signed, env.signature));
  const tampered = b(vectors.envelope.bytes);
  tampered[20]! ^= 1;
  const env2 = decodeEnvelope<Record<string, unknown>>(tampered, KIND_LABEL, "vector");
  assert.ok(!verifySignature(b(vectors.envelope.signPub), env2.signed, env2.signature));
  assert.throws(
    () => decodeEnvelope(b(vectors.envelope.bytes), KIND_MANIFEST, "vector"),
    (e) => FerryError.is(e, "E_CORRUPT"),
  );
  const v2 = b(vectors.envelope.bytes);
  v2[8] = 2;
  assert.throws(
    () => decodeEnvelope(v2, KIND_LABEL, "vector"),
    (e) => FerryError.is(e, "E_FORMAT_VERSION"),
  );
});

test("block vector checks good, and any flipped byte makes it an erasure", () => {
  const v = vectors.block;
  const rec = Buffer.concat([b(v.header), b(v.payload)]);
  const want = {
    setId: b(v.setId),
    stripe: v.stripe,
    shard: v.shard,
    group: v.group,
    blockSize: 64,
    sum: b(v.hash),
  };
  assert.equal(checkBlock(rec, want), null);
  for (const at of [0, 5, 21, 29, 33, 45, 72, 100, rec.length - 1]) {
    const bad = Buffer.from(rec);
    bad[at]! ^= 0x10;
    assert.notEqual(checkBlock(bad, want), null, `flip at ${at}`);
  }
  assert.match(checkBlock(rec, { ...want, stripe: 8 }) ?? "", /expected stripe 8/);
  assert.match(checkBlock(rec, { ...want, sum: Buffer.alloc(32) }) ?? "", /SUMS/);
});

test("sealed chunk vector opens with the HKDF chunk key and AAD", () => {
  const c = vectors.chunk;
  const plain = open(b(vectors.keys.chunkKey), b(c.sealed), b(c.aad));
  assert.equal(plain.toString("hex"), c.plaintext);
  const wrongAad = b(c.aad);
  wrongAad[wrongAad.length - 1]! ^= 1;
  assert.throws(
    () => open(b(vectors.keys.chunkKey), b(c.sealed), wrongAad),
    (e) => FerryError.is(e, "E_DECRYPT"),
  );
});

test("index vector parses to its entries, split at any byte", () => {
  const bytes = b(vectors.index.bytes);
  for (const split of [1, 5, 17, 60, bytes.length - 1]) {
    const p = new IndexParser();
    const got = [...p.push(bytes.subarray(0, split)), ...p.push(bytes.subarray(split))];
    assert.equal(p.end(), vectors.index.entries.length);
    assert.deepEqual(
      got.map((e) => [e.type, e.path.toString(), e.mtimeNs.toString()]),
      vectors.index.entries.map((e: { type: number; path: string; mtimeNs: string }) => [
        e.type,
        e.path,
        e.mtimeNs,
      ]),
    );
  }
  const truncated = new IndexParser();
  truncated.push(bytes.subarray(0, bytes.length - 3));
  assert.throws(
    () => truncated.end(),
    (e) => FerryError.is(e, "E_CORRUPT"),
  );
});
