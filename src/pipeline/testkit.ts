/**
 * Shared helpers for the pipeline's end-to-end tests: temp folders, a mixed dataset, a
 * byte-exact tree comparison, drive layouts, block surgery and a child-process runner.
 * Test-only; nothing in the library imports it.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import {
  type BigIntStats,
  closeSync,
  existsSync,
  fdatasyncSync,
  constants as fsc,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import {
  chmod,
  cp,
  lstat,
  lutimes,
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  rm,
  symlink,
  utimes,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Blake3Hasher } from "@napi-rs/blake-hash";
import { Catalog } from "../catalog/catalog.js";
import { seal, sign } from "../crypto/index.js";
import { FerryError, type FerryErrorCode } from "../errors.js";
import {
  BLOCK_HEADER_SIZE,
  BLOCKS_DIR,
  blockHash,
  blockLocation,
  blocksOnDrive,
  DRIVE_DIR,
  decodeEnvelope,
  ENTRY_FILE,
  encodeEnd,
  encodeEntry,
  encodeEnvelope,
  type FileEntry,
  type IndexEntry,
  indexAad,
  indexHeader,
  KIND_MANIFEST,
  MANIFEST_FILE,
  type ManifestBody,
  type SetLayout,
  SUMS_FILE,
  stripeDataSize,
} from "../format/index.js";
import { native } from "../native/index.js";
import { DriveWriter } from "./drive_writer.js";
import type { DriveSpec } from "./layout.js";
import { type OpenedSet, openSet, StripeReader } from "./open_set.js";
import type { PackOptions } from "./pack.js";
import { StripeWriter } from "./stripe_writer.js";
import { readIndex } from "./unpack.js";

/** Small chunk bounds so tiny datasets still make many chunks and stripes. */
export const SMALL_CHUNKS = { minSize: 2048, avgSize: 8192, maxSize: 32768 };
/** Default test block size. */
export const BLOCK = 4096;

// ---------------------------------------------------------------------------------------
// Temp folders

/** A fresh temp folder under the OS temp dir; remove it with {@link removeDir}. */
export async function tempDir(prefix = "ferry-test-"): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}

// ---------------------------------------------------------------------------------------
// Deterministic randomness

