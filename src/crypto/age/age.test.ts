import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { FerryError, type FerryErrorCode } from "../../errors.js";
import { ageDecrypt, ageEncrypt } from "./age.js";
import { rawBase64Decode, rawBase64Encode } from "./base64.js";
import { parseHeader } from "./header.js";
import { generateIdentity } from "./keys.js";

const code = (c: FerryErrorCode) => (e: unknown) => FerryError.is(e, c);
const LOW_N = 10; // fast scrypt for tests

/** Offsets of header lines in an age file. */
function headerLines(file: Buffer): { start: number; text: string }[] {
  const out: { start: number; text: string }[] = [];
  let pos = 0;
  for (;;) {
    const end = file.indexOf(0x0a, pos);
    const text = file.toString("latin1", pos, end);
    out.push({ start: pos, text });
    pos = end + 1;
    if (text.startsWith("---")) return out;
  }
}

test("age round trip to one recipient, several sizes around the 64 KiB chunk boundary", () => {
  const { identity, recipient } = generateIdentity();
  for (const n of [0, 1, 65535, 65536, 65537, 3 * 65536, 200_000]) {
    const pt = randomBytes(n);
    const file = ageEncrypt(pt, { recipients: [recipient] });
    const lines = headerLines(file);
    assert.equal(lines[0]!.text, "age-encryption.org/v1");
    assert.match(lines[1]!.text, /^-> X25519 [A-Za-z0-9+/]{43}$/);
    assert.match(lines[2]!.text, /^[A-Za-z0-9+/]{43}$/);
    assert.match(lines[3]!.text, /^--- [A-Za-z0-9+/]{43}$/);
    const chunks = n === 0 ? 1 : Math.ceil(n / 65536);
    assert.equal(file.length, lines[3]!.start + 48 + 16 + n + 16 * chunks, `size for ${n}`);
    assert.deepEqual(ageDecrypt(file, { identities: [identity] }), pt, `n=${n}`);
  }
});

test("age round trip to three recipients: each identity opens it alone", () => {
  const ids = [generateIdentity(), generateIdentity(), generateIdentity()];
  const pt = randomBytes(1000);
  const file = ageEncrypt(pt, { recipients: ids.map((i) => i.recipient) });
  assert.equal(parseHeader(file).stanzas.length, 3);
  for (const id of ids) assert.deepEqual(ageDecrypt(file, { identities: [id.identity] }), pt);
  const stranger = generateIdentity();
  assert.deepEqual(ageDecrypt(file, { identities: [stranger.identity, ids[2]!.identity] }), pt);
});

test("age round trip with a passphrase; scrypt stanza carries salt and work factor", () => {
  const pt = randomBytes(5000);
  const file = ageEncrypt(pt, { passphrase: "correct horse battery staple", scryptLogN: LOW_N });
  const [stanza] = parseHeader(file).stanzas;
  assert.equal(stanza!.args[0], "scrypt");
  assert.equal(rawBase64Decode(stanza!.args[1]!)!.length, 16);
  assert.equal(stanza!.args[2], String(LOW_N));
  assert.deepEqual(ageDecrypt(file, { passphrase: "correct horse battery staple" }), pt);
  assert.throws(() => ageDecrypt(file, { passphrase: "Correct horse battery staple" }), code("E_KEY"));
  assert.throws(() => ageDecrypt(file, { identities: [generateIdentity().identity] }), code("E_KEY"));
  // A unicode passphrase is encoded as UTF-8.
  const u = ageEncrypt(pt, { passphrase: "pässwörd ✓", scryptLogN: LOW_N });
  assert.deepEqual(ageDecrypt(u, { passphrase: "pässwörd ✓" }), pt);
});

test("age passphrase files default to work factor 2^18, and the reader caps it", () => {
  const file = ageEncrypt(Buffer.from("x"), { passphrase: "pw" });
  assert.equal(parseHeader(file).stanzas[0]!.args[2], "18");
  assert.deepEqual(ageDecrypt(file, { passphrase: "pw" }), Buffer.from("x"));
  assert.throws(() => ageDecrypt(file, { passphrase: "pw", maxScryptLogN: 17 }), code("E_CORRUPT"));
});

