import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { lstatSync, lutimesSync, mkdirSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { keygen } from "./keygen.js";
import { pack } from "./pack.js";
import { flatDrives, packOpts, removeDir, tempDir } from "./testkit.js";
import { unpack } from "./unpack.js";

// Review finding: Node's futimes/lutimes replace a negative time with the current time, so an
// mtime before 1970 came back as the time of the unpack.

let dir = "";
before(async () => {
  dir = await tempDir("ferry-old-times-");
});
after(() => removeDir(dir));

test("mtimes before 1970 come back for small and large files, folders and links", async () => {
  const src = join(dir, "src");
  mkdirSync(join(src, "old"), { recursive: true });
  writeFileSync(join(src, "old", "small.txt"), "tiny");
  writeFileSync(join(src, "old", "large.bin"), randomBytes(600_000));
  symlinkSync("small.txt", join(src, "old", "link"));
  const when = new Date(Date.UTC(1969, 6, 20, 20, 17, 40, 250)); // ms precision is what a Date carries
  for (const f of ["small.txt", "large.bin"]) utimesSync(join(src, "old", f), when, when);
  lutimesSync(join(src, "old", "link"), when, when);
  utimesSync(join(src, "old"), when, when);
  const key = keygen();
  const drives = flatDrives(join(dir, "drives"), 3);
  await pack(packOpts(src, drives, join(dir, "cat.db"), { tolerate: "1", recipients: [key.recipient] }));
  const to = join(dir, "out");
  await unpack({ drives: drives.map((d) => d.path), to, unlock: { identities: [key.identity] } });
  for (const name of ["old", "old/small.txt", "old/large.bin", "old/link"]) {
    assert.equal(lstatSync(join(to, name)).mtimeMs, when.getTime(), name);
  }
});