/** A small seeded PRNG (mulberry32) so datasets and "random" kill times are reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` pseudo-random (incompressible) bytes from `rand`. */
export function randomData(rand: () => number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let i = 0;
  for (; i + 4 <= n; i += 4) b.writeUInt32LE(Math.floor(rand() * 4294967296), i);
  for (; i < n; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

function csvText(rand: () => number, rows: number): string {
  const lines = ["id,name,city,score,comment"];
  const cities = ["Paris", "Zürich", "東京", "São Paulo", "Kraków", "Reykjavík"];
  for (let r = 0; r < rows; r++) {
    lines.push(
      `${r},user${Math.floor(rand() * 1e6)},${cities[Math.floor(rand() * cities.length)]},${(rand() * 100).toFixed(3)},"note ${r % 17}"`,
    );
  }
  return `${lines.join("\n")}\n`;
}

// ---------------------------------------------------------------------------------------
// The mixed dataset

/** Name with bytes that are not valid UTF-8 (only reachable through Buffer paths). */
export const INVALID_UTF8_NAME = Buffer.concat([
  Buffer.from("raw-"),
  Buffer.from([0xff, 0xfe, 0x80]),
  Buffer.from(".bin"),
]);

export interface DatasetOptions {
  seed?: number;
  /** Multiplies the size of the binary files (default 1 ≈ 700 KB in all). */
  scale?: number;
}

/** What {@link makeDataset} created, as relative paths (the invalid-UTF-8 one decoded lossily). */
export interface Dataset {
  root: string;
  files: string[];
  bytes: number;
}

/**
 * Fills `root` (created if missing) with a mixed tree: CSV text, random binary "images" and
 * "video", duplicate files, nested folders, empty files and folders, unicode names, a name
 * with invalid UTF-8 bytes, symlinks (relative, absolute, to a folder, dangling), several
 * modes, and fixed millisecond mtimes on everything (folders set last).
 */
export async function makeDataset(root: string, opts: DatasetOptions = {}): Promise<Dataset> {
  const rand = rng(opts.seed ?? 1);
  const scale = opts.scale ?? 1;
  const files: string[] = [];
  let bytes = 0;
  await mkdir(root, { recursive: true });
  const put = async (rel: string, data: Buffer | string, mode = 0o644) => {
    const abs = join(root, rel);
    await mkdir(dirname(abs), { recursive: true });
    await writeFile(abs, data);
    await chmod(abs, mode);
    files.push(rel);
    bytes += Buffer.byteLength(data);
  };
  const csv = csvText(rand, 600);
  await put("data/table.csv", csv);
  await put("données/日本語 ✓.csv", csvText(rand, 300));
  await put("docs/README.txt", "ferry test dataset\n".repeat(40));
  const img0 = randomData(rand, Math.floor(48_000 * scale) + 13);
  await put("images/img0.png", img0);
  await put("images/img1.png", randomData(rand, Math.floor(90_000 * scale) + 7));
  await put("images/tiny.gif", randomData(rand, 100));
  const video = randomData(rand, Math.floor(260_000 * scale) + 1);
  await put("video/clip.mp4", video);
  await put("dup/clip-copy.mp4", video);
  await put("dup/img0-again.png", img0);
  await put("dup/table-copy.csv", csv);
  await put("empty.txt", "");
  await put("nested/a/b/c/deep.txt", "deep\n");
  await put("nested/a/empty-file", "");
  await put("bin/run.sh", "#!/bin/sh\necho hi\n", 0o755);
  await put("secret.key", randomData(rand, 64), 0o600);
  await put("readonly.txt", "read only\n", 0o444);
  // A name that is not valid UTF-8.
  const rawAbs = Buffer.concat([Buffer.from(`${root}/`), INVALID_UTF8_NAME]);
  const rawData = randomData(rand, 5000);
  await writeFile(rawAbs, rawData);
  files.push(INVALID_UTF8_NAME.toString());
  bytes += rawData.length;
  // Empty folders.
  await mkdir(join(root, "empty-dir"), { recursive: true });
  await mkdir(join(root, "nested/a/b/empty-sub"), { recursive: true });
  await mkdir(join(root, "private"), { recursive: true });
  await put("private/x.txt", "x\n", 0o640);
  await chmod(join(root, "private"), 0o750);
  // Symlinks.
  await mkdir(join(root, "links"), { recursive: true });
  await symlink("../data/table.csv", join(root, "links/to-csv"));
  await symlink("../nowhere/missing.txt", join(root, "links/dangling"));
  await symlink("../nested", join(root, "links/to-dir"));
  await symlink("/etc/hostname", join(root, "links/absolute"));
  await setTimes(root, Date.UTC(2023, 4, 17, 10, 30, 0, 123));
  return { root, files, bytes };
}

/**
 * Sets distinct millisecond mtimes on every entry below `root` (children before their folder,
 * symlinks with lutimes).
 */
export async function setTimes(root: string, baseMs: number): Promise<void> {
  let i = 0;
  const visit = async (abs: Buffer): Promise<void> => {
    const names = (await readdir(abs, { encoding: "buffer" })) as Buffer[];
    names.sort(Buffer.compare);
    for (const n of names) {
      const child = Buffer.concat([abs, Buffer.from("/"), n]);
      const st = await lstat(child);
      if (st.isDirectory()) await visit(child);
      const t = new Date(baseMs + 1000 * 37 * i++ + (i % 1000));
      if (st.isSymbolicLink()) await lutimes(child, t, t);
      else await utimes(child, t, t);
    }
  };
  await visit(Buffer.from(root));
}

/** Writes `count` small files, 100 per folder (for the many-files test). Sync: much faster here. */
export function makeManyFiles(root: string, count: number, seed = 7): void {
  const rand = rng(seed);
  for (let d = 0; d * 100 < count; d++) {
    const dir = join(root, `d${String(d).padStart(3, "0")}`);
    mkdirSync(dir, { recursive: true });
    for (let f = d * 100; f < Math.min(count, (d + 1) * 100); f++) {
      const n = Math.floor(rand() * 300);
      writeFileSync(join(dir, `f${f}.txt`), `file ${f}\n${"z".repeat(n)}${f % 3 === 0 ? "" : rand()}`);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Tree comparison

interface TreeEntry {
  st: BigIntStats;
  abs: Buffer;
}

/** Every entry below `root`, keyed by its raw relative path (latin1). Sync: much faster here. */
function listTree(root: string): Map<string, TreeEntry> {
  const out = new Map<string, TreeEntry>();
  const visit = (abs: Buffer, rel: Buffer): void => {
    const names = readdirSync(abs, { encoding: "buffer" }) as Buffer[];
    for (const n of names) {
      const childAbs = Buffer.concat([abs, Buffer.from("/"), n]);
      const childRel = rel.length ? Buffer.concat([rel, Buffer.from("/"), n]) : n;
      const st = lstatSync(childAbs, { bigint: true });
      out.set(childRel.toString("latin1"), { st, abs: childAbs });
      if (st.isDirectory()) visit(childAbs, childRel);
    }
  };
  visit(Buffer.from(root), Buffer.alloc(0));
  return out;
}

/** Relative paths (latin1-keyed raw bytes decoded as UTF-8) of everything below `root`. */
export async function treePaths(root: string): Promise<string[]> {
  return [...listTree(root).keys()].map((k) => Buffer.from(k, "latin1").toString()).sort();
}

const kindOf = (st: BigIntStats) =>
  st.isDirectory() ? "dir" : st.isFile() ? "file" : st.isSymbolicLink() ? "symlink" : "other";

export interface CompareOptions {
  /** Relative paths (strings are UTF-8) that must be absent from `b` although in `a` (lost files). */
  absent?: Iterable<string | Buffer>;
}

/**
 * Asserts that tree `b` is a byte-exact copy of tree `a`: the same entries (no extra, no
 * missing; names compared as raw bytes), the same type, file content, permission bits and
 * mtime to the millisecond for files and folders, and the same symlink targets. The roots'
 * own metadata is not compared.
 */
export async function compareTrees(a: string, b: string, opts: CompareOptions = {}): Promise<void> {
  const ta = listTree(a);
  const tb = listTree(b);
  const absent = new Set(
    [...(opts.absent ?? [])].map((p) => (typeof p === "string" ? Buffer.from(p) : p).toString("latin1")),
  );
  const show = (k: string) => JSON.stringify(Buffer.from(k, "latin1").toString());
  const missing = [...ta.keys()].filter((k) => !tb.has(k) && !absent.has(k)).map(show);
  const extra = [...tb.keys()].filter((k) => !ta.has(k)).map(show);
  assert.deepEqual({ missing, extra }, { missing: [], extra: [] }, `trees ${a} and ${b} differ in entries`);
  for (const k of absent) {
    assert.ok(ta.has(k), `absent path ${show(k)} is not in the source tree`);
    assert.ok(!tb.has(k), `lost path ${show(k)} should be absent from ${b}`);
  }
  for (const [k, ea] of ta) {
    const eb = tb.get(k);
    if (!eb) continue;
    const what = `${show(k)}`;
    assert.equal(kindOf(eb.st), kindOf(ea.st), `${what}: type`);
    if (ea.st.isSymbolicLink()) {
      const la = readlinkSync(ea.abs, { encoding: "buffer" });
      const lb = readlinkSync(eb.abs, { encoding: "buffer" });
      assert.ok(la.equals(lb), `${what}: symlink target ${lb.toString()} != ${la.toString()}`);
      continue;
    }
    assert.equal(
      (eb.st.mode & 0o7777n).toString(8),
      (ea.st.mode & 0o7777n).toString(8),
      `${what}: permission bits`,
    );
    const dt = ea.st.mtimeNs - eb.st.mtimeNs;
    assert.ok(
      dt < 1_000_000n && dt > -1_000_000n,
      `${what}: mtime ${eb.st.mtimeNs} != ${ea.st.mtimeNs} (ms precision)`,
    );
    if (ea.st.isFile()) {
      assert.equal(eb.st.size, ea.st.size, `${what}: size`);
      assert.ok(readFileSync(ea.abs).equals(readFileSync(eb.abs)), `${what}: content differs`);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Drives

/** `bags * perBag` drive folders under `root` (`drive-0`…), `perBag` consecutive drives per bag (`baga`, `bagb`…). */
export function driveSpecs(root: string, bags: number, perBag: number): DriveSpec[] {
  const out: DriveSpec[] = [];
  for (let b = 0; b < bags; b++) {
    for (let i = 0; i < perBag; i++) {
      out.push({ bag: `bag${String.fromCharCode(97 + b)}`, path: join(root, `drive-${b * perBag + i}`) });
    }
  }
  return out;
}

/** 12 drives in 4 bags of 3 (for `tolerate: "bag"`: 3 groups of k=3, m=1). */
export function twelveDrives(root: string): DriveSpec[] {
  return driveSpecs(root, 4, 3);
}

/** `n` drives, each in its own bag. */
export function flatDrives(root: string, n: number): DriveSpec[] {
  return driveSpecs(root, n, 1);
}

/** Pack options suitable for fast tests; `extra` overrides. */
export function packOpts(
  source: string,
  drives: DriveSpec[],
  catalog: string,
  extra: Partial<PackOptions> = {},
): PackOptions {
  return {
    source,
    drives,
    tolerate: "2",
    catalog,
    blockSize: BLOCK,
    chunk: SMALL_CHUNKS,
    fsync: false,
    ...extra,
  };
}

/** Whether the filesystem at `path` (a file name to probe, removed again) takes O_DIRECT opens. */
export function takesDirect(path: string): boolean {
  try {
    closeSync(openSync(path, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_DIRECT, 0o644));
    return true;
  } catch {
    return false;
  } finally {
    rmSync(path, { force: true });
  }
}

/**
 * Drops a file's pages from the page cache (written back first), so that reading it has to go
 * to the drive; whether it worked: false without the native kernel, or on a filesystem whose
 * pages cannot be dropped or that cannot tell (tmpfs).
 */
export function makeCold(path: string): boolean {
  if (!native) return false;
  const fd = openSync(path, "r+");
  try {
    fdatasyncSync(fd);
    native.dropCache(fd);
    return native.cachedBytes(fd, 0, 4096) === 0;
  } finally {
    closeSync(fd);
  }
}

/** Copies a whole drive folder (to fake a second copy, or to keep an old version). */
export async function copyDrive(from: string, to: string): Promise<void> {
  await cp(from, to, { recursive: true });
}

/** Every subset of `items` of size `size`. */
export function subsets<T>(items: T[], size: number): T[][] {
  if (size === 0) return [[]];
  if (items.length < size) return [];
  const [first, ...rest] = items as [T, ...T[]];
  return [...subsets(rest, size - 1).map((s) => [first, ...s]), ...subsets(rest, size)];
}

// ---------------------------------------------------------------------------------------
// Block surgery

/** File and byte offset of block `n`'s record on drive folder `drive`. */
export function blockFile(drive: string, n: number, blockSize: number): { file: string; offset: number } {
  const loc = blockLocation(n, blockSize);
  return { file: join(drive, DRIVE_DIR, BLOCKS_DIR, loc.segment), offset: loc.offset };
}

/** Reads block record `n` (header || payload) of a drive. */
export async function readRecord(drive: string, n: number, blockSize: number): Promise<Buffer> {
  const { file, offset } = blockFile(drive, n, blockSize);
  const fh = await open(file, "r");
  try {
    const buf = Buffer.alloc(BLOCK_HEADER_SIZE + blockSize);
    const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
    assert.equal(bytesRead, buf.length, `block ${n} of ${drive} is short`);
    return buf;
  } finally {
    await fh.close();
  }
}

/** Overwrites block record `n` of a drive. */
export async function writeRecord(drive: string, n: number, blockSize: number, rec: Buffer): Promise<void> {
  const { file, offset } = blockFile(drive, n, blockSize);
  const fh = await open(file, "r+");
  try {
    await fh.write(rec, 0, rec.length, offset);
  } finally {
    await fh.close();
  }
}

/** XORs a byte of block `n`'s payload (offset `at` inside the payload). */
export async function flipPayloadByte(drive: string, n: number, blockSize: number, at = 100): Promise<void> {
  const rec = await readRecord(drive, n, blockSize);
  rec[BLOCK_HEADER_SIZE + at]! ^= 0x5a;
  await writeRecord(drive, n, blockSize, rec);
}

/** Recomputes the hash stored in a block record's header after its payload was changed. */
export function rehashRecord(rec: Buffer): void {
  blockHash(rec.subarray(0, 40), rec.subarray(BLOCK_HEADER_SIZE)).copy(rec, 40);
}

/** Path of a drive's SUMS file. */
export function sumsPath(drive: string): string {
  return join(drive, DRIVE_DIR, SUMS_FILE);
}

/** Path of a drive's MANIFEST. */
export function manifestPath(drive: string): string {
  return join(drive, DRIVE_DIR, MANIFEST_FILE);
}

/** The manifest body on a drive (signature not checked). */
export async function readManifest(drive: string): Promise<ManifestBody> {
  return decodeEnvelope<ManifestBody>(await readFile(manifestPath(drive)), KIND_MANIFEST, drive).body;
}

/** Global stripe of block `n` on a drive of `group`, and back. */
export function stripeOf(layout: SetLayout, group: number, n: number): number {
  return n * layout.groups.length + group;
}
export function blockOf(layout: SetLayout, stripe: number): { group: number; n: number } {
  const G = layout.groups.length;
  return { group: stripe % G, n: Math.floor(stripe / G) };
}

// ---------------------------------------------------------------------------------------
// Set introspection

export interface SetInfo {
  layout: SetLayout;
  manifest: ManifestBody;
  entries: IndexEntry[];
  /** Stripes that hold any byte of the index. */
  indexStripes: Set<number>;
}

/** Opens a set with a key and reads its layout, manifest and full index. */
export async function inspectSet(drives: string[], identity: string): Promise<SetInfo> {
  const set = await openSet(drives, { unlock: { identities: [identity] } });
  const reader = new StripeReader(set);
  try {
    const entries: IndexEntry[] = [];
    for await (const e of readIndex(set, reader)) entries.push(e);
    const size = stripeDataSize(set.layout);
    const indexStripes = new Set<number>();
    for (const [off, len] of set.manifest!.index.pieces) {
      for (let s = Math.floor(off / size); s * size < off + len; s++) indexStripes.add(s);
    }
    return { layout: set.layout, manifest: set.manifest!, entries, indexStripes };
  } finally {
    await reader.close();
  }
}

/** File entries with at least one chunk byte in one of `stripes`. */
function fileEntriesInStripes(info: SetInfo, stripes: Set<number>): FileEntry[] {
  const size = stripeDataSize(info.layout);
  return info.entries.filter(
    (e): e is FileEntry =>
      e.type === ENTRY_FILE &&
      e.chunks.some((c) => {
        for (let s = Math.floor(c.offset / size); s * size < c.offset + c.storedLength; s++) {
          if (stripes.has(s)) return true;
        }
        return false;
      }),
  );
}

/** Files (paths as strings, as verify and unpack report them) touching one of `stripes`. */
export function filesInStripes(info: SetInfo, stripes: Set<number>): string[] {
  return fileEntriesInStripes(info, stripes)
    .map((e) => e.path.toString())
    .sort();
}

/** The same files as raw path bytes (for {@link compareTrees}' `absent`). */
export function rawFilesInStripes(info: SetInfo, stripes: Set<number>): Buffer[] {
  return fileEntriesInStripes(info, stripes).map((e) => e.path);
}

/**
 * Test-only: replaces a finished set's index with `entries` (may be hostile). Appends the new
 * sealed index to the data log in fresh stripes on every drive, then writes a correctly
 * signed manifest pointing at it — what a tool holding the set's keys could forge.
 */
export async function resealIndex(
  drives: DriveSpec[],
  catalogPath: string,
  identity: string,
  entries: IndexEntry[],
): Promise<void> {
  const set: OpenedSet = await openSet(
    drives.map((d) => d.path),
    { unlock: { identities: [identity] } },
  );
  await new StripeReader(set).close();
  const catalog = Catalog.open(catalogPath);
  let signSecret: Buffer;
  try {
    const row = catalog.getSet(set.setHex);
    assert.ok(row, "set not in catalog");
    signSecret = Buffer.from((JSON.parse(row.secrets) as { signSecret: string }).signSecret, "hex");
  } finally {
    catalog.close();
  }
  const layout = set.layout;
  const manifest = set.manifest!;
  const plain = Buffer.concat([indexHeader(), ...entries.map(encodeEntry), encodeEnd(entries.length)]);
  const sealed = seal(set.keys!.indexKey, plain, indexAad(set.setId, 0, 0, plain.length));
  const writers = drives.map((d, i) => new DriveWriter(d.path, layout.drives[i]!, layout.blockSize, false));
  const log = new StripeWriter(layout, set.setId, writers, manifest.stripes);
  const offset = await log.append(sealed);
  await log.flush();
  await Promise.all(writers.map((w) => w.close()));
  const driveList = await Promise.all(
    layout.drives.map(async (slot) => {
      const sums = await readFile(sumsPath(drives[slot.index]!.path));
      const blocks = blocksOnDrive(layout, slot.group, log.stripes);
      assert.equal(sums.length, blocks * 32);
      const h = new Blake3Hasher();
      h.update(sums);
      return { index: slot.index, blocks, sums: h.digestBuffer().toString("hex") };
    }),
  );
  const index: ManifestBody["index"] = {
    ...manifest.index,
    pieces: [[offset, sealed.length, plain.length, 0]],
    entries: entries.length,
  };
  // Drop any plain-file replicas of the old index: only the forged one may be read.
  const withReplicas = index as { replicas?: number[] };
  if (withReplicas.replicas !== undefined) withReplicas.replicas = [];
  const body: ManifestBody = {
    ...manifest,
    stripes: log.stripes,
    logLength: log.position,
    index,
    drives: driveList,
  };
  const bytes = encodeEnvelope(KIND_MANIFEST, body, (m) => sign(signSecret, m));
  for (const d of drives) {
    await rm(join(d.path, DRIVE_DIR, "INDEX"), { force: true });
    await writeFile(manifestPath(d.path), bytes);
  }
}

// ---------------------------------------------------------------------------------------
// Errors

/** Asserts that `p` rejects with a FerryError of `code`; returns the error. */
export async function rejectsWith(p: Promise<unknown>, code: FerryErrorCode): Promise<FerryError> {
  try {
    await p;
  } catch (e) {
    assert.ok(
      FerryError.is(e, code),
      `expected ${code}, got ${FerryError.is(e) ? e.code : ""} ${(e as Error)?.stack ?? e}`,
    );
    return e;
  }
  assert.fail(`expected ${code}, but it succeeded`);
}

// ---------------------------------------------------------------------------------------
// Child processes

const here = dirname(fileURLToPath(import.meta.url));
/** The compiled child script (dist/pipeline/testdata/child.js). */
export const CHILD = join(here, "testdata", "child.js");

export interface ChildRun {
  proc: ChildProcess;
  /** Resolves with the exit code and signal when the child ends. */
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
  /** Resolves when stdout has printed a line starting with `prefix`. */
  waitLine(prefix: string): Promise<string>;
}

/** Starts `child.js` with a JSON job description. */
export function startChild(job: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): ChildRun {
  const proc = spawn(process.execPath, [CHILD, JSON.stringify(job)], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  let stdout = "";
  let stderr = "";
  const waiters: { prefix: string; resolve: (l: string) => void; reject: (e: Error) => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      const line = stdout.split("\n").find((l) => l.startsWith(w.prefix));
      if (line !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  proc.stdout!.on("data", (d: Buffer) => {
    stdout += d.toString();
    check();
  });
  proc.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
  }>((resolve) => {
    proc.on("close", (code, signal) => {
      for (const w of waiters.splice(0))
        w.reject(new Error(`child ended before printing ${w.prefix}: ${stderr}`));
      resolve({ code, signal, stdout, stderr });
    });
  });
  return {
    proc,
    done,
    waitLine(prefix: string) {
      return new Promise<string>((resolve, reject) => {
        waiters.push({ prefix, resolve, reject });
        check();
        if (proc.exitCode !== null || proc.signalCode !== null) {
          const i = waiters.findIndex((w) => w.resolve === resolve);
          if (i >= 0) {
            waiters.splice(i, 1);
            reject(new Error(`child already ended: ${stderr}`));
          }
        }
      });
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Starts a keyless `verify --full` of `drives` in a child (reads slowed down), waits until it has
 * saved its progress to `statePath` and `before` (if any) has run, kills it with SIGKILL, and
 * returns how it ended.
 */
export async function verifyKilledAfterSave(
  drives: string[],
  statePath: string,
  before?: () => Promise<void>,
) {
  const child = startChild({ op: "verify", opts: { drives, full: true, statePath }, readDelayMs: 10 });
  await child.waitLine("start 0");
  const t0 = Date.now();
  while (!existsSync(statePath) && Date.now() - t0 < 30_000) await sleep(20);
  await before?.();
  child.proc.kill("SIGKILL");
  return child.done;
}

// ---------------------------------------------------------------------------------------
// Misc

/** Creates a named pipe (a special file pack must skip). */
export function mkfifo(path: string): void {
  execFileSync("mkfifo", [path]);
}
