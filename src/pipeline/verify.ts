import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { Blake3Hasher } from "@napi-rs/blake-hash";
import { FerryError } from "../errors.js";
import {
  BLOCK_HEADER_SIZE,
  BLOCKS_DIR,
  BLOCKS_PER_SEGMENT,
  blockLocation,
  blocksOnDrive,
  checkBlock,
  DRIVE_DIR,
  ENTRY_FILE,
  type FileEntry,
  INDEX_FILE,
  SUMS_FILE,
  stripeDataSize,
} from "../format/index.js";
import { allocAligned } from "../native/index.js";
import type { DriveReader } from "./drive_reader.js";
import type { Unlock } from "./keys.js";
import {
  BLOCK_MISSING,
  type OpenedSet,
  openSet,
  StripeReader,
  type StripeReaderOptions,
} from "./open_set.js";
import { BufferPool } from "./read_pool.js";
import { readChunk, readIndex } from "./unpack.js";
import { type Lane, LogOrder } from "./log_order.js";

/** Options of {@link verify}. */
export interface VerifyOptions {
  /** Drive paths at hand (any subset of the set). */
  drives: string[];
  /** Read and check every block (default: quick — labels, signatures, sizes). */
  full?: boolean;
  /** With a key, also name lost files and (with full) check every chunk decrypts. */
  unlock?: Unlock | undefined;
  /** Where a full run records progress so it can resume; null disables (default: ~/.cache/ferry). */
  statePath?: string | null;
  /** Ignore recorded progress and start over. */
  restart?: boolean;
  onEvent?: (e: VerifyEvent) => void;
}

export type VerifyEvent =
  | { type: "start"; set: string; full: boolean; blocks: number; resumedBlocks: number; blockSize: number }
  | {
      type: "progress";
      checked: number;
      total: number;
      drives: { path: string; checked: number; total: number }[];
    };

/** Health of one drive of the set. */
export interface DriveReport {
  index: number;
  bag: string;
  id: string;
  path: string | null;
  present: boolean;
  /** Blocks the drive should hold. */
  blocks: number;
  ok: number;
  damaged: number;
  missing: number;
  /** Blocks not read (quick mode). */
  unchecked: number;
  problems: string[];
}

/** The verdict of {@link verify}. */
export interface VerifyReport {
  set: string;
  mode: "quick" | "full";
  layout: { k: number; m: number; groups: number; tolerate: string; blockSize: number };
  drives: DriveReport[];
  bags: { bag: string; drives: number; present: number; ok: number; damaged: number; missing: number }[];
  stripes: number;
  degradedStripes: number;
  unrecoverableStripes: number;
  /** Every stripe can be rebuilt from what is at hand. */
  recoverable: boolean;
  /** Files that would be lost; null when not computed (no key given, or nothing lost). */
  lostFiles: string[] | null;
  /** With a key and --full: chunks decrypted and checked, and files that failed. */
  decrypt: { files: number; chunks: number; failed: { path: string; reason: string }[] } | null;
  repairPlan: string[];
  status: "healthy" | "degraded" | "loss";
  /** 0 healthy, 3 damaged but recoverable, 4 data would be lost. */
  exitCode: 0 | 3 | 4;
}

interface DriveState {
  checked: number;
  ok: number;
  damaged: number;
  missing: number;
  bad: string; // base64 bitmap of bad blocks
  problems: string[];
  /** Which physical copy was checked: a drive swapped for another copy is checked again. */
  fingerprint: string;
}

/** Identity of the drive's files as they are now (device, inodes, sizes, times of SUMS and segment 0). */
async function fingerprint(d: DriveReader): Promise<string> {
  const parts: string[] = [];
  for (const p of [join(d.root, SUMS_FILE), join(d.root, BLOCKS_DIR, "000000.blk")]) {
    try {
      const st = await stat(p);
      parts.push(`${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`);
    } catch {
      parts.push("-");
    }
  }
  return parts.join("|");
}

interface StateFile {
  set: string;
  drives: Record<string, DriveState>;
}

