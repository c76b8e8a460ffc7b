import assert from "node:assert/strict";
import { createDecipheriv, randomBytes } from "node:crypto";
import { test } from "node:test";
import { FerryError } from "../errors.js";
import { NONCE_SIZE, open, SEAL_OVERHEAD, seal, TAG_SIZE } from "./aead.js";

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");
const isDecrypt = (e: unknown) => FerryError.is(e, "E_DECRYPT");

// McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", test cases 13, 14 and 16
// (256-bit key), fed to open() as nonce || ciphertext || tag.
const GCM_KAT = [
  {
    name: "test case 13",
    key: "0000000000000000000000000000000000000000000000000000000000000000",
    iv: "000000000000000000000000",
    pt: "",
    aad: "",
    ct: "",
    tag: "530f8afbc74536b9a963b4f1c4cb738b",
  },
  {
    name: "test case 14",
    key: "0000000000000000000000000000000000000000000000000000000000000000",
    iv: "000000000000000000000000",
    pt: "00000000000000000000000000000000",
    aad: "",
    ct: "cea7403d4d606b6e074ec5d3baf39d18",
    tag: "d0d1c8a799996bf0265b98b5d48ab919",
  },
  {
    name: "test case 16",
    key: "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
    iv: "cafebabefacedbaddecaf888",
    pt: `d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72
         1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39`,
    aad: "feedfacedeadbeeffeedfacedeadbeefabaddad2",
    ct: `522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa
         8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662`,
    tag: "76fc6ece0f4e1768cddf8853bb2d551b",
  },
];

test("open() decrypts the McGrew-Viega AES-256-GCM known-answer vectors", () => {
  for (const v of GCM_KAT) {
    const sealed = Buffer.concat([hex(v.iv), hex(v.ct), hex(v.tag)]);
    assert.deepEqual(open(hex(v.key), sealed, hex(v.aad)), hex(v.pt), v.name);
    const bad = Buffer.from(sealed);
    bad[bad.length - 1]! ^= 0x80;
    assert.throws(() => open(hex(v.key), bad, hex(v.aad)), isDecrypt, v.name);
  }
});

test("seal() output is nonce || AES-256-GCM ciphertext || tag", () => {
  const key = randomBytes(32);
  const pt = randomBytes(1000);
  const aad = Buffer.from("set 3f2a chunk 9");
  const sealed = seal(key, pt, aad);
  assert.equal(sealed.length, pt.length + SEAL_OVERHEAD);
  assert.equal(SEAL_OVERHEAD, 28);
  // Decrypt with node directly, independent of open().
  const d = createDecipheriv("aes-256-gcm", key, sealed.subarray(0, NONCE_SIZE));
  d.setAAD(aad);
  d.setAuthTag(sealed.subarray(sealed.length - TAG_SIZE));
  const got = Buffer.concat([d.update(sealed.subarray(NONCE_SIZE, sealed.length - TAG_SIZE)), d.final()]);
  assert.deepEqual(got, pt);
});

test("seal/open round trip: empty, small, 1 MiB; nonces are fresh", () => {
  const key = randomBytes(32);
  const aad = Buffer.from("aad");
  for (const n of [0, 1, 15, 16, 17, 4096, 1 << 20]) {
    const pt = randomBytes(n);
    const a = seal(key, pt, aad);
    const b = seal(key, pt, aad);
    assert.notDeepEqual(a.subarray(0, NONCE_SIZE), b.subarray(0, NONCE_SIZE), "nonce reused");
    assert.deepEqual(open(key, a, aad), pt);
    assert.deepEqual(open(key, b, aad), pt);
  }
});

test("seal/open write into a caller buffer when given one", () => {
  const key = randomBytes(32);
  const pt = randomBytes(5000);
  const scratch = Buffer.alloc(pt.length + SEAL_OVERHEAD + 100, 0xee);
  const sealed = seal(key, pt, Buffer.alloc(0), scratch);
  assert.equal(sealed.length, pt.length + SEAL_OVERHEAD);
  assert.equal(sealed.buffer, scratch.buffer, "written in place");
  assert.equal(scratch[pt.length + SEAL_OVERHEAD], 0xee, "no write past the end");
  const out = Buffer.alloc(pt.length);
  const opened = open(key, sealed, Buffer.alloc(0), out);
  assert.equal(opened.buffer, out.buffer);
  assert.deepEqual(opened, pt);
  assert.throws(
    () => seal(key, pt, Buffer.alloc(0), Buffer.alloc(pt.length + SEAL_OVERHEAD - 1)),
    (e) => FerryError.is(e, "E_INTERNAL"),
  );
});

test("open() throws E_DECRYPT for a changed nonce, ciphertext, tag, aad or key", () => {
  const key = randomBytes(32);
  const pt = randomBytes(256);
  const aad = Buffer.from("set 3f2a chunk 1");
  const sealed = seal(key, pt, aad);
  const regions = {
    nonce: [0, NONCE_SIZE - 1],
    ciphertext: [NONCE_SIZE, NONCE_SIZE + 100, sealed.length - TAG_SIZE - 1],
    tag: [sealed.length - TAG_SIZE, sealed.length - 1],
  };
  for (const [what, offsets] of Object.entries(regions)) {
    for (const i of offsets) {
      const bad = Buffer.from(sealed);
      bad[i]! ^= 0x01;
      assert.throws(() => open(key, bad, aad), isDecrypt, `${what} byte ${i}`);
    }
  }
  assert.throws(() => open(key, sealed, Buffer.from("set 3f2a chunk 2")), isDecrypt, "aad");
  assert.throws(() => open(key, sealed, Buffer.alloc(0)), isDecrypt, "missing aad");
  assert.throws(() => open(randomBytes(32), sealed, aad), isDecrypt, "key");
  assert.deepEqual(open(key, sealed, aad), pt, "original still opens");
});

test("open() throws E_DECRYPT for input shorter than nonce + tag, or truncated", () => {
  const key = randomBytes(32);
  for (const n of [0, 1, 12, 27]) {
    assert.throws(() => open(key, Buffer.alloc(n), Buffer.alloc(0)), isDecrypt, `length ${n}`);
  }
  const sealed = seal(key, randomBytes(100), Buffer.alloc(0));
  assert.throws(() => open(key, sealed.subarray(0, sealed.length - 1), Buffer.alloc(0)), isDecrypt);
  assert.throws(() => open(key, Buffer.concat([sealed, Buffer.from([0])]), Buffer.alloc(0)), isDecrypt);
  const empty = seal(key, Buffer.alloc(0), Buffer.alloc(0));
  assert.equal(empty.length, 28);
  assert.deepEqual(open(key, empty, Buffer.alloc(0)), Buffer.alloc(0));
});

test("seal/open reject keys that are not 32 bytes as a bug (E_INTERNAL)", () => {
  const isInternal = (e: unknown) => FerryError.is(e, "E_INTERNAL");
  assert.throws(() => seal(randomBytes(16), Buffer.alloc(1), Buffer.alloc(0)), isInternal);
  assert.throws(() => open(randomBytes(16), Buffer.alloc(40), Buffer.alloc(0)), isInternal);
});
