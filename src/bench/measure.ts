/**
 * Bench measurement: one step = one child process, timed by GNU time (wall, user+sys CPU, peak
 * RSS of the largest process in it), medians over runs, ratios between steps, and the on-disk
 * size of ferry's metadata (catalog, index replica, index in the log).
 */
import { spawnSync } from "node:child_process";
import {
  closeSync,
  type Dirent,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { native } from "../native/index.js";

/** One timed execution. */
export interface Sample {
  wall: number;
  cpu: number;
  rssMB: number;
  /** Bytes the step read from and wrote to block devices (GNU time's %I and %O). */
  read?: number;
  written?: number;
}

/** A step's medians over its runs. */
export interface Row {
  name: string;
  /** MB (10^6 bytes) of source data per second of wall time. */
  mbps: number;
  /** Files of the source per second (sections with many small files). */
  filesPerSec?: number;
  wall: number;
  cpu: number;
  rssMB: number;
  /** Bytes read from and written to the disk (medians; absent without GNU time). */
  readBytes?: number;
  writtenBytes?: number;
  /**
   * The step's disk ceiling: MB/s of source data if moving those bytes at the disk's measured
   * speed were all it did (see disk.ts); absent where it moved next to nothing (CPU-bound).
   */
  diskCeilingMBps?: number;
  runs: number;
  /** The command as run (peers: exactly the shell line, passwords come from the environment). */
  command?: string;
}

/** ferry's step next to a peer's: speed = ferry MB/s ÷ peer MB/s (> 1: ferry is faster). */
export interface Ratio {
  ferry: string;
  peer: string;
  speed: number;
  cpu: number;
  rss: number;
}

const hasTime = existsSync("/usr/bin/time");

/** Runs `cmd argv` under /usr/bin/time; exits 0 and 3 (done, degraded) count as success. */
export function timed(
  cmd: string,
  argv: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Sample {
  const env = { ...process.env, ...opts.env };
  const t0 = process.hrtime.bigint();
  const r = hasTime
    ? spawnSync("/usr/bin/time", ["-f", "%e %U %S %M %I %O", cmd, ...argv], {
        encoding: "utf8",
        env,
        cwd: opts.cwd,
      })
    : spawnSync(cmd, argv, { encoding: "utf8", env, cwd: opts.cwd });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0 && r.status !== 3)
    throw new Error(`${cmd} ${argv.join(" ")} failed (${r.status}): ${(r.stderr ?? "").slice(-800)}`);
  if (!hasTime) return { wall, cpu: Number.NaN, rssMB: Number.NaN };
  const last = r.stderr.trim().split("\n").pop()!.split(" ").map(Number);
  // %I and %O count 512-byte units, O_DIRECT included; reads served by the page cache are not in it.
  return {
    wall,
    cpu: (last[1] ?? 0) + (last[2] ?? 0),
    rssMB: (last[3] ?? 0) / 1024,
    read: (last[4] ?? 0) * 512,
    written: (last[5] ?? 0) * 512,
  };
}

/** A shell line, timed (the pipeline's CPU is summed; its peak RSS is its largest process). */
export const timedSh = (line: string, env: NodeJS.ProcessEnv = {}) => timed("sh", ["-c", line], { env });

let coldRoots: string[] | null = null;

/**
 * From now on, {@link settle} also empties the page cache, so that every step reads its input from
 * the drive, as a pack of tens of terabytes does: the whole page cache where this process may
 * (root: /proc/sys/vm/drop_caches), or else every file under `roots` (posix_fadvise DONTNEED
 * through the native kernel). Throws when it can do neither.
 */
export function coldCache(roots: string[]): void {
  coldRoots = roots;
  dropPageCache(roots);
}

/**
 * Empties the page cache: all of it where this process may (`global` and root:
 * /proc/sys/vm/drop_caches), or else every regular file under `roots`, file by file
 * (posix_fadvise DONTNEED: clean pages only, so `sync` first). Throws where it can do neither.
 */
export function dropPageCache(roots: string[], global = true): void {
  if (global) {
    try {
      writeFileSync("/proc/sys/vm/drop_caches", "3");
      return;
    } catch {
      // not root: file by file
    }
  }
  if (!native) throw new Error("--cold needs root (drop_caches) or ferry's native kernel (fadvise)");
  const walk = (dir: string): void => {
    let list: Dirent[];
    try {
      list = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const d of list) {
      const p = join(dir, d.name);
      if (d.isDirectory()) walk(p);
      else if (d.isFile()) {
        try {
          const fd = openSync(p, "r");
          native!.dropCache(fd);
          closeSync(fd);
        } catch {
          // gone or unreadable: nothing cached to drop
        }
      }
    }
  };
  for (const r of roots) walk(r);
}

/**
 * Untimed: flush what earlier steps left dirty so the next step does not pay for it, and with
 * {@link coldCache} empty the page cache.
 */
export function settle(): void {
  spawnSync("sync");
  if (coldRoots) dropPageCache(coldRoots);
}

/**
 * Untimed, before a step that creates many files right after many were deleted (a restore of
 * the small-files corpus after the previous one was removed): {@link settle}, then, as root, the
 * whole page cache emptied. On a filesystem without a journal, ext4 checks every inode it hands
 * out against the inode table blocks still cached, and skips inodes freed in the last seconds:
 * a restore of 100,000 files right after deleting 100,000 paid 10-50 s of system time for it,
 * whoever restored. Without root this is settle() alone.
 */
export function settleAfterDeletes(): void {
  settle();
  try {
    writeFileSync("/proc/sys/vm/drop_caches", "3");
  } catch {
    // not root
  }
}

/** The `sync` after a peer, timed, so "peer + sync" is as durable as ferry's fsync'd pack. */
export const timedSync = (): Sample => timed("sync", []);

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Samples per step name, in first-seen order. */
export class Results {
  private readonly samples = new Map<string, Sample[]>();
  private readonly commands = new Map<string, string>();

  add(name: string, s: Sample, command?: string): Sample {
    this.samples.set(name, [...(this.samples.get(name) ?? []), s]);
    if (command) this.commands.set(name, command);
    return s;
  }

  /** `name` and `name + sync` (the peer's wall plus a timed sync right after it). */
  addWithSync(name: string, s: Sample, command: string): void {
    this.add(name, s, command);
    const sy = timedSync();
    this.add(
      `${name} + sync`,
      {
        wall: s.wall + sy.wall,
        cpu: s.cpu + sy.cpu,
        rssMB: Math.max(s.rssMB, sy.rssMB),
        ...(s.read !== undefined ? { read: s.read, written: s.written } : {}),
      },
      `${command}; sync`,
    );
  }

  has(name: string): boolean {
    return this.samples.has(name);
  }

  rows(bytes: number, files?: number): Row[] {
    return [...this.samples.entries()].map(([name, ss]) => {
      const wall = median(ss.map((s) => s.wall));
      const command = this.commands.get(name);
      return {
        name,
        mbps: bytes / 1e6 / wall,
        ...(files !== undefined ? { filesPerSec: files / wall } : {}),
        wall,
        cpu: median(ss.map((s) => s.cpu)),
        rssMB: median(ss.map((s) => s.rssMB)),
        ...(ss.every((s) => s.read !== undefined)
          ? {
              readBytes: median(ss.map((s) => s.read!)),
              writtenBytes: median(ss.map((s) => s.written ?? 0)),
            }
          : {}),
        runs: ss.length,
        ...(command ? { command } : {}),
      };
    });
  }
}

/** Ratios for each [ferry step, peer step] pair where both ran. */
export function ratios(rows: Row[], pairs: [string, string[]][]): Ratio[] {
  const by = new Map(rows.map((r) => [r.name, r]));
  const out: Ratio[] = [];
  for (const [f, peers] of pairs) {
    const fr = by.get(f);
    if (!fr) continue;
    for (const p of peers) {
      const pr = by.get(p);
      if (!pr) continue;
      out.push({
        ferry: f,
        peer: p,
        speed: fr.mbps / pr.mbps,
        cpu: fr.cpu / pr.cpu,
        rss: fr.rssMB / pr.rssMB,
      });
    }
  }
  return out;
}

/** Size of ferry's metadata next to the source data it describes. */
export interface MetaSize {
  dataBytes: number;
  /** The origin catalog: the SQLite file and its -wal/-shm/-journal companions. */
  catalogBytes: number;
  catalogPct: number;
  /** Each catalog file's size (the database, and -wal/-shm where SQLite left them). */
  catalogFiles: Record<string, number>;
  /** `ferry/INDEX` on one replica drive (every replica drive holds a full copy). */
  indexReplicaBytes: number;
  indexReplicaPct: number;
  /** How many drives hold a replica. */
  indexReplicas: number;
  /** The sealed index pieces inside the data log (from the manifest; spread over the data drives). */
  indexInLogBytes: number;
  indexInLogPct: number;
  /** Index entries (folders, files, symlinks). */
  indexEntries: number;
}

/** Body of a `ferry/MANIFEST` envelope (magic, u16 version, u16 kind, u32le length, JSON, signature). */
function manifestBody(path: string): {
  index?: { pieces?: number[][]; entries?: number; replicas?: number[] };
} {
  const b = readFileSync(path);
  const len = b.readUInt32LE(12);
  return JSON.parse(b.subarray(16, 16 + len).toString("utf8"));
}

/** Measures the catalog and index sizes of a finished set (`drives`: folders holding `ferry/`). */
export function metaSize(drives: string[], catalog: string, dataBytes: number): MetaSize {
  const dir = dirname(catalog);
  const base = basename(catalog);
  const catalogFiles: Record<string, number> = {};
  for (const f of readdirSync(dir).filter((f) => f === base || f.startsWith(`${base}-`)))
    catalogFiles[f] = statSync(join(dir, f)).size;
  const catalogBytes = Object.values(catalogFiles).reduce((n, x) => n + x, 0);
  const withIndex = drives.filter((d) => existsSync(join(d, "ferry", "INDEX")));
  const indexReplicaBytes = withIndex.length ? statSync(join(withIndex[0]!, "ferry", "INDEX")).size : 0;
  let indexInLogBytes = 0;
  let indexEntries = 0;
  const m = drives.map((d) => join(d, "ferry", "MANIFEST")).find((p) => existsSync(p));
  if (m) {
    const body = manifestBody(m);
    indexInLogBytes = (body.index?.pieces ?? []).reduce((n, p) => n + (p[1] ?? 0), 0);
    indexEntries = body.index?.entries ?? 0;
  }
  const pct = (n: number) => (100 * n) / dataBytes;
  return {
    dataBytes,
    catalogBytes,
    catalogPct: pct(catalogBytes),
    catalogFiles,
    indexReplicaBytes,
    indexReplicaPct: pct(indexReplicaBytes),
    indexReplicas: withIndex.length,
    indexInLogBytes,
    indexInLogPct: pct(indexInLogBytes),
    indexEntries,
  };
}