/** Default place of verify's resume state for a set. */
export function defaultVerifyStatePath(setHex: string, env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME ?? join(homedir(), ".cache");
  return join(base, "ferry", `verify-${setHex}.json`);
}

/**
 * Checks a set from any subset of its drives and says exactly what is damaged, whether
 * everything is still recoverable, which files would be lost, and what to re-ship.
 *
 * @example
 * const r = await verify({ drives: ["/mnt/a", "/mnt/b"], full: true });
 * process.exitCode = r.exitCode;
 */
export async function verify(opts: VerifyOptions): Promise<VerifyReport> {
  const set = await openSet(opts.drives, { unlock: opts.unlock });
  return run(set, opts);
}

function bitmapGet(b: Uint8Array, n: number): boolean {
  return ((b[n >> 3] ?? 0) & (1 << (n & 7))) !== 0;
}
function bitmapSet(b: Uint8Array, n: number): void {
  b[n >> 3]! |= 1 << (n & 7);
}

async function run(set: OpenedSet, opts: VerifyOptions): Promise<VerifyReport> {
  const { layout } = set;
  const manifest = set.manifest!;
  const full = opts.full === true;
  const bitmaps: Uint8Array[] = [];
  const reports: DriveReport[] = layout.drives.map((slot) => {
    const blocks = blocksOnDrive(layout, slot.group, manifest.stripes);
    bitmaps[slot.index] = new Uint8Array(Math.ceil(blocks / 8));
    const d = set.drives[slot.index];
    return {
      index: slot.index,
      bag: slot.bag,
      id: slot.id,
      path: d?.path ?? null,
      present: !!d,
      blocks,
      ok: 0,
      damaged: 0,
      missing: d ? 0 : blocks,
      unchecked: 0,
      problems: d ? [] : ["drive not at hand"],
    };
  });
  for (const p of set.manifestProblems) {
    const r = reports.find((x) => x.path === p.path);
    r?.problems.push(p.problem);
  }

  // Checks that need no block reads: manifest present, SUMS against the manifest, segment sizes.
  for (const r of reports) {
    const d = set.drives[r.index];
    if (!d) continue;
    // A drive without its manifest cannot open the set on its own or with other such drives.
    if (!d.manifest && !d.manifestError) r.problems.push("MANIFEST missing (the other drives carry it)");
    const want = manifest.drives[r.index];
    const sums = await d.hashFile(SUMS_FILE);
    if (!sums) r.problems.push("SUMS file missing");
    else if (!want || sums.size !== want.blocks * 32 || sums.hash !== want.sums) {
      r.problems.push("SUMS file does not match the manifest (damaged or replaced)");
    }
    if (manifest.index.replicas?.includes(r.index)) {
      const copy = await d.hashFile(INDEX_FILE);
      if (!copy) r.problems.push("index copy (ferry/INDEX) missing");
      else if (copy.hash !== manifest.index.replicaHash) r.problems.push("index copy (ferry/INDEX) damaged");
    }
    if (!full) {
      r.missing = await markMissing(d, r.blocks, layout.blockSize, bitmaps[r.index]!);
      r.unchecked = r.blocks - r.missing;
    }
  }

  // With a key, --full reads the data blocks once: the keyed pass reads them with every block
  // check (hash, SUMS) and reports each one to the scan, which then reads only the rest (parity,
  // and data blocks no chunk lies in). Without a key, the scan reads every block.
  let keyed: KeyedResult | null = null;
  if (full) {
    await fullScan(
      set,
      reports,
      bitmaps,
      opts,
      set.keys
        ? async (onBlock) => {
            keyed = await withReader(set, { onBlock }, (r) => keyedChecks(set, r, [], true));
          }
        : null,
    );
  }

  // Stripe by stripe: how many shards are bad or absent.
  const G = layout.groups.length;
  let degraded = 0;
  const unrecoverable: number[] = [];
  const deficit = new Map<number, number>(); // group -> worst (bad - m)
  for (let s = 0; s < manifest.stripes; s++) {
    const g = s % G;
    const n = Math.floor(s / G);
    let bad = 0;
    for (const di of layout.groups[g]!.drives) {
      if (!set.drives[di] || bitmapGet(bitmaps[di]!, n)) bad++;
    }
    if (bad > layout.m) {
      unrecoverable.push(s);
      deficit.set(g, Math.max(deficit.get(g) ?? 0, bad - layout.m));
    } else if (bad > 0) degraded++;
  }

  let lostFiles: string[] | null = null;
  let decrypt: VerifyReport["decrypt"] = null;
  if (set.keys && (unrecoverable.length > 0 || full)) {
    // The reader serves only the keyed checks, after every block was hashed against SUMS: the
    // chunks it reads are AEAD- and id-checked, so it checks block headers only and re-reads a
    // range with every check (rebuilding bad blocks from parity) only where a chunk fails, as
    // unpack does.
    const res: KeyedResult =
      keyed ?? (await withReader(set, { lazyChecks: true }, (r) => keyedChecks(set, r, unrecoverable, full)));
    lostFiles = unrecoverable.length ? res.lost : null;
    decrypt = full ? res.decrypt : null;
  }

  const anyProblem = reports.some((r) => r.problems.length > 0 || r.damaged > 0 || r.missing > 0);
  const decryptFailed = (decrypt?.failed.length ?? 0) > 0;
  const status: VerifyReport["status"] =
    unrecoverable.length > 0 || decryptFailed ? "loss" : anyProblem || degraded > 0 ? "degraded" : "healthy";

  const bags = new Map<string, VerifyReport["bags"][number]>();
  for (const r of reports) {
    const b = bags.get(r.bag) ?? { bag: r.bag, drives: 0, present: 0, ok: 0, damaged: 0, missing: 0 };
    b.drives++;
    if (r.present) b.present++;
    b.ok += r.ok;
    b.damaged += r.damaged;
    b.missing += r.missing;
    bags.set(r.bag, b);
  }

  return {
    set: set.setHex,
    mode: full ? "full" : "quick",
    layout: { k: layout.k, m: layout.m, groups: G, tolerate: layout.tolerate, blockSize: layout.blockSize },
    drives: reports,
    bags: [...bags.values()],
    stripes: manifest.stripes,
    degradedStripes: degraded,
    unrecoverableStripes: unrecoverable.length,
    recoverable: unrecoverable.length === 0,
    lostFiles,
    decrypt,
    repairPlan: repairPlan(set, reports, unrecoverable, deficit, !!set.keys, decrypt),
    status,
    exitCode: status === "healthy" ? 0 : status === "degraded" ? 3 : 4,
  };
}

