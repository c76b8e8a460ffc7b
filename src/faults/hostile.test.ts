/**
 * Fault class 5, hostile input: indexes (validly sealed and signed, as a tool holding the
 * keys could forge them) with `..`, absolute paths, symlinked parents, duplicate paths, deep
 * nesting, invalid UTF-8 names and huge declared sizes, drawn at random from a grammar.
 * Unpack either refuses with a typed error or restores; nothing outside the target is ever
 * touched and memory stays bounded. Source side: special files are skipped and named.
 */
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ENTRY_DIR, ENTRY_SYMLINK, type FileEntry, type IndexEntry } from "../format/index.js";
import { type DriveSpec, FerryError, keygen, pack, unpack } from "../index.js";
import * as tk from "../pipeline/testkit.js";
import * as fk from "./kit.js";

const key = keygen();
const unlock = { identities: [key.identity] };

describe("fault class 5: hostile input", () => {
  let dir = "";
  let drives: DriveSpec[] = [];
  let paths: string[] = [];
  let catalog = "";
  let file: FileEntry;
  const rand = fk.classRng("hostile");

  before(async () => {
    console.log(fk.banner("hostile"));
    dir = await tk.tempDir("ferry-faults-hostile-");
    const src = join(dir, "src");
    mkdirSync(src);
    await writeFile(join(src, "a.txt"), "payload\n".repeat(100));
    drives = tk.flatDrives(join(dir, "d"), 3);
    paths = drives.map((d) => d.path);
    catalog = join(dir, "catalog.db");
    await pack(tk.packOpts(src, drives, catalog, { tolerate: "1", recipients: [key.recipient] }));
    const info = await tk.inspectSet(paths, key.identity);
    file = info.entries.find((e) => e.path.toString() === "a.txt") as FileEntry;
  });
  after(() => tk.removeDir(dir));

  const base = { mode: 0o755, uid: 0, gid: 0, mtimeNs: 1_700_000_000_000_000_000n };
  const fileAt = (p: Buffer): IndexEntry => ({ ...file, path: p });
  const dirAt = (p: Buffer): IndexEntry => ({ type: ENTRY_DIR, path: p, ...base });
  const linkAt = (p: Buffer, target: string): IndexEntry => ({
    type: ENTRY_SYMLINK,
    path: p,
    ...base,
    mode: 0o777,
    target: Buffer.from(target),
  });

  test("random hostile indexes: refused or restored, never outside the target, memory bounded", async () => {
    const n = fk.scale(16, 150);
    const kinds = [
      "dotdot",
      "absolute",
      "symlinked parent",
      "duplicate",
      "deep nesting",
      "invalid UTF-8",
      "huge size",
    ];
    const tallies = new Map(kinds.map((k) => [k, new fk.Tally("hostile", k)]));
    for (let i = 0; i < n; i++) {
      const kind = kinds[i % kinds.length]!;
      const t = tallies.get(kind)!;
      const root = join(dir, `sb-${i}`);
      const target = join(root, "target");
      const outside = join(root, "outside");
      mkdirSync(target, { recursive: true });
      mkdirSync(outside);
      const name = () => Buffer.from(`n${fk.pick(rand, 3)}`);
      const rel = (depth: number) =>
        Buffer.from(Array.from({ length: depth }, () => name().toString()).join("/"));
      let entries: IndexEntry[] = [];
      switch (kind) {
        case "dotdot": {
          const parts = Array.from({ length: 1 + fk.pick(rand, 4) }, () =>
            rand() < 0.5 ? ".." : name().toString(),
          );
          if (!parts.includes("..")) parts.push("..");
          entries = [fileAt(Buffer.from(`${parts.join("/")}/x`))];
          if (rand() < 0.5) entries.unshift(dirAt(name()));
          break;
        }
        case "absolute":
          entries = [fileAt(Buffer.from(join(outside, `abs-${i}`)))];
          break;
        case "symlinked parent": {
          const l = name();
          const under = Buffer.concat([l, Buffer.from("/"), rel(1 + fk.pick(rand, 2))]);
          const tgt = [outside, ".", "..", "/", "../outside"][fk.pick(rand, 5)]!;
          entries = rand() < 0.5 ? [linkAt(l, tgt), fileAt(under)] : [fileAt(under), linkAt(l, tgt)];
          break;
        }
        case "duplicate": {
          const p = name();
          const make = [fileAt, dirAt, (x: Buffer) => linkAt(x, outside)];
          entries = [make[fk.pick(rand, 3)]!(p), make[fk.pick(rand, 3)]!(p)];
          break;
        }
        case "deep nesting": {
          const depth = 100 + fk.pick(rand, 1900);
          const p = Buffer.from(Array.from({ length: depth }, () => "d").join("/")).subarray(0, 4000);
          const cut = p[p.length - 1] === 0x2f ? p.subarray(0, p.length - 1) : p;
          entries = [fileAt(cut)];
          break;
        }
        case "invalid UTF-8":
          entries = [fileAt(Buffer.from([0x61, 0xff, 0xfe, 0x80 + fk.pick(rand, 64)]))];
          break;
        case "huge size": {
          const big = 0xffffffff;
          entries = [
            {
              ...file,
              path: name(),
              size: big * 2,
              chunks: [
                { ...file.chunks[0]!, plainLength: big, storedLength: big },
                { ...file.chunks[0]!, plainLength: big, offset: 2 ** 40 },
              ],
            },
          ];
          break;
        }
      }
      t.cases++;
      await tk.resealIndex(drives, catalog, key.identity, entries);
      const rss0 = process.memoryUsage().rss;
      try {
        const r = await unpack({ drives: paths, to: target, unlock });
        if (r.lost.length) t.detected++;
        else t.harmless++;
      } catch (e) {
        assert.ok(FerryError.is(e), `${kind}: ${(e as Error)?.stack}`);
        assert.ok(e.message.length > 10, e.message);
        t.refused++;
      }
      assert.ok(process.memoryUsage().rss - rss0 < 512 << 20, `${kind}: memory grew`);
      const stray = (await tk.treePaths(root)).filter(
        (p) => p !== "target" && !p.startsWith("target/") && p !== "outside",
      );
      if (stray.length) t.wrongBytes++;
      assert.deepEqual(stray, [], `${kind}: written outside the target`);
      if (kind === "dotdot" || kind === "absolute") assert.equal(t.harmless, 0, `${kind} accepted`);
      await tk.removeDir(root);
    }
    for (const t of tallies.values()) t.save();
  });

  test("source side: special files are skipped and named, the rest packs", async () => {
    const t = new fk.Tally("hostile", "source: special files (FIFOs) among regular files");
    const n = fk.scale(2, 10);
    for (let i = 0; i < n; i++) {
      const src = join(dir, `ssrc-${i}`);
      mkdirSync(src);
      const fifos = 1 + fk.pick(rand, 3);
      for (let f = 0; f < fifos; f++) tk.mkfifo(join(src, `pipe-${f}`));
      await writeFile(join(src, "ok.bin"), tk.randomData(rand, 5000));
      const sd = tk.flatDrives(join(dir, `sd-${i}`), 2);
      const r = await pack(
        tk.packOpts(src, sd, join(dir, `s-${i}.db`), { tolerate: "1", recipients: [key.recipient] }),
      );
      t.cases++;
      assert.equal(r.skipped.length, fifos);
      const to = join(dir, `sout-${i}`);
      await unpack({ drives: sd.map((d) => d.path), to, unlock });
      const { readFileSync } = await import("node:fs");
      assert.ok(readFileSync(join(to, "ok.bin")).equals(readFileSync(join(src, "ok.bin"))));
      t.refused++;
    }
    t.notes = "each special file is skipped and listed; 'refused' counts runs where every one was";
    t.save();
  });
});
