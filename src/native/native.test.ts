import assert from "node:assert/strict";
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { test } from "node:test";
import { type ChunkParams, gearTable, resolveChunkParams } from "../chunk/fastcdc.js";
import { codeShardsJs } from "../erasure/kernel.js";
import { native } from "./index.js";

test("native kernel: loaded where it was built, or FERRY_REQUIRE_NATIVE would have thrown", () => {
  if (process.env.FERRY_REQUIRE_NATIVE === "1") assert.ok(native, "native kernel required but missing");
  if (native) assert.ok(native.kernels.includes(native.kernel));
});

test("native kernel: every variant this CPU has gives the JS kernel's bytes", { skip: !native }, () => {
  const n = native!;
  // Every coefficient appears, lengths around the 32-byte vector and 8 KiB slice edges.
  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [3, 1, 31],
    [9, 3, 32],
    [10, 4, 8191],
    [4, 6, 8192 + 33],
    [17, 5, 70_000],
    [2, 9, 100],
  ];
  for (let kind = 0; kind < n.kernels.length; kind++) {
    let c = 0;
    for (const [k, m, len] of shapes) {
      const coefs = new Uint8Array(k * m);
      for (let i = 0; i < coefs.length; i++) coefs[i] = c++ & 0xff;
      if (k * m > 2) coefs[1] = 0; // a zero coefficient is skipped
      const inputs = Array.from({ length: k }, () => randomBytes(len));
      const want = Array.from({ length: m }, () => new Uint8Array(len));
      const got = Array.from({ length: m }, () => randomBytes(len)); // outputs are overwritten
      codeShardsJs(coefs, inputs, want);
      n.codeShards(coefs, inputs, got, kind);
      for (let i = 0; i < m; i++) {
        assert.ok(
          Buffer.from(got[i]!).equals(Buffer.from(want[i]!)),
          `${n.kernels[kind]} k=${k} m=${m} len=${len} out ${i}`,
        );
      }
    }
    // All 256 coefficients against all 256 byte values.
    const all = new Uint8Array(256);
    for (let i = 0; i < 256; i++) all[i] = i;
    for (let coef = 0; coef < 256; coef++) {
      const want = [new Uint8Array(256)];
      const got = [new Uint8Array(256)];
      codeShardsJs(Uint8Array.of(coef), [all], want);
      n.codeShards(Uint8Array.of(coef), [all], got, kind);
      assert.deepEqual(got[0], want[0], `${n.kernels[kind]} coefficient ${coef}`);
    }
  }
});

test("native kernel: unequal lengths are refused, not read past", { skip: !native }, () => {
  assert.throws(() =>
    native!.codeShards(Uint8Array.of(1, 2), [new Uint8Array(64), new Uint8Array(32)], [new Uint8Array(64)]),
  );
  assert.throws(() => native!.codeShards(Uint8Array.of(1), [new Uint8Array(64)], [new Uint8Array(65)]));
  assert.throws(() => native!.codeShards(new Uint8Array(0), [new Uint8Array(8)], [new Uint8Array(8)]));
});

test("native AES-256-GCM: seals what node:crypto opens and opens what it seals; refuses any change", {
  skip: !native,
}, () => {
  const n = native!;
  for (const len of [0, 1, 15, 16, 17, 4096, 65_537, 1 << 20]) {
    const key = randomBytes(32);
    const nonce = randomBytes(12);
    const aad = randomBytes(len % 7 === 0 ? 0 : 61);
    const pt = randomBytes(len);
    const out = Buffer.alloc(len + 16);
    n.gcmSeal(key, nonce, aad, pt, out);
    const d = createDecipheriv("aes-256-gcm", key, nonce, { authTagLength: 16 });
    d.setAAD(aad);
    d.setAuthTag(out.subarray(len));
    assert.ok(
      Buffer.concat([d.update(out.subarray(0, len)), d.final()]).equals(pt),
      `node opens native seal (${len})`,
    );
    const c = createCipheriv("aes-256-gcm", key, nonce, { authTagLength: 16 });
    c.setAAD(aad);
    const ct = Buffer.concat([c.update(pt), c.final()]);
    const tag = c.getAuthTag();
    assert.ok(
      ct.equals(out.subarray(0, len)) && tag.equals(out.subarray(len)),
      `same bytes as node (${len})`,
    );
    const plain = Buffer.alloc(len);
    assert.equal(n.gcmOpen(key, nonce, aad, ct, tag, plain), true);
    assert.ok(plain.equals(pt));
    // A flipped bit anywhere (ciphertext, tag, aad, nonce, key) fails and leaves zeros.
    const bad = (what: string, k: Buffer, iv: Buffer, a: Buffer, x: Buffer, t: Buffer) => {
      const o = Buffer.alloc(len, 0xee);
      assert.equal(n.gcmOpen(k, iv, a, x, t, o), false, `${what} (${len})`);
      assert.ok(
        o.every((b) => b === 0),
        `${what}: no unauthenticated plaintext left (${len})`,
      );
    };
    const flip = (b: Buffer, i: number) => {
      const c2 = Buffer.from(b);
      c2[i % c2.length]! ^= 1;
      return c2;
    };
    if (len > 0) bad("ciphertext", key, nonce, aad, flip(ct, len >> 1), tag);
    bad("tag", key, nonce, aad, ct, flip(tag, 3));
    bad("nonce", key, flip(nonce, 5), aad, ct, tag);
    bad("key", flip(key, 9), nonce, aad, ct, tag);
    if (aad.length) bad("aad", key, nonce, flip(aad, 2), ct, tag);
  }
});