/**
 * Marks blocks whose bytes are absent, segment by segment (a short or missing segment affects
 * only its own blocks), and returns how many.
 */
async function markMissing(
  d: DriveReader,
  blocks: number,
  blockSize: number,
  bitmap: Uint8Array,
): Promise<number> {
  const rec = BLOCK_HEADER_SIZE + blockSize;
  let missing = 0;
  for (let n = 0; n < blocks; n += BLOCKS_PER_SEGMENT) {
    const loc = blockLocation(n, blockSize);
    let size = -1;
    try {
      size = (await stat(join(d.root, BLOCKS_DIR, loc.segment))).size;
    } catch {
      size = -1;
    }
    const inSeg = Math.min(BLOCKS_PER_SEGMENT, blocks - n);
    const have = size < 0 ? 0 : Math.min(inSeg, Math.floor(size / rec));
    for (let i = have; i < inSeg; i++) bitmapSet(bitmap, n + i);
    missing += inSeg - have;
  }
  return missing;
}

type KeyedResult = { lost: string[]; decrypt: NonNullable<VerifyReport["decrypt"]> };

/** Runs `use` with a StripeReader of `set`, closed afterwards whatever happens. */
async function withReader<T>(
  set: OpenedSet,
  opts: StripeReaderOptions,
  use: (r: StripeReader) => Promise<T>,
): Promise<T> {
  const reader = new StripeReader(set, opts);
  try {
    return await use(reader);
  } finally {
    await reader.close();
  }
}

