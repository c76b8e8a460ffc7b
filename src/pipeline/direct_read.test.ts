/**
 * O_DIRECT reads. Pack reads a big source file through the page cache while the page cache holds
 * it and with O_DIRECT from the first part it does not (two reads in flight); verify and unpack
 * read block records with O_DIRECT. These tests make files cold (dropped from the page cache) so
 * that the direct paths run, and check that they give exactly what the page-cache paths give:
 * the same bytes, the same chunks, the same damage found.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { BLOCK_HEADER_SIZE, BLOCKS_DIR, DRIVE_DIR } from "../format/index.js";
import { keygen, pack, unpack, verify } from "../index.js";
import { allocAligned, native } from "../native/index.js";
import { DriveReader } from "./drive_reader.js";
import { DIRECT_READ_MIN } from "./pack_pool.js";
import * as tk from "./testkit.js";

const key = keygen();
const unlock = { identities: [key.identity] };
let dir = "";
/** Whether this filesystem can make a file cold: without it the direct paths cannot be forced. */
let cold = false;

before(async () => {
  dir = await tk.tempDir("ferry-direct-read-");
  const probe = join(dir, "probe");
  writeFileSync(probe, randomBytes(1 << 16));
  cold = tk.takesDirect(join(dir, "probe-direct")) && tk.makeCold(probe);
});
after(() => tk.removeDir(dir));

/** Pack options with the default (O_DIRECT) block size and the default chunk sizes. */
function opts(src: string, name: string, extra: Parameters<typeof tk.packOpts>[3] = {}) {
  const o = tk.packOpts(src, tk.flatDrives(join(dir, name), 4), join(dir, `${name}.db`), {
    recipients: [key.recipient],
    ...extra,
  });
  delete o.blockSize;
  delete o.chunk;
  return o;
}

/** Unpacks the set packed by `opts(…, name)` and checks it restores `src` exactly. */
async function unpackMatches(name: string, src: string): Promise<void> {
  const drives = tk.flatDrives(join(dir, name), 4).map((d) => d.path);
  await unpack({ drives, to: join(dir, `${name}-out`), unlock });
  await tk.compareTrees(src, join(dir, `${name}-out`));
}

function segments(drive: string): string[] {
  const d = join(drive, DRIVE_DIR, BLOCKS_DIR);
  return readdirSync(d).map((n) => join(d, n));
}

test("native cachedBytes: what the page cache holds from an offset, 0 once the file is cold", {
  skip: !native,
}, () => {
  const f = join(dir, "cached.bin");
  writeFileSync(f, randomBytes((3 << 16) + 100));
  const fd = openSync(f, "r");
  try {
    const n = native!.cachedBytes(fd, 0, 1 << 20);
    if (n === -1) return; // this platform cannot tell
    // Every page of the file, the last one whole (pages are 4 KiB or a larger power of two).
    assert.ok(n >= (3 << 16) + 100 && n <= 4 << 16 && n % 4096 === 0, `${n} bytes cached`);
    assert.equal(native!.cachedBytes(fd, 1 << 16, 1 << 16), 1 << 16);
    assert.equal(native!.cachedBytes(fd, 4 << 16, 4096), 0, "past the end");
    assert.equal(native!.cachedBytes(fd, 0, 0), 0);
    assert.throws(() => native!.cachedBytes(fd, -4096, 10));
    if (!cold) return;
    assert.ok(tk.makeCold(f));
    assert.equal(native!.cachedBytes(fd, 0, 1 << 20), 0);
    // Reading a part brings only that part back; nothing is read by asking.
    readSync(fd, Buffer.alloc(4096), 0, 4096, 0);
    assert.ok(native!.cachedBytes(fd, 0, 1 << 20) >= 4096);
    assert.equal(native!.cachedBytes(fd, 3 << 16, 4096), 0);
  } finally {
    closeSync(fd);
  }
});

test("native adviseRandom: a read of a cold file brings in what it asked for and no read-ahead", {
  skip: !native,
}, () => {
  const f = join(dir, "random.bin");
  writeFileSync(f, randomBytes(16 << 20));
  if (!tk.makeCold(f)) return; // cannot make files cold here
  const fd = openSync(f, "r");
  try {
    assert.equal(native!.adviseRandom!(fd), true);
    readSync(fd, Buffer.alloc(1 << 20), 0, 1 << 20, 0);
    assert.equal(native!.cachedBytes(fd, 0, 1 << 20), 1 << 20);
    assert.equal(native!.cachedBytes(fd, 1 << 20, 15 << 20), 0, "read-ahead brought more");
  } finally {
    closeSync(fd);
  }
});

