import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { FerryError } from "../../errors.js";
import { ageDecrypt } from "./age.js";
import { parseIdentities } from "./keys.js";

interface Vector {
  name: string;
  expect: "success" | "no match" | "header failure" | "HMAC failure" | "payload failure";
  payloadSha256?: string;
  identities: string[];
  passphrases: string[];
  comment?: string;
  file: string;
}

function load(name: string): Vector[] {
  const url = new URL(`../../../test/vectors/${name}`, import.meta.url);
  return (JSON.parse(readFileSync(url, "utf8")) as { vectors: Vector[] }).vectors;
}

/** The FerryError code ferry gives for each testkit expectation. */
const CODE = {
  "no match": "E_KEY",
  "header failure": "E_CORRUPT",
  "HMAC failure": "E_CORRUPT",
  "payload failure": "E_CORRUPT",
} as const;

function check(v: Vector, identities: string[]): void {
  // ageDecrypt takes one passphrase; a vector with several is tried once per passphrase.
  const passphrases = v.passphrases.length > 0 ? v.passphrases : [undefined];
  for (const passphrase of passphrases) {
    const keys = { identities, ...(passphrase === undefined ? {} : { passphrase }) };
    if (v.expect === "success") {
      const out = ageDecrypt(Buffer.from(v.file, "base64"), keys);
      assert.equal(createHash("sha256").update(out).digest("hex"), v.payloadSha256);
    } else {
      const want = CODE[v.expect];
      assert.throws(
        () => ageDecrypt(Buffer.from(v.file, "base64"), keys),
        (e) => FerryError.is(e, want),
        `expected ${want} (${v.expect}${v.comment ? `: ${v.comment}` : ""})`,
      );
    }
  }
}

const testkit = load("age.json");
test("the pinned age testkit subset is present", () => {
  assert.ok(testkit.length >= 50);
  for (const e of ["success", "no match", "header failure", "HMAC failure", "payload failure"]) {
    assert.ok(
      testkit.some((v) => v.expect === e),
      e,
    );
  }
});
for (const v of testkit) {
  test(`age testkit: ${v.name} (${v.expect})`, () => check(v, v.identities));
}

for (const v of load("age-cli.json")) {
  test(`age CLI vector: ${v.name} (${v.expect})`, () =>
    check(
      v,
      v.identities.flatMap((f) => parseIdentities(f)),
    ));
}
