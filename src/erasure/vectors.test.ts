import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { buildVectors, type ErasureVectorFile, refInv, refMul, renderVectors } from "./gen_vectors.js";
import { gfInv, gfMul } from "./galois.js";
import { ReedSolomon } from "./reedsolomon.js";
import { subsets } from "./testing.js";

// Tests run from dist/erasure/, so this is the repository's test/vectors/erasure.json.
const VECTORS_URL = new URL("../../test/vectors/erasure.json", import.meta.url);
const file = JSON.parse(readFileSync(VECTORS_URL, "utf8")) as ErasureVectorFile;

const fromHex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, "hex"));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

test("vector file describes the field and construction ferry implements", () => {
  assert.equal(file.field.polynomial, "0x11d");
  assert.equal(file.field.generator, 2);
  assert.ok(file.vectors.length >= 5);
  const geometries = file.vectors.map((v) => `${v.k},${v.m}`);
  for (const g of ["1,1", "2,1", "3,0", "9,3", "10,4"]) assert.ok(geometries.includes(g), g);
});

test("hand-checked parity byte: k=2, m=1", () => {
  // C[0][j] = inverse((2 + 0) XOR j): j=0 -> inv(2) = 0x8E (2·0x8E = 0x11C; 0x11C ^ 0x11D = 1),
  //                                   j=1 -> inv(3) = 0xF4 (3·0xF4 = 0xF4 ^ 0xF5 = 1).
  // Data bytes d0 = 0x01, d1 = 0x02:
  //   0x8E·0x01 = 0x8E
  //   0xF4·0x02 = 0xF4 << 1 = 0x1E8, reduce: 0x1E8 ^ 0x11D = 0xF5
  //   parity    = 0x8E ^ 0xF5 = 0x7B
  const v = file.vectors.find((x) => x.name === "k2m1-hand")!;
  assert.deepEqual(v.parityMatrix, [[0x8e, 0xf4]]);
  assert.equal(v.data[0]!.slice(0, 2), "01");
  assert.equal(v.data[1]!.slice(0, 2), "02");
  assert.equal(v.parity[0]!.slice(0, 2), "7b");
  const rs = new ReedSolomon(2, 1);
  const shards = [Uint8Array.of(1), Uint8Array.of(2), new Uint8Array(1)];
  rs.encode(shards);
  assert.equal(shards[2]![0], 0x7b);
});

test("ReedSolomon reproduces every pinned vector (matrix and parity)", () => {
  for (const v of file.vectors) {
    const rs = new ReedSolomon(v.k, v.m);
    assert.deepEqual(rs.parityMatrix(), v.parityMatrix, v.name);
    const data = v.data.map(fromHex);
    assert.equal(data.length, v.k);
    for (const d of data) assert.equal(d.length, v.shardLength);
    const shards = [...data, ...Array.from({ length: v.m }, () => new Uint8Array(v.shardLength))];
    rs.encode(shards);
    assert.deepEqual(shards.slice(v.k).map(toHex), v.parity, v.name);
    assert.ok(rs.verify(shards));
  }
});

test("pinned vectors decode from every pattern of m lost shards (small geometries)", () => {
  for (const v of file.vectors) {
    if (v.k + v.m > 14) continue;
    const rs = new ReedSolomon(v.k, v.m);
    const all = [...v.data, ...v.parity].map(fromHex);
    for (const lost of subsets(v.k + v.m, v.m)) {
      if (lost.length !== v.m) continue;
      const shards: (Uint8Array | null)[] = all.slice();
      for (const i of lost) shards[i] = null;
      rs.reconstruct(shards);
      assert.deepEqual(
        shards.map((s) => toHex(s!)),
        [...v.data, ...v.parity],
        `${v.name} lost ${lost}`,
      );
    }
  }
});

test("the generator's table-free reference agrees with galois.ts, and regenerates the file", () => {
  for (let a = 1; a < 256; a++) {
    assert.equal(refInv(a), gfInv(a));
    for (let b = 0; b < 256; b += 17) assert.equal(refMul(a, b), gfMul(a, b));
  }
  assert.equal(renderVectors(buildVectors()), readFileSync(VECTORS_URL, "utf8"));
});
