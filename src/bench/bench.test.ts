import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statfsSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { native } from "../native/index.js";
import { diskCeiling, measureDisk } from "./disk.js";
import { dropPageCache, type Row, ratios } from "./measure.js";
import { RATIO_PAIRS, STEP } from "./peers.js";

/** statfs(2)'s f_type of a tmpfs. */
const TMPFS_MAGIC = 0x01021994;

interface BenchJson {
  machine: { cpus: number };
  tools: Record<string, string>;
  skipped: { peer: string; reason: string }[];
  corpus: { bytes: number; files: number };
  rows: Row[];
  ratios: { ferry: string; peer: string; speed: number; cpu: number; rss: number }[];
  index: { catalogBytes: number; indexReplicaBytes: number; indexInLogBytes: number; catalogPct: number };
  small: { corpus: { files: number }; rows: Row[]; index: { catalogBytes: number } };
  flat: { sizes: { bytes: number }[]; steps: { step: string; rssMB: number[]; growthPct: number }[] };
  disk: { writeMBps: number; readMBps: number; mixedMBps: number; bytes: number } | null;
}

// Smoke only: the bench runs end to end on a tiny corpus and reports every ferry step and every
// section. No timing is asserted (numbers belong to `npm run bench`, not to tests). Peers: only
// the ones every CI machine may have (cp, tar|zstd|age when installed); restic and borg are
// never needed here.
test("npm run bench --smoke reports every ferry step, the sections and ratios", () => {
  const dir = mkdtempSync(join(tmpdir(), "ferry-bench-smoke-"));
  try {
    const out = join(dir, "bench.json");
    const script = fileURLToPath(new URL("./bench.js", import.meta.url));
    const r = spawnSync(
      process.execPath,
      [
        script,
        "--smoke",
        "--no-s3",
        "--peers",
        "cp,tar",
        "--small-files",
        "300",
        "--flat",
        "--flat-sizes",
        "2MiB,4MiB",
        "--json",
        out,
        "--dir",
        dir,
      ],
      { encoding: "utf8" },
    );
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(readFileSync(out, "utf8")) as BenchJson;
    const names = j.rows.map((x) => x.name);
    for (const step of [
      "ferry pack (fsync)",
      "ferry pack (--unsafe-no-fsync)",
      "ferry verify --full",
      "ferry verify --full --identity",
      "ferry unpack",
      "ferry unpack, a bag missing",
      STEP.cp,
    ]) {
      assert.ok(names.includes(step), step);
    }
    assert.ok(j.corpus.bytes > 20e6);
    assert.ok(j.machine.cpus > 0);
    assert.ok(j.rows.every((x) => x.mbps > 0 && x.runs === 1));
    // tar|zstd|age ran (with its "+ sync" twin and ratios) or was skipped, saying why.
    if (j.tools.zstd && j.tools.age) {
      for (const s of [STEP.tar, `${STEP.tar} + sync`, STEP.untar]) assert.ok(names.includes(s), s);
      assert.ok(j.ratios.some((x) => x.ferry === "ferry pack (fsync)" && x.peer === `${STEP.tar} + sync`));
      assert.ok(j.ratios.some((x) => x.ferry === "ferry unpack" && x.peer === STEP.untar));
      assert.ok(j.ratios.every((x) => x.speed > 0));
    } else {
      assert.ok(j.skipped.some((s) => s.peer === "tar" && s.reason.length > 0));
    }
    assert.ok(!names.some((n) => n.startsWith("restic") || n.startsWith("borg")));
    // Disk I/O per step (GNU time's %I/%O) and the disk probe, where both can run here.
    if (existsSync("/usr/bin/time")) {
      const pack = j.rows.find((x) => x.name === "ferry pack (fsync)")!;
      // Durable pack writes every block to the drives: at least the corpus itself. (A tmpfs
      // counts no block-device writes at all.)
      const tmpfs = statfsSync(dir).type === TMPFS_MAGIC;
      if (!tmpfs) assert.ok((pack.writtenBytes ?? 0) >= j.corpus.bytes, `pack wrote ${pack.writtenBytes}`);
      assert.ok(j.rows.every((x) => x.readBytes !== undefined && x.writtenBytes !== undefined));
      if (j.disk) {
        assert.ok(j.disk.writeMBps > 0 && j.disk.readMBps > 0 && j.disk.mixedMBps > 0);
        if (!tmpfs) assert.ok((pack.diskCeilingMBps ?? 0) > 0);
      }
    }
    // Catalog and index sizes after the main pack.
    assert.ok(j.index.catalogBytes > 0 && j.index.indexReplicaBytes > 0 && j.index.indexInLogBytes > 0);
    // Many small files: files/s of ferry's pack, and its index.
    assert.equal(j.small.corpus.files, 300);
    const sp = j.small.rows.find((x) => x.name === "ferry pack (fsync)");
    assert.ok(sp && (sp.filesPerSec ?? 0) > 0);
    // ...and of its unpack, restoring every file.
    const su = j.small.rows.find((x) => x.name === "ferry unpack");
    assert.ok(su && (su.filesPerSec ?? 0) > 0);
    assert.ok(j.small.index.catalogBytes > 0);
    // Memory flatness: pack, verify --full, unpack on two sizes.
    assert.equal(j.flat.sizes.length, 2);
    assert.deepEqual(j.flat.steps.map((x) => x.step).sort(), [
      "ferry pack (fsync)",
      "ferry unpack",
      "ferry verify --full",
    ]);
    // (RSS is null in the JSON where /usr/bin/time is missing.)
    assert.ok(j.flat.steps.every((x) => x.rssMB.length === 2 && "growthPct" in x));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("ratios pair each ferry step with the peers that ran, durable pack with '+ sync' too", () => {
  const row = (name: string, mbps: number): Row => ({ name, mbps, wall: 1, cpu: 2, rssMB: 100, runs: 1 });
  const rs = ratios(
    [row("ferry pack (fsync)", 200), row(`${STEP.resticBackup} + sync`, 100), row(STEP.resticBackup, 400)],
    RATIO_PAIRS,
  );
  assert.deepEqual(
    rs.map((x) => [x.peer, x.speed]),
    [
      [`${STEP.resticBackup} + sync`, 2],
      [STEP.resticBackup, 0.5],
    ],
  );
  assert.equal(rs[0]!.cpu, 1);
});

test("--cold: the page cache of every file under the scratch folder is dropped, file by file without root", {
  skip: !native,
}, () => {
  const dir = mkdtempSync(join(tmpdir(), "ferry-bench-cold-"));
  try {
    mkdirSync(join(dir, "a", "b"), { recursive: true });
    const files = [join(dir, "top.bin"), join(dir, "a", "b", "deep.bin")];
    for (const f of files) writeFileSync(f, Buffer.alloc(1 << 20, 7));
    spawnSync("sync");
    const cached = (f: string) => {
      const fd = openSync(f, "r");
      try {
        return native!.cachedBytes(fd, 0, 1 << 20);
      } finally {
        closeSync(fd);
      }
    };
    // A filesystem whose pages cannot be told (or dropped: a tmpfs holds its files only there)
    // proves nothing here.
    if (statfsSync(dir).type === TMPFS_MAGIC || files.some((f) => cached(f) !== 1 << 20)) return;
    dropPageCache([dir], false);
    for (const f of files) assert.equal(cached(f), 0, f);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("disk ceiling: reads alone at the read speed, writes alone at the write speed, both at the mixed speed", () => {
  const d = { writeMBps: 1000, readMBps: 2000, mixedMBps: 1500, bytes: 1 };
  const GB = 1e9;
  // Pack from the page cache: 4 GB written for 3 GB of source takes 4 s, so 750 MB/s at best.
  assert.equal(diskCeiling(d, { read: 0, written: 4 * GB }, 3 * GB), 750);
  // Verify: 4 GB read in 2 s.
  assert.equal(diskCeiling(d, { read: 4 * GB, written: 0 }, 3 * GB), 1500);
  // Unpack: 3 GB read and 3 GB written, 6 GB at 1500 MB/s.
  assert.equal(diskCeiling(d, { read: 3 * GB, written: 3 * GB }, 3 * GB), 750);
  // A few MB of metadata do not make a CPU-bound step disk-bound.
  assert.equal(diskCeiling(d, { read: 1e6, written: 2e6 }, 3 * GB), null);
  assert.equal(diskCeiling(d, { read: 0, written: 0 }, 3 * GB), null);
});

test("the disk probe writes, reads and mixes with O_DIRECT and leaves nothing behind", {
  skip: !native,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "ferry-bench-disk-"));
  try {
    const d = await measureDisk(dir, 16 << 20);
    // Null only where the filesystem refuses O_DIRECT.
    if (d) {
      assert.equal(d.bytes, 16 << 20);
      for (const v of [d.writeMBps, d.readMBps, d.mixedMBps]) assert.ok(Number.isFinite(v) && v > 0);
    }
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
