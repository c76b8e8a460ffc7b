/**
 * Defects the fault suite found in the core, each kept as a regression test named after
 * the issue that found it.
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Catalog } from "../catalog/catalog.js";
import { sign } from "../crypto/index.js";
import { FerryError } from "../errors.js";
import {
  DRIVE_DIR,
  decodeEnvelope,
  encodeEnvelope,
  KIND_LABEL,
  LABEL_FILE,
  type LabelBody,
  type SetLayout,
  validateLayout,
} from "../format/index.js";
import { keygen, pack, verify } from "../index.js";
import * as tk from "../pipeline/testkit.js";

const layout = (): SetLayout => ({
  tolerate: "1",
  blockSize: 4096,
  k: 1,
  m: 1,
  groups: [{ drives: [0, 1] }],
  drives: [
    { index: 0, id: "a", bag: "x", group: 0, shard: 0 },
    { index: 1, id: "b", bag: "y", group: 0, shard: 1 },
  ],
});

describe("issue5: validateLayout on hostile layouts", () => {
  test("issue5: a null group or drive entry is E_CORRUPT, not a TypeError", () => {
    for (const edit of [
      (l: SetLayout) => {
        (l.groups as unknown[])[0] = null;
      },
      (l: SetLayout) => {
        (l.drives as unknown[])[1] = null;
      },
      (l: SetLayout) => {
        l.drives.push(null as never);
      },
    ]) {
      const l = layout();
      edit(l);
      assert.throws(
        () => validateLayout(l),
        (e: unknown) => FerryError.is(e, "E_CORRUPT"),
      );
    }
  });

  test("issue5: a drive that belongs to no stripe group is refused", () => {
    const l = layout();
    l.drives.push({ index: 2, id: "c", bag: "z", group: 0, shard: 0 });
    assert.throws(
      () => validateLayout(l),
      (e: unknown) => FerryError.is(e, "E_CORRUPT") && /no stripe group/.test(e.message),
    );
  });
});

describe("issue5: labels forged with the set's own signing key", () => {
  let dir = "";
  let paths: string[] = [];
  let signSecret: Buffer;
  let label: LabelBody;
  let file = "";
  let orig: Buffer;

  before(async () => {
    dir = await tk.tempDir();
    const src = join(dir, "src");
    await tk.makeDataset(src, { seed: 6, scale: 0.1 });
    const drives = tk.flatDrives(join(dir, "d"), 3);
    paths = drives.map((d) => d.path);
    const catalog = join(dir, "catalog.db");
    const key = keygen();
    const r = await pack(tk.packOpts(src, drives, catalog, { tolerate: "1", recipients: [key.recipient] }));
    const c = Catalog.open(catalog);
    signSecret = Buffer.from(
      (JSON.parse(c.getSet(r.set)!.secrets) as { signSecret: string }).signSecret,
      "hex",
    );
    c.close();
    file = join(paths[0]!, DRIVE_DIR, LABEL_FILE);
    orig = await readFile(file);
    label = decodeEnvelope<LabelBody>(orig, KIND_LABEL, "label").body;
  });
  after(() => tk.removeDir(dir));

  const forged = async (edit: (b: Record<string, unknown>) => void) => {
    const body = structuredClone(label) as unknown as Record<string, unknown>;
    edit(body);
    await writeFile(
      file,
      encodeEnvelope(KIND_LABEL, body, (m) => sign(signSecret, m)),
    );
    try {
      return await verify({ drives: paths, statePath: null }).then(
        () => null,
        (e: unknown) => e,
      );
    } finally {
      await writeFile(file, orig);
    }
  };

  test("issue5: a label whose set id is not a string is E_CORRUPT, not a TypeError in the foreign-drive message", async () => {
    for (const v of [0, null, ["x"]]) {
      const e = await forged((b) => {
        b.set = v;
      });
      assert.ok(FerryError.is(e, "E_CORRUPT"), String((e as Error)?.stack ?? e));
    }
  });

  test("issue5: a label without its drive slot is E_CORRUPT", async () => {
    const e = await forged((b) => {
      b.drive = null;
    });
    assert.ok(FerryError.is(e, "E_CORRUPT"), String((e as Error)?.stack ?? e));
  });

  test("issue5: a label of another format version is refused with E_FORMAT_VERSION", async () => {
    for (const v of [2, "x", null]) {
      const e = await forged((b) => {
        b.format = v;
      });
      assert.ok(FerryError.is(e, "E_FORMAT_VERSION"), String((e as Error)?.stack ?? e));
    }
    assert.equal((await verify({ drives: paths, statePath: null })).exitCode, 0);
  });
});
