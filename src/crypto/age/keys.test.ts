import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { FerryError } from "../../errors.js";
import { bech32Encode } from "../bech32.js";
import {
  formatIdentityFile,
  generateIdentity,
  identityToRecipient,
  parseIdentities,
  parseIdentity,
  parseRecipient,
} from "./keys.js";

const isBadKey = (e: unknown) => FerryError.is(e, "E_BAD_KEY_FILE");

// From the age spec (c2sp.org/age, "The X25519 recipient type"); `age-keygen -y` agrees.
const SPEC_IDENTITY = "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX";
const SPEC_RECIPIENT = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj";

test("identityToRecipient matches the age spec's example key pair", () => {
  assert.equal(identityToRecipient(SPEC_IDENTITY), SPEC_RECIPIENT);
  assert.equal(identityToRecipient(SPEC_IDENTITY.toLowerCase()), SPEC_RECIPIENT);
  // The spec's identity encodes 32 bytes of 0x42 ("B").
  assert.deepEqual(parseIdentity(SPEC_IDENTITY), Buffer.alloc(32, 0x42));
  assert.equal(parseRecipient(SPEC_RECIPIENT).length, 32);
  assert.deepEqual(parseRecipient(SPEC_RECIPIENT.toUpperCase()), parseRecipient(SPEC_RECIPIENT));
});

test("identityToRecipient matches identity files written by the real age-keygen", () => {
  const url = new URL("../../../test/vectors/age-cli.json", import.meta.url);
  const { vectors } = JSON.parse(readFileSync(url, "utf8")) as { vectors: { identities: string[] }[] };
  const files = new Set(vectors.flatMap((v) => v.identities));
  assert.ok(files.size >= 2);
  for (const file of files) {
    const publicKey = /^# public key: (age1[a-z0-9]+)$/m.exec(file)?.[1];
    assert.ok(publicKey, "age-keygen writes a '# public key:' line");
    const [id] = parseIdentities(file);
    assert.equal(identityToRecipient(id!), publicKey);
  }
});

test("generateIdentity makes a matching, well-formed pair", () => {
  const a = generateIdentity();
  const b = generateIdentity();
  assert.match(a.identity, /^AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}$/);
  assert.match(a.recipient, /^age1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{58}$/);
  assert.equal(identityToRecipient(a.identity), a.recipient);
  assert.notEqual(a.identity, b.identity);
});

test("formatIdentityFile writes age-keygen's layout and parses back", () => {
  const text = formatIdentityFile(
    SPEC_IDENTITY,
    SPEC_RECIPIENT,
    new Date(Date.UTC(2024, 4, 1, 10, 0, 0, 123)),
  );
  assert.equal(text, `# created: 2024-05-01T10:00:00Z\n# public key: ${SPEC_RECIPIENT}\n${SPEC_IDENTITY}\n`);
  assert.deepEqual(parseIdentities(text), [SPEC_IDENTITY]);
  const other = generateIdentity();
  assert.throws(() => formatIdentityFile(SPEC_IDENTITY, other.recipient, new Date()), isBadKey);
  assert.throws(() => formatIdentityFile(SPEC_IDENTITY, SPEC_RECIPIENT, new Date(Number.NaN)), RangeError);
});

test("parseIdentities skips comments and blank lines, accepts CRLF and several keys", () => {
  const a = generateIdentity();
  const b = generateIdentity();
  const text = `\uFEFF# created: x\r\n# public key: ${a.recipient}\r\n\r\n${a.identity}\r\n  \n# second\n${b.identity.toLowerCase()}`;
  assert.deepEqual(parseIdentities(text), [a.identity, b.identity]);
});

test("parseIdentities rejects other content with E_BAD_KEY_FILE and never echoes a key", () => {
  const { identity, recipient } = generateIdentity();
  const damaged = identity.slice(0, 20) + (identity[20] === "Q" ? "P" : "Q") + identity.slice(21);
  const cases = [
    "",
    "# only a comment\n",
    `${recipient}\n`,
    `${identity}\nsomething else\n`,
    `${damaged}\n`,
    "AGE-PLUGIN-YUBIKEY-1QQQQQQ\n",
    "age-encryption.org/v1\n-> X25519 abc\n",
  ];
  for (const text of cases) {
    assert.throws(
      () => parseIdentities(text),
      (e) =>
        isBadKey(e) && !(e as Error).message.includes(identity) && !(e as Error).message.includes(damaged),
      JSON.stringify(text.slice(0, 30)),
    );
  }
  assert.throws(() => parseIdentities("#".repeat((1 << 20) + 1)), isBadKey);
});

test("parseRecipient and parseIdentity reject the wrong kind, bad checksums and wrong lengths", () => {
  const { identity, recipient } = generateIdentity();
  const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === "q" ? "p" : "q") + s.slice(i + 1);
  for (const bad of [
    identity,
    flip(recipient, 10),
    "age1",
    bech32Encode("age", Buffer.alloc(31, 1)),
    bech32Encode("age", Buffer.alloc(33, 1)),
    "age1pq1qqqqq",
    `Age1${recipient.slice(4)}`,
    "",
  ]) {
    assert.throws(() => parseRecipient(bad), isBadKey, bad);
  }
  for (const bad of [
    recipient,
    flip(identity.toLowerCase(), 20),
    bech32Encode("AGE-SECRET-KEY-", Buffer.alloc(31, 1)).toUpperCase(),
    "AGE-SECRET-KEY-1QQQQ",
    "garbage",
  ]) {
    assert.throws(() => parseIdentity(bad), isBadKey, bad);
  }
});
