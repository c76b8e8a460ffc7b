/**
 * Hostile index entries: a set whose (validly signed and encrypted) index tries to write
 * outside the unpack target — `..`, absolute paths, files under symlinks, duplicate paths
 * of different kinds. Unpack must refuse with E_UNSAFE_PATH and write nothing outside.
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, symlinkSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ENTRY_DIR, ENTRY_SYMLINK, type FileEntry, type IndexEntry } from "../format/index.js";
import { checkRelPath, type DriveSpec, FerryError, keygen, pack, unpack } from "../index.js";
import * as tk from "./testkit.js";

const key = keygen();
const unlock = { identities: [key.identity] };

describe("checkRelPath", () => {
  test("accepts plain relative paths and returns their components", () => {
    assert.deepEqual(
      checkRelPath(Buffer.from("a/b c/.hidden/...")).map((b) => b.toString()),
      ["a", "b c", ".hidden", "..."],
    );
    assert.equal(checkRelPath(Buffer.from([0x61, 0xff, 0x2f, 0x62])).length, 2);
  });

  test("refuses empty, absolute, '.', '..', empty components and NUL bytes", () => {
    const bad = [
      "",
      "/etc/passwd",
      "/",
      "..",
      "../x",
      "a/../../x",
      "a/..",
      ".",
      "./a",
      "a/./b",
      "a//b",
      "a/",
      "a\0b",
    ];
    for (const p of bad) {
      assert.throws(
        () => checkRelPath(Buffer.from(p)),
        (e: unknown) => FerryError.is(e, "E_UNSAFE_PATH"),
        JSON.stringify(p),
      );
    }
  });
});

describe("unpacking a set with a hostile index", () => {
  let dir = "";
  let drives: DriveSpec[] = [];
  let paths: string[] = [];
  let catalog = "";
  let file: FileEntry;
  let n = 0;
  const content = "the payload of a.txt\n".repeat(50);

  before(async () => {
    dir = await tk.tempDir();
    const src = join(dir, "src");
    mkdirSync(join(src, "sub"), { recursive: true });
    await writeFile(join(src, "a.txt"), content);
    await writeFile(join(src, "sub", "b.txt"), "b\n");
    drives = tk.flatDrives(join(dir, "d"), 3);
    paths = drives.map((d) => d.path);
    catalog = join(dir, "catalog.db");
    await pack(tk.packOpts(src, drives, catalog, { tolerate: "1", recipients: [key.recipient] }));
    const info = await tk.inspectSet(paths, key.identity);
    file = info.entries.find((e) => e.path.toString() === "a.txt") as FileEntry;
    assert.ok(file);
  });
  after(() => tk.removeDir(dir));

  const fileAt = (p: string | Buffer): IndexEntry => ({ ...file, path: Buffer.from(p) });
  const dirAt = (p: string): IndexEntry => ({
    type: ENTRY_DIR,
    path: Buffer.from(p),
    mode: 0o755,
    uid: 0,
    gid: 0,
    mtimeNs: 1_700_000_000_000_000_000n,
  });
  const linkAt = (p: string, target: string): IndexEntry => ({
    type: ENTRY_SYMLINK,
    path: Buffer.from(p),
    mode: 0o777,
    uid: 0,
    gid: 0,
    mtimeNs: 1_700_000_000_000_000_000n,
    target: Buffer.from(target),
  });

  /** A sandbox with an empty target and an empty folder outside it. */
  const sandbox = () => {
    const root = join(dir, `sandbox-${n++}`);
    const target = join(root, "target");
    const outside = join(root, "outside");
    mkdirSync(target, { recursive: true });
    mkdirSync(outside);
    return { root, target, outside };
  };

  /** Asserts nothing but the target's contents and the empty outside folder exist. */
  const assertContained = async (sb: ReturnType<typeof sandbox>) => {
    const all = await tk.treePaths(sb.root);
    const stray = all.filter((p) => p !== "target" && !p.startsWith("target/") && p !== "outside");
    assert.deepEqual(stray, [], "nothing may be written outside the target");
  };

  const expectUnsafe = async (entries: IndexEntry[], prepare?: (sb: ReturnType<typeof sandbox>) => void) => {
    const sb = sandbox();
    prepare?.(sb);
    await tk.resealIndex(drives, catalog, key.identity, entries);
    const e = await tk.rejectsWith(unpack({ drives: paths, to: sb.target, unlock }), "E_UNSAFE_PATH");
    await assertContained(sb);
    return { sb, e };
  };

  test("the test helper's re-sealed index is accepted when benign", async () => {
    const sb = sandbox();
    await tk.resealIndex(drives, catalog, key.identity, [
      dirAt("x"),
      fileAt("x/copy.txt"),
      linkAt("x/l", "copy.txt"),
    ]);
    const r = await unpack({ drives: paths, to: sb.target, unlock });
    assert.deepEqual([r.files, r.dirs, r.symlinks], [1, 1, 1]);
    assert.equal(readFileSync(join(sb.target, "x", "l"), "utf8"), content);
    await assertContained(sb);
  });

  test("'..' components", async () => {
    await expectUnsafe([fileAt("ok.txt"), fileAt("../escaped.txt")]);
    await expectUnsafe([fileAt("a/../../escaped.txt")]);
    await expectUnsafe([dirAt("..")]);
    await expectUnsafe([linkAt("../link", "/etc")]);
  });

  test("absolute paths", async () => {
    const sb = sandbox();
    await tk.resealIndex(drives, catalog, key.identity, [fileAt(join(sb.outside, "abs.txt"))]);
    await tk.rejectsWith(unpack({ drives: paths, to: sb.target, unlock }), "E_UNSAFE_PATH");
    await assertContained(sb);
  });

  test("a symlink to outside, then a file under it (either order)", async () => {
    const cases = (outside: string): IndexEntry[][] => [
      [linkAt("evil", outside), fileAt("evil/pwned.txt")],
      [fileAt("evil/pwned.txt"), linkAt("evil", outside)],
      [linkAt("evil", outside), dirAt("evil/sub"), fileAt("evil/sub/pwned.txt")],
      [linkAt("evil", outside), linkAt("evil/inner", "/etc/passwd")],
      [linkAt("evil", "."), fileAt("evil/evil/pwned.txt")],
    ];
    for (let i = 0; i < 5; i++) {
      const sb = sandbox();
      await tk.resealIndex(drives, catalog, key.identity, cases(sb.outside)[i]!);
      await tk.rejectsWith(unpack({ drives: paths, to: sb.target, unlock }), "E_UNSAFE_PATH");
      await assertContained(sb);
    }
  });

  test("a symlink already in the target is never written through", async () => {
    await expectUnsafe([fileAt("pre/pwned.txt")], (sb) => symlinkSync(sb.outside, join(sb.target, "pre")));
    await expectUnsafe([dirAt("pre")], (sb) => symlinkSync(sb.outside, join(sb.target, "pre")));
  });

  test("duplicate paths of different kinds", async () => {
    await expectUnsafe([dirAt("dup"), linkAt("dup", "/tmp")]);
    await expectUnsafe([fileAt("dup"), dirAt("dup")]);
    await expectUnsafe([dirAt("dup"), fileAt("dup")]);
    await expectUnsafe([fileAt("dup/f"), fileAt("dup")]);
    await expectUnsafe([fileAt("dup"), fileAt("dup/f")]);
  });
});