describe("pack reads cold big files with O_DIRECT", () => {
  let src = "";
  /** Sizes around the read size (4 MiB), the O_DIRECT threshold and the 4 KiB unit. */
  const sizes = [
    DIRECT_READ_MIN - 1,
    DIRECT_READ_MIN,
    (4 << 20) - 4096,
    4 << 20,
    (4 << 20) + 1,
    (8 << 20) + 4095,
    (13 << 20) + 777,
  ];
  let bigBytes = 0;

  before(async () => {
    src = join(dir, "src");
    await mkdir(join(src, "d"), { recursive: true });
    sizes.forEach((n, i) => {
      writeFileSync(join(src, "d", `f${i}.bin`), randomBytes(n));
      if (n >= DIRECT_READ_MIN) bigBytes += n;
    });
    // Compressible and big: read direct, compressed all the same.
    writeFileSync(join(src, "table.csv"), "id,name,value\n".repeat(200_000));
    bigBytes += 14 * 200_000;
  });

  const coldAll = () => {
    for (const d of [join(src, "d"), src])
      for (const n of readdirSync(d, { withFileTypes: true })) if (n.isFile()) tk.makeCold(join(d, n.name));
  };

  test("every byte of every size comes back, and exactly the big files were read direct", async (t) => {
    coldAll();
    const r = await pack(opts(src, "cold", { fsync: true }));
    if (cold) assert.equal(r.directReadBytes, bigBytes);
    else t.skip("files cannot be made cold here: only the round trip is checked");
    const drives = tk.flatDrives(join(dir, "cold"), 4).map((d) => d.path);
    assert.equal((await verify({ drives, full: true, unlock, statePath: null })).status, "healthy");
    await unpack({ drives, to: join(dir, "cold-out"), unlock });
    await tk.compareTrees(src, join(dir, "cold-out"));
  });

  test("the same chunks as a pack through the page cache (dedup across the two holds)", async (t) => {
    // A file packed cold and the same file packed warm cut into the same chunks: a second source
    // holding both copies stores the data once.
    const two = join(dir, "two-src");
    await mkdir(two, { recursive: true });
    const data = randomBytes((9 << 20) + 12345);
    writeFileSync(join(two, "a.bin"), data);
    writeFileSync(join(two, "b.bin"), data);
    tk.makeCold(join(two, "a.bin")); // b.bin stays in the page cache
    const r = await pack(opts(two, "two"));
    if (cold) assert.equal(r.directReadBytes, data.length);
    else t.skip("files cannot be made cold here: only dedup and the round trip are checked");
    assert.ok(r.stats.dedupChunks > 0);
    assert.equal(r.stats.dedupChunks * 2, r.stats.chunks);
    await unpackMatches("two", two);
  });

  test("a file cached in part is read through the page cache up to where it is cold, then direct", async (t) => {
    const part = join(dir, "part-src");
    await mkdir(part, { recursive: true });
    const f = join(part, "p.bin");
    writeFileSync(f, randomBytes(16 << 20));
    // A page-cache read of the first 4 MiB starts the kernel's read-ahead of what follows, unless
    // the descriptor says otherwise (adviseRandom, as pack's worker does): read-ahead that landed
    // after the drop below made the rest cached, and all of it was rightly read from the cache
    // (one run in ten here, before). The page cache may also lose part of the first 4 MiB before
    // pack asks (this VM reclaims on its own): then all 16 MiB go direct. So a few tries.
    const got: number[] = [];
    let name = "";
    for (let attempt = 0; attempt < 5 && got.at(-1) !== 12 << 20; attempt++) {
      tk.makeCold(f);
      // Bring the first 4 MiB back into the page cache, and only those: drop what follows until
      // it is cold (read-ahead still in flight is not dropped).
      const fd = openSync(f, "r");
      native?.adviseRandom?.(fd);
      readSync(fd, Buffer.alloc(4 << 20), 0, 4 << 20, 0);
      for (let i = 0; i < 50; i++) {
        native?.dropCache(fd, 4 << 20, 0);
        if (!native || native.cachedBytes(fd, 4 << 20, 12 << 20) === 0) break;
        await tk.sleep(20);
      }
      closeSync(fd);
      name = `part${attempt}`;
      got.push((await pack(opts(part, name))).directReadBytes);
      if (!cold) break;
    }
    if (cold) {
      for (const n of got) assert.ok(n % (4 << 20) === 0, `read direct: ${got.join(", ")}`);
      assert.equal(
        got.at(-1),
        12 << 20,
        `the first 4 MiB from the page cache, the rest direct: ${got.join(", ")}`,
      );
    } else t.skip("files cannot be made cold here: only the round trip is checked");
    await unpackMatches(name, part);
  });

  test("a big file changed while a worker reads it direct is read again and packed as it ended", async (t) => {
    const chg = join(dir, "chg-src");
    await mkdir(chg, { recursive: true });
    const f = join(chg, "cold.bin");
    writeFileSync(f, randomBytes((10 << 20) + 5));
    tk.makeCold(f);
    // The hook overwrites bytes at 5 MiB after the first read (same size, new mtime).
    const r = await pack({
      ...opts(chg, "chg"),
      threads: 1,
      workerHook: new URL("./testdata/change_hook.js", import.meta.url).href,
    });
    assert.deepEqual(r.skipped, []);
    if (cold) assert.ok(r.directReadBytes >= 10 << 20, "the first read went direct");
    else t.skip("files cannot be made cold here: only the re-read is checked");
    await unpackMatches("chg", chg);
    const back = readFileSync(join(dir, "chg-out", "cold.bin"));
    assert.equal(back.subarray(5 << 20, (5 << 20) + 9).toString(), "rewritten");
  });

  test("direct: false (FERRY_DIRECT=0) reads everything through the page cache", async () => {
    coldAll();
    const r = await pack(opts(src, "buffered", { direct: false }));
    assert.equal(r.directReadBytes, 0);
    await unpackMatches("buffered", src);
  });
});

