import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  appendFileSync,
  chmodSync,
  chownSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { keygen } from "./keygen.js";
import { pack } from "./pack.js";
import { flatDrives, packOpts, randomData, removeDir, rng, tempDir } from "./testkit.js";
import { unpack } from "./unpack.js";

let dir = "";
const key = keygen();
const rand = rng(21);
before(async () => {
  dir = await tempDir("ferry-source-");
});
after(() => removeDir(dir));

/** A source with a large file "a.bin" read over several checkpoints, then "b.txt" and "c.txt". */
function source(name: string): string {
  const src = join(dir, name);
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, "a.bin"), randomData(rand, 600_000));
  writeFileSync(join(src, "b.txt"), "b\n");
  writeFileSync(join(src, "c.txt"), "c\n");
  return src;
}

test("a file that changes while being read is read again and stored as it ended", async () => {
  const src = source("changes-once");
  const drives = flatDrives(join(dir, "d1"), 2);
  let changed = false;
  const r = await pack({
    ...packOpts(src, drives, join(dir, "c1.db"), { tolerate: "1", recipients: [key.recipient] }),
    onFileRead: (path, attempt) => {
      if (path !== "a.bin" || attempt > 0) return;
      changed = true;
      appendFileSync(join(src, "a.bin"), "appended while pack was reading\n");
    },
  });
  assert.ok(changed);
  assert.deepEqual(r.skipped, []);
  const out = join(dir, "o1");
  await unpack({ drives: drives.map((d) => d.path), to: out, unlock: { identities: [key.identity] } });
  assert.deepEqual(readFileSync(join(out, "a.bin")), readFileSync(join(src, "a.bin")));
});

test("a file that keeps changing is reported and left out, never stored torn; a vanished file is reported", async () => {
  const src = source("keeps-changing");
  const drives = flatDrives(join(dir, "d2"), 2);
  let n = 0;
  const r = await pack({
    ...packOpts(src, drives, join(dir, "c2.db"), { tolerate: "1", recipients: [key.recipient] }),
    onFileRead: (path) => {
      if (path !== "a.bin") return;
      appendFileSync(join(src, "a.bin"), `change ${n++}\n`);
      rmSync(join(src, "b.txt"), { force: true });
    },
  });
  const why = new Map(r.skipped.map((s) => [s.path, s.reason]));
  assert.match(why.get("a.bin") ?? "", /changed while being read/);
  assert.match(why.get("b.txt") ?? "", /vanished/);
  const out = join(dir, "o2");
  await unpack({ drives: drives.map((d) => d.path), to: out, unlock: { identities: [key.identity] } });
  assert.throws(() => readFileSync(join(out, "a.bin")), /ENOENT/);
  assert.equal(readFileSync(join(out, "c.txt"), "utf8"), "c\n");
});

test("an unreadable file is skipped with its reason and the rest is packed", (t) => {
  // As root every file is readable, so the pack runs in a child process as user nobody.
  const src = source("unreadable");
  chmodSync(join(src, "b.txt"), 0o000);
  const work = join(dir, "w3");
  mkdirSync(work);
  const asNobody = process.getuid?.() === 0;
  if (asNobody) {
    for (const p of [dir, src, work, join(src, "a.bin"), join(src, "c.txt")]) chownSync(p, 65534, 65534);
  }
  const script = fileURLToPath(new URL("./testdata/pack_child.js", import.meta.url));
  const r = spawnSync(process.execPath, [script, src, work, key.recipient], {
    encoding: "utf8",
    ...(asNobody ? { uid: 65534, gid: 65534 } : {}),
  });
  if (r.status !== 0 && /EACCES/.test(r.stderr) && /node_modules|dist/.test(r.stderr)) {
    t.skip("the build is not readable by user nobody here");
    return;
  }
  assert.equal(r.status, 0, r.stderr);
  const result = JSON.parse(r.stdout) as { skipped: { path: string; reason: string }[]; files: number };
  assert.deepEqual(
    result.skipped.map((s) => s.path),
    ["b.txt"],
  );
  assert.match(result.skipped[0]!.reason, /unreadable: EACCES/);
  assert.equal(result.files, 2);
});