/** A pass that reads blocks with every check and reports each through `onBlock` (see fullScan). */
type FirstPass = (onBlock: NonNullable<StripeReaderOptions["onBlock"]>) => Promise<void>;

/**
 * Reads and checks every block of every drive at hand, drives in parallel, each in block order,
 * saving progress to resume from. With `first`, that pass runs first and every block it reports
 * counts as checked; the scan then reads only the blocks it did not. A drive's progress is the
 * number of blocks from its start all checked, so a resumed run skips them either way.
 */
async function fullScan(
  set: OpenedSet,
  reports: DriveReport[],
  bitmaps: Uint8Array[],
  opts: VerifyOptions,
  first: FirstPass | null,
) {
  const { layout } = set;
  const statePath = opts.statePath === null ? null : (opts.statePath ?? defaultVerifyStatePath(set.setHex));
  let state: StateFile = { set: set.setHex, drives: {} };
  if (statePath && !opts.restart) {
    try {
      const s = JSON.parse(await readFile(statePath, "utf8")) as StateFile;
      if (s.set === set.setHex && s.drives && typeof s.drives === "object") state = s;
    } catch {
      // nothing to resume
    }
  }
  const total = reports.reduce((a, r) => a + (r.present ? r.blocks : 0), 0);
  let resumedBlocks = 0;
  const prints: string[] = [];
  for (const r of reports) {
    const d = set.drives[r.index];
    if (d) prints[r.index] = await fingerprint(d);
  }
  const live = reports.map((r) => {
    const prev = state.drives[r.id];
    if (r.present && prev && prev.checked <= r.blocks && prev.fingerprint === prints[r.index]) {
      r.ok = prev.ok;
      r.damaged = prev.damaged;
      r.missing = prev.missing;
      r.problems.push(...prev.problems.filter((p) => !r.problems.includes(p)));
      const bm = Buffer.from(prev.bad, "base64");
      bitmaps[r.index]!.set(bm.subarray(0, bitmaps[r.index]!.length));
      resumedBlocks += prev.checked;
      return { checked: prev.checked };
    }
    return { checked: 0 };
  });
  opts.onEvent?.({
    type: "start",
    set: set.setHex,
    full: true,
    blocks: total,
    resumedBlocks,
    blockSize: layout.blockSize,
  });
  // Blocks checked on each drive: the resumed prefix, and with `first` whatever it read.
  const done = first ? reports.map((r) => new Uint8Array(Math.ceil(r.blocks / 8))) : null;
  const counts = live.map((l) => l.checked);
  if (done)
    for (const r of reports) for (let n = 0; n < live[r.index]!.checked; n++) bitmapSet(done[r.index]!, n);
  let lastSave = Date.now();
  let saving: Promise<void> | null = null;
  const save = async () => {
    if (!statePath) return;
    for (const r of reports) {
      if (!r.present) continue;
      state.drives[r.id] = {
        checked: live[r.index]!.checked,
        ok: r.ok,
        damaged: r.damaged,
        missing: r.missing,
        bad: Buffer.from(bitmaps[r.index]!).toString("base64"),
        problems: r.problems.filter((p) => p.startsWith("block ")).slice(0, 20),
        fingerprint: prints[r.index]!,
      };
    }
    await mkdir(dirname(statePath), { recursive: true });
    await writeFile(`${statePath}.tmp`, JSON.stringify(state));
    await rename(`${statePath}.tmp`, statePath);
  };
  const progress = () =>
    opts.onEvent?.({
      type: "progress",
      checked: counts.reduce((a, c) => a + c, 0),
      total,
      drives: reports
        .filter((r) => r.present)
        .map((r) => ({ path: r.path!, checked: counts[r.index]!, total: r.blocks })),
    });
  let lastProgress = 0;
  /** Saves progress and reports it, each at most every so often. */
  const tick = async () => {
    const now = Date.now();
    if (now - lastSave > 2000 && !saving) {
      lastSave = now;
      saving = save().finally(() => {
        saving = null;
      });
      await saving;
    }
    if (now - lastProgress > 250) {
      lastProgress = now;
      progress();
    }
  };
  /** Counts block `n` of drive `r`: good, or why not. */
  const record = (r: DriveReport, n: number, problem: string | null) => {
    counts[r.index]!++;
    if (problem === null) r.ok++;
    else {
      if (problem === BLOCK_MISSING) r.missing++;
      else {
        r.damaged++;
        if (r.problems.length < 20) r.problems.push(`block ${n}: ${problem}`);
      }
      bitmapSet(bitmaps[r.index]!, n);
    }
  };
  if (first && done) {
    let fault: unknown = null;
    await first((drive, n, problem) => {
      const r = reports[drive];
      if (!r?.present || n >= r.blocks || bitmapGet(done[drive]!, n)) return;
      bitmapSet(done[drive]!, n);
      record(r, n, problem);
      const l = live[drive]!;
      while (l.checked < r.blocks && bitmapGet(done[drive]!, l.checked)) l.checked++;
      // Saving is asynchronous: a failure to save fails the run once the pass is over.
      void tick().catch((e) => {
        fault ??= e;
      });
    });
    if (saving) await saving;
    if (fault) throw fault;
  }
  await Promise.all(
    reports.map(async (r) => {
      const d = set.drives[r.index];
      if (!d) return;
      const slot = layout.drives[r.index]!;
      // Aligned, so that the drive reads it with O_DIRECT (see DriveReader.readBlock).
      const buf = allocAligned(BLOCK_HEADER_SIZE + layout.blockSize);
      const G = layout.groups.length;
      for (let n = live[r.index]!.checked; n < r.blocks; ) {
        const batch = Math.min(256, r.blocks - n);
        let sums: Buffer | null = null;
        for (let i = 0; i < batch; i++, n++) {
          if (done && bitmapGet(done[r.index]!, n)) {
            live[r.index]!.checked = n + 1;
            continue;
          }
          sums ??= await d.readSums(n - i, batch);
          const rec = await d.readBlock(n, layout.blockSize, buf);
          if (!rec) record(r, n, BLOCK_MISSING);
          else {
            const sum = sums.length >= (i + 1) * 32 ? sums.subarray(i * 32, i * 32 + 32) : undefined;
            record(
              r,
              n,
              checkBlock(rec, {
                setId: set.setId,
                stripe: n * G + slot.group,
                shard: slot.shard,
                group: slot.group,
                blockSize: layout.blockSize,
                sum,
              }),
            );
          }
          live[r.index]!.checked = n + 1;
        }
        await tick();
      }
    }),
  );
  progress();
  if (statePath) await rm(statePath, { force: true });
  void DRIVE_DIR;
}

