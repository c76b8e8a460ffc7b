import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { keygen } from "./keygen.js";
import { type PackEvent, pack } from "./pack.js";
import { flatDrives, makeDataset, packOpts, removeDir, tempDir } from "./testkit.js";

let dir = "";
before(async () => {
  dir = await tempDir("ferry-resume-opts-");
});
after(() => removeDir(dir));

// Review finding: a rerun with another --tolerate or --recipient silently kept the old ones.
test("resuming with other options says which are ignored and keeps the set's own", async () => {
  const src = join(dir, "src");
  await makeDataset(src, { seed: 8 });
  const specs = flatDrives(join(dir, "drives"), 4);
  const a = keygen();
  const b = keygen();
  const base = packOpts(src, specs, join(dir, "cat.db"), {
    tolerate: "1",
    recipients: [a.recipient],
    checkpointBytes: 32 << 10,
  });
  await assert.rejects(
    pack({
      ...base,
      onCheckpoint: () => {
        throw new Error("interrupted");
      },
    }),
    /interrupted/,
  );
  const events: PackEvent[] = [];
  const r = await pack({ ...base, tolerate: "2", recipients: [b.recipient], onEvent: (e) => events.push(e) });
  assert.equal(r.resumed, true);
  assert.equal(r.layout.m, 1, "the set keeps its policy");
  const w = events.find((e) => e.type === "warning");
  assert.ok(w && w.type === "warning" && /--tolerate 2/.test(w.message) && /--recipient/.test(w.message));
});
