import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { keygen } from "./keygen.js";
import { pack } from "./pack.js";
import { BLOCK, flatDrives, flipPayloadByte, makeDataset, packOpts, removeDir, tempDir } from "./testkit.js";
import { verify } from "./verify.js";

let dir = "";
before(async () => {
  dir = await tempDir("ferry-verify-state-");
});
after(() => removeDir(dir));

// Review finding: saved --full progress was keyed by drive id only, so a drive swapped for
// another (damaged) copy between runs was never read again and could be reported healthy.
test("verify --full does not trust progress saved for another physical copy of a drive", async () => {
  const src = join(dir, "src");
  await makeDataset(src, { seed: 4 });
  const specs = flatDrives(join(dir, "drives"), 3);
  const key = keygen();
  const r = await pack(
    packOpts(src, specs, join(dir, "cat.db"), { tolerate: "1", recipients: [key.recipient] }),
  );
  const drives = specs.map((d) => d.path);
  const slot = r.layout.drives[0]!;
  const q = await verify({ drives, statePath: null });
  const n = q.drives[0]!.blocks;
  const statePath = join(dir, "state.json");
  await writeFile(
    statePath,
    JSON.stringify({
      set: r.set,
      drives: {
        [slot.id]: {
          checked: n,
          ok: n,
          damaged: 0,
          missing: 0,
          bad: Buffer.alloc(Math.ceil(n / 8)).toString("base64"),
          problems: [],
          fingerprint: "a copy that was checked before and has since been swapped",
        },
      },
    }),
  );
  await flipPayloadByte(drives[0]!, 0, BLOCK);
  const v = await verify({ drives, full: true, statePath });
  assert.equal(v.drives[0]!.damaged, 1);
  assert.equal(v.exitCode, 3);
});