describe("verify and unpack read block records with O_DIRECT", () => {
  let src = "";
  let drives: string[] = [];
  let blockSize = 0;

  before(async () => {
    src = join(dir, "vsrc");
    await mkdir(src, { recursive: true });
    writeFileSync(join(src, "big.bin"), randomBytes(14 << 20));
    writeFileSync(join(src, "small.txt"), "hello\n".repeat(1000));
    const r = await pack(opts(src, "vset", { fsync: true }));
    blockSize = r.layout.blockSize;
    assert.equal((BLOCK_HEADER_SIZE + blockSize) % 4096, 0);
    drives = tk.flatDrives(join(dir, "vset"), 4).map((d) => d.path);
  });

  test("a record read direct into an aligned buffer equals the one read into an unaligned buffer", async () => {
    for (const d of drives) for (const s of segments(d)) tk.makeCold(s);
    const r = await DriveReader.open(drives[0]!);
    try {
      const len = BLOCK_HEADER_SIZE + blockSize;
      for (let n = 0; n < 3; n++) {
        const a = await r.readBlock(n, blockSize, allocAligned(len));
        const u = await r.readBlock(n, blockSize, Buffer.alloc(len + 1).subarray(1));
        const fresh = await r.readBlock(n, blockSize);
        assert.ok(a && u && fresh, `block ${n} reads`);
        assert.deepEqual(a, u);
        assert.deepEqual(a, fresh);
        assert.deepEqual(a, await tk.readRecord(drives[0]!, n, blockSize));
      }
      assert.equal(await r.readBlock(10_000, blockSize, allocAligned(BLOCK_HEADER_SIZE + blockSize)), null);
      // Aligned buffers (and the reader's own) went direct where the filesystem takes O_DIRECT;
      // the unaligned one went through the page cache.
      if (native && tk.takesDirect(join(dir, "probe-read"))) assert.equal(r.directReads, 6);
      else assert.equal(r.directReads, 0);
    } finally {
      await r.close();
    }
  });

  test("damage and a segment cut mid-record read the same direct and through the page cache", async () => {
    const copy = join(dir, "vdamaged");
    const damaged: string[] = [];
    for (const d of drives) {
      const to = join(copy, d.split("/").pop()!);
      await tk.copyDrive(d, to);
      damaged.push(to);
    }
    await tk.flipPayloadByte(damaged[0]!, 1, blockSize, 5000);
    // The last record of drive 1 cut at an odd length: a short direct read at the end.
    const seg = segments(damaged[1]!)[0]!;
    const recs = Math.floor(statSync(seg).size / (BLOCK_HEADER_SIZE + blockSize));
    truncateSync(seg, (recs - 1) * (BLOCK_HEADER_SIZE + blockSize) + 1234);
    const run = async (env: string | undefined) => {
      for (const d of damaged) for (const s of segments(d)) tk.makeCold(s);
      const old = process.env.FERRY_DIRECT;
      if (env === undefined) delete process.env.FERRY_DIRECT;
      else process.env.FERRY_DIRECT = env;
      try {
        const v = await verify({ drives: damaged, full: true, unlock, statePath: null });
        return v.drives.map((d) => ({ ok: d.ok, damaged: d.damaged, missing: d.missing }));
      } finally {
        if (old === undefined) delete process.env.FERRY_DIRECT;
        else process.env.FERRY_DIRECT = old;
      }
    };
    const direct = await run(undefined);
    const buffered = await run("0");
    assert.deepEqual(direct, buffered);
    assert.equal(direct[0]!.damaged, 1);
    assert.equal(direct[1]!.missing, 1);
    // Unpack rebuilds both from parity, reading direct.
    for (const d of damaged) for (const s of segments(d)) tk.makeCold(s);
    await unpack({ drives: damaged, to: join(dir, "vdamaged-out"), unlock });
    await tk.compareTrees(src, join(dir, "vdamaged-out"));
  });
});

test("native cachedBytes: -1 for a file this user neither owns nor may write (Linux answers mincore for it as if cached)", {
  skip: !native || process.getuid?.() !== 0,
}, () => {
  const d = join(dir, "not-mine");
  mkdirSync(d);
  chmodSync(dir, 0o755);
  chmodSync(d, 0o755);
  const f = join(d, "root.bin");
  writeFileSync(f, randomBytes(4 << 20), { mode: 0o644 });
  tk.makeCold(f);
  const script = `const { native } = await import(${JSON.stringify(new URL("../native/index.js", import.meta.url).href)});
const fs = await import("node:fs");
const fd = fs.openSync(${JSON.stringify(f)}, "r");
console.log(native.cachedBytes(fd, 0, 4 << 20));`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
    uid: 65534,
    gid: 65534,
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), "-1");
});
