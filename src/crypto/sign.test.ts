import assert from "node:assert/strict";
import { test } from "node:test";
import { FerryError } from "../errors.js";
import { generateSigningKey, SIGNATURE_SIZE, sign, signingPublicKey, verifySignature } from "./sign.js";

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");

// RFC 8032 §7.1, TEST 1 (empty message) and TEST 2 (one byte 0x72).
const RFC8032 = [
  {
    secret: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    public: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    msg: "",
    sig: `e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155
          5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b`,
  },
  {
    secret: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
    public: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
    msg: "72",
    sig: `92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da
          085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00`,
  },
];

test("Ed25519 matches RFC 8032 test vectors 1 and 2", () => {
  for (const v of RFC8032) {
    const sk = hex(v.secret);
    const pk = hex(v.public);
    const msg = hex(v.msg);
    assert.deepEqual(signingPublicKey(sk), pk);
    const sig = sign(sk, msg);
    assert.equal(sig.length, SIGNATURE_SIZE);
    assert.deepEqual(sig, hex(v.sig));
    assert.ok(verifySignature(pk, msg, sig));
  }
});

test("Ed25519 verify rejects a changed message, signature or key", () => {
  const v = RFC8032[1]!;
  const pk = hex(v.public);
  const sig = hex(v.sig);
  assert.ok(!verifySignature(pk, hex("73"), sig));
  for (const i of [0, 31, 32, 63]) {
    const bad = Buffer.from(sig);
    bad[i]! ^= 1;
    assert.ok(!verifySignature(pk, hex(v.msg), bad), `sig byte ${i}`);
  }
  assert.ok(!verifySignature(hex(RFC8032[0]!.public), hex(v.msg), sig));
  assert.ok(!verifySignature(pk.subarray(1), hex(v.msg), sig), "short key");
  assert.ok(!verifySignature(pk, hex(v.msg), sig.subarray(1)), "short sig");
});

test("Ed25519 generated keys sign and verify; bad secret length is E_BAD_KEY_FILE", () => {
  const { publicKey, secretKey } = generateSigningKey();
  assert.equal(publicKey.length, 32);
  assert.equal(secretKey.length, 32);
  assert.deepEqual(signingPublicKey(secretKey), publicKey);
  const msg = Buffer.from("manifest v1");
  const sig = sign(secretKey, msg);
  assert.ok(verifySignature(publicKey, msg, sig));
  assert.deepEqual(sign(secretKey, msg), sig, "deterministic");
  assert.throws(
    () => sign(secretKey.subarray(0, 31), msg),
    (e) => FerryError.is(e, "E_BAD_KEY_FILE"),
  );
});
