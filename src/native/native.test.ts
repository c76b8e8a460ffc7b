import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
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