/**
 * Names the files that lie in `unrecoverable` stripes (lost), and with `full` reads every other
 * file's chunks (AEAD, id and file hash). A file whose chunks turn out to lie in a stripe that
 * cannot be rebuilt (E_UNRECOVERABLE: the one-pass --full, which learns of the damage as it
 * reads) is lost too. Lost files are listed in index order.
 */
async function keyedChecks(
  set: OpenedSet,
  reader: StripeReader,
  unrecoverable: number[],
  full: boolean,
): Promise<KeyedResult> {
  const size = stripeDataSize(set.layout);
  const badStripe = new Set(unrecoverable);
  const lostAt: { ord: number; path: string }[] = [];
  let ord = 0;
  const decrypt = { files: 0, chunks: 0, failed: [] as { path: string; reason: string }[] };
  /** Plaintext buffers, reused from chunk to chunk. */
  const pool = new BufferPool(16 << 20, 16 << 20);
  // Files are read side by side, their chunks in log order (see log_order.ts), so a stretch of
  // the log where pack interleaved files is read once.
  const order = new LogOrder<{ e: FileEntry; h: Blake3Hasher; ord: number }>({
    maxOpen: 16,
    maxOpenCap: 64,
    lookahead: 64 << 20,
    growSlack: 24 << 20,
    growWindow: 512 << 20,
  });
  const fail = (e: FileEntry, err: unknown) => {
    if (!FerryError.is(err)) throw err;
    decrypt.failed.push({ path: e.path.toString(), reason: err.message });
  };
  const finish = (lane: Lane<{ e: FileEntry; h: Blake3Hasher; ord: number }>) => {
    order.close(lane);
    const { e, h } = lane.file;
    if (!h.digestBuffer().equals(e.hash))
      fail(e, new FerryError("E_CORRUPT", "content does not match its hash"));
  };
  const step = async () => {
    const lane = order.pick()!;
    const { e, h } = lane.file;
    try {
      const plain = await readChunk(set, reader, lane.chunks[lane.next]!, pool);
      h.update(plain);
      pool.give(plain);
      decrypt.chunks++;
    } catch (err) {
      order.close(lane);
      if (FerryError.is(err, "E_UNRECOVERABLE")) {
        decrypt.files--;
        lostAt.push({ ord: lane.file.ord, path: e.path.toString() });
      } else fail(e, err);
      return;
    }
    if (++lane.next === lane.chunks.length) finish(lane);
  };
  try {
    for await (const e of readIndex(set, reader)) {
      if (e.type !== ENTRY_FILE) continue;
      const hitsBad = e.chunks.some((c) => {
        for (let s = Math.floor(c.offset / size); s * size < c.offset + c.storedLength; s++) {
          if (badStripe.has(s)) return true;
        }
        return false;
      });
      const at = ord++;
      if (hitsBad) {
        lostAt.push({ ord: at, path: e.path.toString() });
        continue;
      }
      if (!full) continue;
      decrypt.files++;
      while (order.size && !order.canOpen(e.chunks)) await step();
      const lane = order.open({ e, h: new Blake3Hasher(), ord: at }, e.chunks);
      if (e.chunks.length === 0) finish(lane);
    }
    while (order.size) await step();
  } catch (err) {
    if (!FerryError.is(err, "E_UNRECOVERABLE")) throw err;
    lostAt.push({
      ord: Number.MAX_SAFE_INTEGER,
      path: "(the index itself is unrecoverable: every file is at risk)",
    });
  }
  const lost = lostAt.sort((a, b) => a.ord - b.ord).map((x) => x.path);
  return { lost, decrypt };
}

