/**
 * Durable pack writes blocks with O_DIRECT: the default block size makes each record 1 MiB, the
 * stripe writer keeps several stripes in flight and each drive writes runs of blocks in one call.
 * These tests pack that way (fsync on, as users run it) and check the set byte for byte. Unpack
 * writes large files with O_DIRECT from aligned staging buffers: the last tests check those
 * files byte for byte, with every size around the alignment and staging boundaries.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdirSync, writeFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { BLOCK_HEADER_SIZE } from "../format/index.js";
import { keygen, pack, unpack, verify } from "../index.js";
import { native } from "../native/index.js";
import { DEFAULT_BLOCK_SIZE } from "./layout.js";
import { DIRECT_MIN } from "./unpack.js";
import * as tk from "./testkit.js";

const key = keygen();
const unlock = { identities: [key.identity] };
let dir = "";
let src = "";

before(async () => {
  dir = await tk.tempDir("ferry-direct-");
  src = join(dir, "src");
  await mkdir(join(src, "sub"), { recursive: true });
  // Incompressible, so the log is as long as the data: 24 MiB over 3 data drives crosses a
  // segment (1024 blocks) on every drive with 4 KiB blocks.
  writeFileSync(join(src, "big.bin"), randomBytes(20 << 20));
  writeFileSync(join(src, "sub", "small.bin"), randomBytes(4 << 20));
  writeFileSync(join(src, "sub", "text.csv"), "a,b,c\n".repeat(50_000));
});
after(() => tk.removeDir(dir));

test("pack picks 1 MiB records where it writes with O_DIRECT, with or without fsync, and 1 MiB payloads through the page cache", async () => {
  const opts = (name: string, fsync: boolean, direct?: boolean) => {
    const o = tk.packOpts(src, tk.flatDrives(join(dir, name), 4), join(dir, `${name}.db`), {
      recipients: [key.recipient],
      fsync,
      ...(direct === undefined ? {} : { direct }),
    });
    delete o.blockSize;
    return o;
  };
  const directSize = native ? DEFAULT_BLOCK_SIZE : 1 << 20;
  const durable = await pack(opts("durable", true));
  assert.equal(durable.layout.blockSize, directSize);
  if (native) assert.equal((BLOCK_HEADER_SIZE + durable.layout.blockSize) % 4096, 0);
  const unsafe = await pack(opts("unsafe", false));
  assert.equal(unsafe.layout.blockSize, directSize);
  const buffered = await pack(opts("buffered", true, false));
  assert.equal(buffered.layout.blockSize, 1 << 20);
  for (const name of ["durable", "unsafe", "buffered"]) {
    const paths = tk.flatDrives(join(dir, name), 4).map((d) => d.path);
    const v = await verify({ drives: paths, full: true, unlock, statePath: null });
    assert.equal(v.status, "healthy", name);
    const to = join(dir, `${name}-out`);
    await unpack({ drives: paths, to, unlock });
    await tk.compareTrees(src, to);
  }
});

test("O_DIRECT pack with small blocks: many stripes in flight, runs across segments, a drive lost", async () => {
  const drives = tk.flatDrives(join(dir, "small-blocks"), 5);
  const r = await pack(
    tk.packOpts(src, drives, join(dir, "small-blocks.db"), {
      recipients: [key.recipient],
      fsync: true,
      direct: true,
      blockSize: 4096 - BLOCK_HEADER_SIZE,
      checkpointBytes: 4 << 20,
    }),
  );
  assert.ok(r.stats.bytes > 24 << 20);
  const paths = drives.map((d) => d.path);
  const v = await verify({ drives: paths, full: true, unlock, statePath: null });
  assert.equal(v.status, "healthy");
  const to = join(dir, "small-blocks-out");
  await unpack({ drives: paths.slice(1), to, unlock });
  await tk.compareTrees(src, to);
});

describe("unpack with O_DIRECT", () => {
  let set = "";
  let tree = "";
  let paths: string[] = [];
  /** Files unpack writes with O_DIRECT where the target takes it. */
  let large = 0;
  before(async () => {
    set = join(dir, "unpack-direct");
    tree = join(set, "src");
    await mkdir(join(tree, "d"), { recursive: true });
    const sizes = [0, 1, 4095, 4096, 4097, DIRECT_MIN - 1, DIRECT_MIN, DIRECT_MIN + 1, DIRECT_MIN + 4096];
    sizes.push((8 << 20) - 1, (8 << 20) + 4097, 21 << 20);
    for (const n of sizes) writeFileSync(join(tree, "d", `r${n}.bin`), randomBytes(n));
    // Compressible: its chunks are stored zstd-compressed and decompressed into the staging buffer.
    writeFileSync(join(tree, "table.csv"), "id,name,score\n".repeat(60_000));
    large = sizes.filter((n) => n >= DIRECT_MIN).length + 1;
    const drives = tk.flatDrives(join(set, "drives"), 4);
    // Chunks up to 16 MiB: some are larger than a staging buffer (8 MiB) and are copied in.
    await pack(
      tk.packOpts(tree, drives, join(set, "cat.db"), {
        recipients: [key.recipient],
        tolerate: "1",
        blockSize: 1 << 20,
        chunk: { minSize: 1 << 20, avgSize: 8 << 20, maxSize: 16 << 20 },
      }),
    );
    paths = drives.map((d) => d.path);
  });

  test("every size around the unit and staging boundaries comes back byte-exact, with its metadata", async () => {
    const to = join(set, "out");
    await mkdir(to);
    const want = native !== null && tk.takesDirect(join(to, "probe")) ? large : 0;
    const r = await unpack({ drives: paths, to, unlock, direct: true });
    assert.equal(r.directFiles, want, "files of DIRECT_MIN bytes and more go with O_DIRECT");
    await tk.compareTrees(tree, to);
    // A drive lost: the same, rebuilt from parity.
    const rebuilt = join(set, "out-rebuilt");
    const r2 = await unpack({ drives: paths.slice(1), to: rebuilt, unlock, direct: true });
    assert.ok(r2.repairedStripes > 0);
    await tk.compareTrees(tree, rebuilt);
  });

  test("with direct off, every file goes through the page cache", async () => {
    const to = join(set, "out-buffered");
    const r = await unpack({ drives: paths, to, unlock, direct: false });
    assert.equal(r.directFiles, 0);
    await tk.compareTrees(tree, to);
  });

  test("files that cannot be rebuilt are reported lost and leave no temp file", async () => {
    const to = join(set, "out-lost");
    const r = await unpack({ drives: paths.slice(2), to, unlock, direct: true });
    assert.equal(r.files, 1, "only the empty file");
    assert.equal(r.lost.length, large + 5);
    assert.deepEqual(
      readdirSync(to, { recursive: true }).filter((f) => String(f).includes(".ferry-tmp")),
      [],
    );
  });
});
