import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { bech32Decode, bech32DecodeWords, bech32Encode, bech32EncodeWords } from "./bech32.js";

// BIP-173 "valid checksum" test strings.
const VALID = [
  "A12UEL5L",
  "a12uel5l",
  "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
  "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
  `11${"q".repeat(82)}c8247j`,
  "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
  "?1ezyfcl",
];

// BIP-173 "invalid checksum" strings (the 90-character length limit is deliberately not
// enforced: age has none), plus mixed case.
const INVALID: [string, string][] = [
  ["\x201nwldj5", "HRP character out of range"],
  ["\x7f1axkwrx", "HRP character out of range"],
  ["\x801eym55h", "HRP character out of range"],
  ["pzry9x0s0muk", "no separator"],
  ["1pzry9x0s0muk", "empty HRP"],
  ["x1b4n0q5v", "invalid data character"],
  ["li1dgmt3", "too short checksum"],
  ["de1lg7wt\xff", "invalid character in checksum"],
  ["A1G7SGD8", "checksum calculated with uppercase HRP"],
  ["10a06t8", "empty HRP"],
  ["1qzzfhee", "empty HRP"],
  ["A12uEL5L", "mixed case"],
];

test("bech32 accepts the BIP-173 valid strings and re-encodes them", () => {
  for (const s of VALID) {
    const { hrp, words } = bech32DecodeWords(s);
    assert.equal(bech32EncodeWords(hrp, words), s.toLowerCase(), s);
  }
});

test("bech32 rejects the BIP-173 invalid strings", () => {
  for (const [s, why] of INVALID) {
    assert.throws(() => bech32DecodeWords(s), Error, `${JSON.stringify(s)} (${why})`);
  }
});

test("bech32 detects a single changed character", () => {
  const s = "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw";
  for (let i = 7; i < s.length; i++) {
    const c = s[i] === "q" ? "p" : "q";
    assert.throws(() => bech32DecodeWords(s.slice(0, i) + c + s.slice(i + 1)), /checksum/);
  }
});

test("bech32 byte round trip, any length, upper and lower case", () => {
  for (const n of [0, 1, 2, 5, 31, 32, 33, 100, 1000]) {
    const data = randomBytes(n);
    const s = bech32Encode("age", data);
    assert.equal(s, s.toLowerCase());
    assert.deepEqual(bech32Decode(s), { hrp: "age", data });
    assert.deepEqual(bech32Decode(s.toUpperCase()), { hrp: "age", data });
  }
});

test("bech32 byte decoding rejects non-zero padding bits", () => {
  // One byte = 8 bits -> 2 words (10 bits, 2 of padding). Set a padding bit.
  const good = bech32EncodeWords("x", [0b11111, 0b11100]);
  assert.deepEqual(bech32Decode(good).data, Buffer.from([0xff]));
  const bad = bech32EncodeWords("x", [0b11111, 0b11101]);
  assert.throws(() => bech32Decode(bad), /padding/);
  // Three words (15 bits) for one byte is excess padding.
  assert.throws(() => bech32Decode(bech32EncodeWords("x", [31, 28, 0])), /padding/);
});