function repairPlan(
  set: OpenedSet,
  reports: DriveReport[],
  unrecoverable: number[],
  deficit: Map<number, number>,
  haveKey: boolean,
  decrypt: VerifyReport["decrypt"],
): string[] {
  const plan: string[] = [];
  const name = (r: DriveReport) => `drive ${r.index} (bag ${r.bag}${r.path ? `, ${r.path}` : ""})`;
  if (unrecoverable.length) {
    for (const [g, need] of [...deficit.entries()].sort((a, b) => a[0] - b[0])) {
      const candidates = set.layout.groups[g]!.drives.map((i) => reports[i]!).filter(
        (r) => !r.present || r.damaged > 0 || r.missing > 0,
      );
      plan.push(
        `Data loss in ${unrecoverable.length} stripe(s): bring or re-ship at least ${need} more of ${candidates.map(name).join(", ")} (healthy copies from the origin), then verify again.`,
      );
    }
    if (!haveKey) plan.push("Pass --identity (or --passphrase-file) to name the files that would be lost.");
  }
  for (const r of reports) {
    if (!r.present)
      plan.push(
        `${name(r)} is not at hand: unpack rebuilds its blocks from parity; re-ship it to restore full redundancy.`,
      );
    else if (r.damaged || r.missing) {
      plan.push(
        `${name(r)} has ${r.damaged} damaged and ${r.missing} missing block(s): replace it; its data is rebuilt from parity while enough other drives are healthy.`,
      );
    } else if (r.problems.length) plan.push(`${name(r)}: ${r.problems.join("; ")}.`);
  }
  if (decrypt?.failed.length) {
    plan.push(
      `${decrypt.failed.length} file(s) fail decryption or their hash: the set was tampered with; re-pack them from the origin.`,
    );
  }
  if (plan.length === 0) plan.push("Nothing to do: every block of every drive is healthy.");
  return plan;
}
