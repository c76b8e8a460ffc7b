import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { keygen } from "./keygen.js";
import { pack } from "./pack.js";
import { compareTrees, flatDrives, makeDataset, packOpts, removeDir, tempDir } from "./testkit.js";
import { unpack } from "./unpack.js";

let dir = "";
let src = "";
let drives: string[] = [];
let setHex = "";
const key = keygen();

before(async () => {
  dir = await tempDir("ferry-unpack-resume-");
  src = join(dir, "src");
  await makeDataset(src, { seed: 9 });
  const specs = flatDrives(join(dir, "drives"), 3);
  drives = specs.map((d) => d.path);
  setHex = (
    await pack(packOpts(src, specs, join(dir, "cat.db"), { tolerate: "1", recipients: [key.recipient] }))
  ).set;
});
after(() => removeDir(dir));

const journal = (out: string) => join(out, `.ferry-unpack-${setHex.slice(0, 16)}.json`);

// Review finding: a resumed unpack kept any file of the right size, so an older copy (or garbage
// after a power loss) survived a run that reported "every file hash checked".
test("a resumed unpack re-checks files it skips and replaces wrong content of the right size", async () => {
  const out = join(dir, "out-stale");
  execFileSync("cp", ["-a", src, out]); // names with invalid UTF-8 need a byte-exact copy
  const victim = join(out, "data", "table.csv");
  const good = await readFile(victim);
  const stale = Buffer.from(good);
  stale[0]! ^= 0xff;
  await writeFile(victim, stale);
  await writeFile(journal(out), JSON.stringify({ set: setHex, pass: 1, done: 1_000_000, only: null }));
  const r = await unpack({ drives, to: out, unlock: { identities: [key.identity] } });
  assert.equal(r.resumed, true);
  assert.deepEqual(await readFile(victim), good);
  await compareTrees(src, out);
});

// Review finding: the journal ignored --only, so a full run after an interrupted --only run
// skipped pass 1 and restored nothing.
test("a journal written by an --only run does not let a full run skip files", async () => {
  const out = join(dir, "out-only");
  await unpack({ drives, to: out, unlock: { identities: [key.identity] }, only: ["docs/**"] });
  await writeFile(journal(out), JSON.stringify({ set: setHex, pass: 2, done: 0, only: ["docs/**"] }));
  const r = await unpack({ drives, to: out, unlock: { identities: [key.identity] } });
  assert.equal(r.resumed, false);
  await compareTrees(src, out);
});