test("ageEncrypt refuses recipients together with a passphrase, or nothing at all (E_USAGE)", () => {
  const { recipient } = generateIdentity();
  assert.throws(
    () => ageEncrypt(Buffer.from("x"), { recipients: [recipient], passphrase: "pw" }),
    code("E_USAGE"),
  );
  assert.throws(() => ageEncrypt(Buffer.from("x"), {}), code("E_USAGE"));
  assert.throws(() => ageEncrypt(Buffer.from("x"), { recipients: [] }), code("E_USAGE"));
  assert.throws(() => ageEncrypt(Buffer.from("x"), { passphrase: "" }), code("E_USAGE"));
  assert.throws(() => ageEncrypt(Buffer.from("x"), { passphrase: "pw", scryptLogN: 0 }), code("E_USAGE"));
  assert.throws(() => ageEncrypt(Buffer.from("x"), { recipients: ["age1nope"] }), code("E_BAD_KEY_FILE"));
});

test("ageDecrypt: wrong identity or no key is E_KEY; a bad identity string is E_BAD_KEY_FILE", () => {
  const { recipient } = generateIdentity();
  const file = ageEncrypt(Buffer.from("secret"), { recipients: [recipient] });
  assert.throws(
    () => ageDecrypt(file, { identities: [generateIdentity().identity, generateIdentity().identity] }),
    (e) =>
      code("E_KEY")(e) &&
      /^None of the 2 given identities can open this age file$/.test((e as Error).message),
  );
  assert.throws(() => ageDecrypt(file, {}), code("E_KEY"));
  assert.throws(() => ageDecrypt(file, { passphrase: "pw" }), code("E_KEY"));
  assert.throws(() => ageDecrypt(file, { identities: ["AGE-SECRET-KEY-1XYZ"] }), code("E_BAD_KEY_FILE"));
});

test("tampering with the header: what the spec makes of each change", () => {
  const me = generateIdentity();
  const others = [generateIdentity(), generateIdentity()];
  const pt = randomBytes(100);
  const file = ageEncrypt(pt, { recipients: [others[0]!.recipient, me.recipient, others[1]!.recipient] });
  const lines = headerLines(file);
  const keys = { identities: [me.identity] };
  const withLine = (i: number, text: string) => {
    const l = lines[i]!;
    return Buffer.concat([
      file.subarray(0, l.start),
      Buffer.from(text, "latin1"),
      file.subarray(l.start + l.text.length),
    ]);
  };
  /** Re-encodes a base64 line with one bit of its decoded bytes flipped (stays canonical). */
  const flipB64 = (b64: string, byte: number) => {
    const raw = rawBase64Decode(b64)!;
    raw[byte]! ^= 0x01;
    return rawBase64Encode(raw);
  };

  // Another recipient's stanza changed: our stanza still yields the file key, but the header MAC
  // (which covers every stanza) no longer matches -> E_CORRUPT.
  const otherShare = lines[1]!.text.split(" ")[2]!;
  assert.throws(
    () => ageDecrypt(withLine(1, `-> X25519 ${flipB64(otherShare, 5)}`), keys),
    code("E_CORRUPT"),
  );
  assert.throws(() => ageDecrypt(withLine(2, flipB64(lines[2]!.text, 0)), keys), code("E_CORRUPT"));
  // Our own stanza's body changed: its AEAD tag fails, so no stanza is ours -> E_KEY.
  assert.throws(() => ageDecrypt(withLine(4, flipB64(lines[4]!.text, 3)), keys), code("E_KEY"));
  // Our own stanza's ephemeral share changed: a different shared secret -> E_KEY.
  const myShare = lines[3]!.text.split(" ")[2]!;
  assert.throws(() => ageDecrypt(withLine(3, `-> X25519 ${flipB64(myShare, 0)}`), keys), code("E_KEY"));
  // The MAC itself changed -> E_CORRUPT.
  const mac = lines[7]!.text.slice(4);
  assert.throws(() => ageDecrypt(withLine(7, `--- ${flipB64(mac, 31)}`), keys), code("E_CORRUPT"));
  // Structural damage -> E_CORRUPT before any key is tried.
  assert.throws(() => ageDecrypt(withLine(0, "age-encryption.org/v2"), keys), code("E_CORRUPT"));
  assert.throws(() => ageDecrypt(withLine(4, `${lines[4]!.text}=`), keys), code("E_CORRUPT"));
  assert.throws(() => ageDecrypt(withLine(1, `${lines[1]!.text} `), keys), code("E_CORRUPT"));
  assert.throws(() => ageDecrypt(withLine(1, lines[1]!.text.replace(" ", "  ")), keys), code("E_CORRUPT"));
  // Every single-byte change anywhere in the header is caught one way or the other.
  const headerEnd = lines[7]!.start + lines[7]!.text.length + 1;
  for (let i = 0; i < headerEnd; i++) {
    const bad = Buffer.from(file);
    bad[i]! ^= 0x04;
    assert.throws(
      () => ageDecrypt(bad, keys),
      (e) => FerryError.is(e, "E_CORRUPT") || FerryError.is(e, "E_KEY"),
      `header byte ${i}`,
    );
  }
  assert.deepEqual(ageDecrypt(file, keys), pt, "the untouched file still opens");
});

