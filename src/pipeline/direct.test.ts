/**
 * Durable pack writes blocks with O_DIRECT: the default block size makes each record 1 MiB, the
 * stripe writer keeps several stripes in flight and each drive writes runs of blocks in one call.
 * These tests pack that way (fsync on, as users run it) and check the set byte for byte.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { BLOCK_HEADER_SIZE } from "../format/index.js";
import { keygen, pack, unpack, verify } from "../index.js";
import { native } from "../native/index.js";
import { DEFAULT_BLOCK_SIZE } from "./layout.js";
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

test("durable pack picks 1 MiB records where it writes with O_DIRECT, 1 MiB payloads through the page cache", async () => {
  const opts = (name: string, fsync: boolean) => {
    const o = tk.packOpts(src, tk.flatDrives(join(dir, name), 4), join(dir, `${name}.db`), {
      recipients: [key.recipient],
      fsync,
    });
    delete o.blockSize;
    return o;
  };
  const durable = await pack(opts("durable", true));
  assert.equal(durable.layout.blockSize, native ? DEFAULT_BLOCK_SIZE : 1 << 20);
  if (native) assert.equal((BLOCK_HEADER_SIZE + durable.layout.blockSize) % 4096, 0);
  const unsafe = await pack(opts("unsafe", false));
  assert.equal(unsafe.layout.blockSize, 1 << 20);
  for (const name of ["durable", "unsafe"]) {
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
