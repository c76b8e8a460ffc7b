import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { keygen } from "./keygen.js";
import { pack } from "./pack.js";
import { compareTrees, flatDrives, packOpts, rejectsWith, removeDir, tempDir } from "./testkit.js";
import { unpack } from "./unpack.js";

// A target that fills up mid-unpack, with most files going through the small-file writer thread
// and a few large ones through O_DIRECT: one typed error that says the target is full, nothing
// half-written left under a final name, and a rerun after space is freed finishes the job.

let dir = "";
before(async () => {
  dir = await tempDir("ferry-unpack-full-");
});
after(() => removeDir(dir));

test("a target that fills up stops unpack with E_TARGET (full); with room again, the rerun resumes and finishes", async (tc) => {
  const mnt = join(dir, "target");
  mkdirSync(mnt);
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt], { stdio: "pipe" });
  } catch {
    tc.skip("cannot mount a tmpfs here (needs root)");
    return;
  }
  try {
    const src = join(dir, "src");
    for (let d = 0; d < 4; d++) {
      mkdirSync(join(src, `d${d}`), { recursive: true });
      for (let f = 0; f < 100; f++)
        writeFileSync(join(src, `d${d}`, `f${f}.bin`), randomBytes(8000 + f * 37));
    }
    writeFileSync(join(src, "d2", "large.bin"), randomBytes(700_000));
    const key = keygen();
    const unlock = { identities: [key.identity] };
    const drives = flatDrives(join(dir, "drives"), 3);
    await pack(packOpts(src, drives, join(dir, "cat.db"), { tolerate: "1", recipients: [key.recipient] }));
    const paths = drives.map((d) => d.path);
    const to = join(mnt, "out");
    const e = await rejectsWith(unpack({ drives: paths, to, unlock }), "E_TARGET");
    assert.match(e.message, /ENOSPC/);
    assert.match(e.hint ?? "", /full/);
    execFileSync("mount", ["-o", "remount,size=64m", mnt]);
    const r = await unpack({ drives: paths, to, unlock });
    assert.equal(r.resumed, true);
    await compareTrees(src, to);
    assert.ok(!readdirSync(to, { recursive: true }).some((f) => String(f).includes(".ferry-tmp")));
  } finally {
    execFileSync("umount", [mnt]);
  }
});