test("native AES-256-GCM: alternating keys on one thread never reuse the wrong key schedule", {
  skip: !native,
}, () => {
  const keys = [randomBytes(32), randomBytes(32)];
  const pt = randomBytes(1000);
  for (let i = 0; i < 6; i++) {
    const key = keys[i % 2]!;
    const nonce = randomBytes(12);
    const out = Buffer.alloc(1016);
    native!.gcmSeal(key, nonce, Buffer.alloc(0), pt, out);
    const d = createDecipheriv("aes-256-gcm", key, nonce, { authTagLength: 16 });
    d.setAuthTag(out.subarray(1000));
    assert.ok(Buffer.concat([d.update(out.subarray(0, 1000)), d.final()]).equals(pt));
  }
});

/** FastCDC's cut (docs/CHUNKING.md) as one plain rolling loop: the reference for the native one. */
function cutReference(b: Uint8Array, start: number, end: number, p: ChunkParams, G: Int32Array): number {
  const n = end - start;
  if (n <= p.minSize) return end;
  const limit = n < p.maxSize ? end : start + p.maxSize;
  let h = 0;
  for (let j = start + p.minSize - 32; j < limit; j++) {
    h = ((h << 1) + G[b[j]!]!) | 0;
    const L = j - start + 1;
    if (L >= p.minSize && (h & (L < p.avgSize ? p.maskS : p.maskL)) === 0) return j + 1;
  }
  return limit;
}

test("native FastCDC: the same cut points as the reference, around every lane edge", {
  skip: !native,
}, () => {
  const G = new Int32Array(gearTable().buffer);
  const p = resolveChunkParams({ minSize: 1024, avgSize: 64 * 1024, maxSize: 512 * 1024 });
  const cut = (b: Uint8Array, s: number, e: number) =>
    native!.fastcdcCut(b, s, e, p.minSize, p.avgSize, p.maxSize, p.maskS, p.maskL, G);
  // Random data: many content cuts, in both mask regions, with the four-lane path.
  const rnd = randomBytes(3 << 20);
  for (let s = 0; s < rnd.length; ) {
    const want = cutReference(rnd, s, rnd.length, p, G);
    assert.equal(cut(rnd, s, rnd.length), want, `random, chunk at ${s}`);
    s = want;
  }
  // Constant bytes never cut, so one planted window that does is the only cut: plant it just
  // before, on and after the places where the lanes' segments meet, in both regions (the window
  // passes the stricter mask, so it cuts in either).
  const window = Buffer.alloc(32);
  for (let h = 1; (h & p.maskS) !== 0; ) {
    window.set(randomBytes(32));
    h = 0;
    for (const x of window) h = ((h << 1) + G[x]!) | 0;
  }
  const zeros = Buffer.alloc(p.maxSize + 4096);
  for (const [from, to] of [
    [p.minSize - 1, p.avgSize - 1],
    [p.avgSize - 1, p.maxSize],
  ] as const) {
    const seg = Math.floor((to - from) / 4);
    const at = [from, to - 1, ...[1, 2, 3].flatMap((l) => [-2, -1, 0, 1].map((d) => from + l * seg + d))];
    for (const end of at) {
      const b = Buffer.from(zeros);
      window.copy(b, end - 31);
      const want = cutReference(b, 0, b.length, p, G);
      assert.equal(cut(b, 0, b.length), want, `window ending at ${end}`);
    }
    assert.equal(cut(zeros, 0, zeros.length), p.maxSize, "no cut in constant data");
  }
  assert.throws(() => cut(rnd, 10, 5), /bad range/);
});
