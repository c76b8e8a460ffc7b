import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { test } from "node:test";
import { FerryError } from "../errors.js";
import { deriveKey, KDF_INFO_PREFIX } from "./kdf.js";

/** RFC 5869 HKDF-SHA-256 written out with HMAC, as an independent reference. */
function hkdfReference(ikm: Buffer, salt: Buffer, info: Buffer, length: number): Buffer {
  const prk = createHmac("sha256", salt.length ? salt : Buffer.alloc(32))
    .update(ikm)
    .digest();
  const blocks: Buffer[] = [];
  let prev = Buffer.alloc(0);
  for (let i = 1; Buffer.concat(blocks).length < length; i++) {
    prev = createHmac("sha256", prk)
      .update(Buffer.concat([prev, info, Buffer.from([i])]))
      .digest();
    blocks.push(prev);
  }
  return Buffer.concat(blocks).subarray(0, length);
}

test("reference HKDF matches RFC 5869 test case 3 (empty salt and info)", () => {
  const okm = hkdfReference(Buffer.alloc(22, 0x0b), Buffer.alloc(0), Buffer.alloc(0), 42);
  assert.equal(
    okm.toString("hex"),
    "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
  );
});

test("deriveKey is HKDF-SHA-256(master, salt empty, info 'ferry v1 ' + label)", () => {
  const master = Buffer.alloc(32, 0x42);
  for (const [label, len] of [
    ["chunk", 32],
    ["index", 32],
    ["x", 1],
    ["long", 100],
  ] as const) {
    const want = hkdfReference(master, Buffer.alloc(0), Buffer.from(KDF_INFO_PREFIX + label), len);
    assert.deepEqual(deriveKey(master, label, len), want, label);
  }
  // Pinned so a change to the construction cannot go unnoticed.
  assert.equal(
    deriveKey(Buffer.alloc(32, 1), "chunk").toString("hex"),
    hkdfReference(Buffer.alloc(32, 1), Buffer.alloc(0), Buffer.from("ferry v1 chunk"), 32).toString("hex"),
  );
});

test("deriveKey is deterministic and separates labels and masters", () => {
  const m = Buffer.alloc(32, 7);
  assert.deepEqual(deriveKey(m, "chunk"), deriveKey(Buffer.from(m), "chunk"));
  assert.equal(deriveKey(m, "chunk").length, 32);
  assert.notDeepEqual(deriveKey(m, "chunk"), deriveKey(m, "index"));
  assert.notDeepEqual(deriveKey(m, "chunk"), deriveKey(Buffer.alloc(32, 8), "chunk"));
  // A shorter output is a prefix of a longer one (HKDF-Expand), so lengths are not a separator.
  assert.deepEqual(deriveKey(m, "chunk", 16), deriveKey(m, "chunk", 32).subarray(0, 16));
});

test("deriveKey rejects misuse with E_INTERNAL", () => {
  const m = Buffer.alloc(32, 7);
  for (const f of [
    () => deriveKey(Buffer.alloc(8), "chunk"),
    () => deriveKey(m, ""),
    () => deriveKey(m, "tab\tlabel"),
    () => deriveKey(m, "chunk", 0),
    () => deriveKey(m, "chunk", 8161),
  ]) {
    assert.throws(f, (e) => FerryError.is(e, "E_INTERNAL"));
  }
});
