import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { globMatcher } from "./glob.js";
import { keygen } from "./keygen.js";
import { pack } from "./pack.js";
import { flatDrives, makeDataset, packOpts, removeDir, tempDir, treePaths } from "./testkit.js";
import { unpack } from "./unpack.js";

let dir = "";
let src = "";
const key = keygen();
let drives: string[] = [];

before(async () => {
  dir = await tempDir("ferry-only-");
  src = join(dir, "src");
  await makeDataset(src, { seed: 5 });
  const specs = flatDrives(join(dir, "drives"), 3);
  drives = specs.map((d) => d.path);
  await pack(packOpts(src, specs, join(dir, "cat.db"), { tolerate: "1", recipients: [key.recipient] }));
});
after(() => removeDir(dir));

test("globMatcher: * stays in a component, ** crosses them, a folder match covers its contents", () => {
  const m = globMatcher(["images/*.png", "nested/**/deep.txt", "docs"]);
  assert.ok(m("images/img0.png"));
  assert.ok(!m("images/sub/img0.png"));
  assert.ok(m("nested/a/b/c/deep.txt"));
  assert.ok(m("docs/README.txt"));
  assert.ok(!m("data/table.csv"));
  assert.ok(globMatcher(["**/*.csv"])("données/日本語 ✓.csv"));
});

test("unpack --only restores exactly the matching files, byte-exact", async () => {
  const out = join(dir, "out");
  const r = await unpack({
    drives,
    to: out,
    unlock: { identities: [key.identity] },
    only: ["images/**", "**/*.csv"],
  });
  const got = (await treePaths(out)).filter((p) => !p.endsWith("/") && /\.(png|gif|csv)$/.test(p));
  assert.ok(got.includes("images/img0.png"));
  assert.ok(got.includes("data/table.csv"));
  assert.equal(r.files, got.length);
  for (const p of got) assert.deepEqual(await readFile(join(out, p)), await readFile(join(src, p)));
  const all = await treePaths(out);
  assert.ok(!all.some((p) => p.startsWith("video/") && p !== "video/"), "video was not asked for");
});
