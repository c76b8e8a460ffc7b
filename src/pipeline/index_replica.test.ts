import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { keygen } from "./keygen.js";
import { pack } from "./pack.js";
import {
  filesInStripes,
  inspectSet,
  makeDataset,
  packOpts,
  removeDir,
  tempDir,
  twelveDrives,
} from "./testkit.js";
import { unpack } from "./unpack.js";
import { verify } from "./verify.js";

let dir = "";
let src = "";
const key = keygen();
let drives: { bag: string; path: string }[] = [];

before(async () => {
  dir = await tempDir("ferry-replica-");
  src = join(dir, "src");
  await makeDataset(src, { seed: 11 });
  drives = twelveDrives(join(dir, "drives"));
  await pack(packOpts(src, drives, join(dir, "cat.db"), { tolerate: "bag", recipients: [key.recipient] }));
});
after(() => removeDir(dir));

test("the first drive of every bag holds a copy of the index, named in the manifest", async () => {
  const info = await inspectSet(
    drives.map((d) => d.path),
    key.identity,
  );
  assert.deepEqual(info.manifest.index.replicas, [0, 3, 6, 9]);
  const copy = await readFile(join(drives[0]!.path, "ferry", "INDEX"));
  const stored = info.manifest.index.pieces.reduce((a, p) => a + p[1], 0);
  assert.equal(copy.length, stored);
});

test("a damaged index copy is reported by verify without any key", async () => {
  const f = join(drives[3]!.path, "ferry", "INDEX");
  const orig = await readFile(f);
  const bad = Buffer.from(orig);
  bad[Math.floor(bad.length / 2)]! ^= 0x40;
  await writeFile(f, bad);
  try {
    const r = await verify({ drives: drives.map((d) => d.path), statePath: null });
    assert.equal(r.exitCode, 3);
    assert.ok(r.drives[3]!.problems.some((p) => p.includes("index copy")));
  } finally {
    await writeFile(f, orig);
  }
  const ok = await verify({ drives: drives.map((d) => d.path), statePath: null });
  assert.equal(ok.exitCode, 0);
});

test("with the striped index lost beyond parity, the copies still name lost files and unpack restores the rest", async () => {
  const info = await inspectSet(
    drives.map((d) => d.path),
    key.identity,
  );
  const G = info.layout.groups.length;
  // Lose bag "bagb" and, in the group holding the last index stripe, one more drive: every
  // stripe of that group (including that index stripe) is beyond parity.
  const lastIndexStripe = Math.max(...info.indexStripes);
  const group = lastIndexStripe % G;
  const extra = info.layout.groups[group]!.drives.find((i) => drives[i]!.bag === "bagc")!;
  const present = drives.filter((d, i) => d.bag !== "bagb" && i !== extra).map((d) => d.path);
  const lostStripes = new Set<number>();
  for (let s = group; s < info.manifest.stripes; s += G) lostStripes.add(s);
  const expected = filesInStripes(info, lostStripes);

  const v = await verify({ drives: present, unlock: { identities: [key.identity] }, statePath: null });
  assert.equal(v.exitCode, 4);
  assert.deepEqual([...(v.lostFiles ?? [])].sort(), expected);

  const out = join(dir, "out");
  const u = await unpack({ drives: present, to: out, unlock: { identities: [key.identity] } });
  assert.deepEqual(u.lost.map((l) => l.path).sort(), expected);
  assert.ok(u.files > 0, "the files outside the lost stripes are restored");
});
