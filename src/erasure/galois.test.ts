import assert from "node:assert/strict";
import { test } from "node:test";
import { FerryError } from "../errors.js";
import { GF_EXP, GF_INV, GF_LOG, GF_MUL, gfDiv, gfInv, gfMul } from "./galois.js";
import { slowMul } from "./testing.js";

test("exp/log tables: 2 generates all 255 non-zero elements, log inverts exp", () => {
  const seen = new Set<number>();
  for (let i = 0; i < 255; i++) {
    const x = GF_EXP[i]!;
    assert.notEqual(x, 0);
    seen.add(x);
    assert.equal(GF_LOG[x], i);
    assert.equal(GF_EXP[i + 255], x, "doubled half of exp table");
  }
  assert.equal(seen.size, 255);
  assert.equal(GF_EXP[0], 1);
  assert.equal(GF_EXP[8], 0x1d, "x^8 = x^4 + x^3 + x^2 + 1 under 0x11D");
});

test("multiplication table equals shift-and-XOR multiplication for all 65536 pairs", () => {
  for (let a = 0; a < 256; a++) {
    for (let b = 0; b < 256; b++) {
      const want = slowMul(a, b);
      if (GF_MUL[(a << 8) | b] !== want || gfMul(a, b) !== want) {
        assert.fail(`${a}·${b}: table ${GF_MUL[(a << 8) | b]}, gfMul ${gfMul(a, b)}, want ${want}`);
      }
    }
  }
});

test("field axioms on all 256 elements", () => {
  for (let a = 0; a < 256; a++) {
    assert.equal(gfMul(a, 0), 0, "a·0 = 0");
    assert.equal(gfMul(a, 1), a, "a·1 = a");
    for (let b = 0; b < 256; b++) {
      assert.equal(gfMul(a, b), gfMul(b, a), "commutative");
    }
  }
  for (let a = 1; a < 256; a++) {
    const inv = gfInv(a);
    assert.equal(GF_INV[a], inv);
    assert.equal(gfMul(a, inv), 1, `${a}·inv(${a}) = 1`);
    assert.equal(gfInv(inv), a, "inverse is an involution");
  }
  // Associativity and distributivity: every a, b against a spread of c.
  for (let a = 0; a < 256; a++) {
    for (let b = 0; b < 256; b++) {
      for (const c of [0, 1, 2, 3, 0x1d, 0x53, 0x8e, 0xca, 0xf4, 0xff, (a * 7 + b * 13) & 0xff]) {
        if (gfMul(a, b ^ c) !== (gfMul(a, b) ^ gfMul(a, c))) assert.fail(`distributivity ${a},${b},${c}`);
        if (gfMul(gfMul(a, b), c) !== gfMul(a, gfMul(b, c))) assert.fail(`associativity ${a},${b},${c}`);
      }
    }
  }
});

test("known products and inverses under 0x11D", () => {
  assert.equal(gfMul(2, 0x80), 0x1d);
  assert.equal(gfMul(3, 7), 9);
  assert.equal(gfInv(1), 1);
  assert.equal(gfInv(2), 0x8e); // 2·0x8E = 0x11C, reduced by 0x11D gives 1
  assert.equal(gfInv(3), 0xf4); // 3·0xF4 = 0xF4 ^ 0xF5 = 1 (2·0xF4 = 0x1E8 ^ 0x11D = 0xF5)
  assert.equal(gfDiv(gfMul(9, 200), 200), 9);
});

test("gfInv(0) and out-of-range arguments throw E_USAGE", () => {
  for (const bad of [0, 256, -1, 1.5, Number.NaN]) {
    assert.throws(
      () => gfInv(bad),
      (e: unknown) => FerryError.is(e, "E_USAGE"),
    );
  }
  assert.throws(
    () => gfDiv(5, 0),
    (e: unknown) => FerryError.is(e, "E_USAGE"),
  );
});
