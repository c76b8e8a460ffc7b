import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { describeTree } from "../demo/compare.js";
import { GOLDEN_DIR } from "./gen_golden_set.js";
import { identitiesFromFile } from "./keygen.js";
import { unpack } from "./unpack.js";
import { verify } from "./verify.js";

// The committed set in test/vectors/set-v1 pins the whole on-drive format: if any reader-side
// structure changes, this set stops restoring and the format version must be bumped.
const expected = JSON.parse(readFileSync(join(GOLDEN_DIR, "expected.json"), "utf8"));
const identities = identitiesFromFile(readFileSync(join(GOLDEN_DIR, "identity.txt"), "utf8"));
const drives = [0, 1, 2].map((i) => join(GOLDEN_DIR, `drive${i}`));

test("the committed v1 set verifies healthy without a key", async () => {
  const r = await verify({ drives, full: true, statePath: null });
  assert.equal(r.status, "healthy");
  assert.equal(r.exitCode, 0);
});

for (const missing of [null, 0, 1, 2]) {
  test(`the committed v1 set restores byte-exact ${missing === null ? "from all drives" : `without drive ${missing}`}`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "ferry-golden-out-"));
    // Copy so the committed files are never touched by a reader.
    const copies = drives.map((d, i) => {
      const c = join(dir, `drive${i}`);
      cpSync(d, c, { recursive: true });
      return c;
    });
    try {
      const r = await unpack({
        drives: copies.filter((_, i) => i !== missing),
        to: join(dir, "out"),
        unlock: { identities },
      });
      assert.equal(r.lost.length, 0);
      assert.deepEqual(Object.fromEntries(describeTree(join(dir, "out"))), expected);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