test("tampering with or truncating the payload is E_CORRUPT", () => {
  const { identity, recipient } = generateIdentity();
  const pt = randomBytes(70_000); // two chunks
  const file = ageEncrypt(pt, { recipients: [recipient] });
  const keys = { identities: [identity] };
  const payload = parseHeader(file).payloadOffset;
  const corrupt = code("E_CORRUPT");
  for (const i of [
    payload,
    payload + 15,
    payload + 16,
    payload + 40_000,
    file.length - 17,
    file.length - 1,
  ]) {
    const bad = Buffer.from(file);
    bad[i]! ^= 0x01;
    assert.throws(() => ageDecrypt(bad, keys), corrupt, `payload byte ${i}`);
  }
  // Truncations: inside the final chunk, exactly at the chunk boundary (drops the final chunk,
  // leaving a full chunk not marked final), inside the nonce, right after the header.
  const boundary = payload + 16 + 65536 + 16;
  for (const end of [
    file.length - 1,
    file.length - 16,
    boundary,
    payload + 20,
    payload + 16,
    payload + 3,
    payload,
  ]) {
    assert.throws(() => ageDecrypt(file.subarray(0, end), keys), corrupt, `truncated at ${end}`);
  }
  // Truncation inside the header.
  assert.throws(() => ageDecrypt(file.subarray(0, payload - 10), keys), corrupt);
  // Appended bytes.
  assert.throws(() => ageDecrypt(Buffer.concat([file, Buffer.from([0])]), keys), corrupt);
  assert.throws(() => ageDecrypt(Buffer.concat([file, randomBytes(65552)]), keys), corrupt);
});

test("ageDecrypt rejects non-age input and bounds what it reads", () => {
  const keys = { identities: [generateIdentity().identity] };
  const corrupt = code("E_CORRUPT");
  assert.throws(() => ageDecrypt(Buffer.alloc(0), keys), corrupt);
  assert.throws(() => ageDecrypt(Buffer.from("hello world\n"), keys), corrupt);
  assert.throws(() => ageDecrypt(Buffer.from("age-encryption.org/v1\n--- AAAA\n"), keys), corrupt);
  assert.throws(() => ageDecrypt(Buffer.from("-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n"), keys), corrupt);
  // A header line that never ends, larger than the 1 MiB header limit.
  const huge = Buffer.concat([Buffer.from("age-encryption.org/v1\n-> "), Buffer.alloc(1 << 21, 0x41)]);
  assert.throws(
    () => ageDecrypt(huge, keys),
    (e) => corrupt(e) && /larger than/.test((e as Error).message),
  );
});
