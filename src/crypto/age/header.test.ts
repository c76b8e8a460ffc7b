import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { FerryError } from "../../errors.js";
import { isBase64Char, rawBase64Decode, rawBase64Encode } from "./base64.js";
import { formatHeader, formatStanza, parseHeader, verifyHeaderMac } from "./header.js";

test("raw base64: canonical encodings round trip; padding, bad characters and spare bits are refused", () => {
  for (let n = 0; n < 70; n++) {
    const b = randomBytes(n);
    const s = rawBase64Encode(b);
    assert.ok(!s.includes("="));
    assert.deepEqual(rawBase64Decode(s), b);
  }
  assert.deepEqual(rawBase64Decode("YWdl"), Buffer.from("age"));
  for (const bad of [
    "YWdl=",
    "YQ==",
    "YQ=",
    "Y",
    "YWdlY",
    "YR",
    "YWf",
    "YW-l",
    "YW_l",
    "YW l",
    "YWdl\n",
    "é",
  ]) {
    assert.equal(rawBase64Decode(bad), null, JSON.stringify(bad));
  }
  assert.ok(isBase64Char(0x2b) && isBase64Char(0x2f) && !isBase64Char(0x3d) && !isBase64Char(0x2d));
});

test("formatStanza wraps bodies at 64 columns and always ends with a short (maybe empty) line", () => {
  assert.equal(formatStanza({ args: ["a"], body: Buffer.alloc(0) }), "-> a\n\n");
  const s47 = formatStanza({ args: ["a", "b"], body: Buffer.alloc(47, 1) });
  assert.match(s47, /^-> a b\n[A-Za-z0-9+/]{63}\n$/);
  const s48 = formatStanza({ args: ["a"], body: Buffer.alloc(48, 1) });
  assert.match(s48, /^-> a\n[A-Za-z0-9+/]{64}\n\n$/);
  const s96 = formatStanza({ args: ["a"], body: Buffer.alloc(97, 1) });
  assert.match(s96, /^-> a\n[A-Za-z0-9+/]{64}\n[A-Za-z0-9+/]{64}\n[A-Za-z0-9+/]{2}\n$/);
  assert.throws(() => formatStanza({ args: ["a b"], body: Buffer.alloc(0) }));
  assert.throws(() => formatStanza({ args: [], body: Buffer.alloc(0) }));
});

test("parseHeader reads back what formatHeader writes, and the MAC verifies", () => {
  const fileKey = randomBytes(16);
  const stanzas = [
    { args: ["X25519", "abc"], body: randomBytes(32) },
    { args: ["grease", "x", "y"], body: randomBytes(200) },
    { args: ["empty"], body: Buffer.alloc(0) },
    { args: ["full"], body: randomBytes(48) },
  ];
  const header = formatHeader(stanzas, fileKey);
  const file = Buffer.concat([header, Buffer.from("PAYLOAD")]);
  const parsed = parseHeader(file);
  assert.deepEqual(parsed.stanzas, stanzas);
  assert.equal(parsed.payloadOffset, header.length);
  assert.ok(verifyHeaderMac(fileKey, parsed));
  assert.ok(!verifyHeaderMac(randomBytes(16), parsed));
  assert.equal(parsed.macInput.toString("latin1"), header.toString("latin1").slice(0, header.length - 45));
});

test("parseHeader refuses too many stanzas", () => {
  const many = Array.from({ length: 4097 }, () => ({ args: ["g"], body: Buffer.alloc(0) }));
  const file = Buffer.concat([formatHeader(many, randomBytes(16)), randomBytes(40)]);
  assert.throws(
    () => parseHeader(file),
    (e) => FerryError.is(e, "E_CORRUPT") && /more than 4096 stanzas/.test((e as Error).message),
  );
});
