/**
 * `npm run bench [-- --size 3GiB --runs 3 --json out.json]`: times ferry's pack, verify --full,
 * unpack and unpack with a bag missing on a seeded corpus shaped like training data, next to
 * the peers installed here (restic, borg, tar | zstd | age, cp -r; `npm run bench:setup`
 * installs them), and S3 ingest into a local S3 server. Then the sections the performance targets
 * name: many small files (files/s), the size of the catalog and index next to the data, and
 * memory flatness (peak RSS on a small and a large corpus). Each step runs as its own process;
 * wall time, CPU seconds and peak RSS come from /usr/bin/time. Medians of --runs are reported
 * as tables and JSON. How to read it: docs/PERFORMANCE.md.
 *
 * Not a test: numbers swing on a shared machine; compare side by side within one run.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { formatBytes, parseBytes } from "../plan/units.js";
import { makeCorpus, makeSmallFiles } from "./corpus.js";
import { type DiskSpeed, diskCeiling, measureDisk } from "./disk.js";
import {
  coldCache,
  type MetaSize,
  median,
  metaSize,
  type Ratio,
  Results,
  type Row,
  ratios,
  type Sample,
  settle,
  settleAfterDeletes,
  timed,
} from "./measure.js";
import { detectPeers, PEERS, type PeerName, RATIO_PAIRS, runPeer } from "./peers.js";

const BIN = fileURLToPath(new URL("../../bin/ferry.js", import.meta.url));

type Section = "main" | "small" | "flat";

interface Args {
  size: number;
  runs: number;
  json: string | null;
  dir: string;
  s3: boolean;
  peers: PeerName[];
  sections: Set<Section>;
  smallFiles: number;
  flatSizes: number[];
  cold: boolean;
}

const USAGE = `usage: npm run bench -- [options]
  --size BYTES          main corpus size (default 1GiB; --smoke 24MiB)
  --runs N              runs per step, the median is quoted (default 3; --smoke 1)
  --json FILE           write the results as JSON
  --dir DIR             scratch folder (default the OS temp folder); needs ~4× --size free
  --peers LIST          peers to run: cp,tar,restic,borg (default all installed) or none
  --no-s3               skip unpack into a local S3 server
  --small-files N       the many-small-files section with N files of 4–64 KB (default 100000;
                        --smoke 500); 0 skips it
  --flat / --no-flat    the memory-flatness section (default on, off with --smoke)
  --flat-sizes A,B      its two corpus sizes (default 1GiB,8GiB)
  --only LIST           run only these sections: main,small,flat
  --cold                empty the page cache before every step, so every tool reads from the
                        drive (root: drop_caches; otherwise file by file under --dir)
  --smoke               tiny sizes, one run: checks the bench end to end (CI)
`;

function args(argv: string[]): Args {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const get = (k: string) => {
    const i = argv.indexOf(k);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const smoke = argv.includes("--smoke");
  const peersArg = get("--peers") ?? PEERS.join(",");
  const peers =
    peersArg === "none"
      ? []
      : peersArg.split(",").map((p) => {
          if (!(PEERS as string[]).includes(p))
            throw new Error(`--peers: unknown peer ${p} (${PEERS.join(",")})`);
          return p as PeerName;
        });
  const smallFiles = Number(get("--small-files") ?? (smoke ? 500 : 100_000));
  const sections = new Set<Section>(["main"]);
  if (smallFiles > 0) sections.add("small");
  if (argv.includes("--flat") || (!smoke && !argv.includes("--no-flat"))) sections.add("flat");
  const only = get("--only");
  if (only) {
    const want = only.split(",");
    for (const s of want)
      if (!["main", "small", "flat"].includes(s)) throw new Error(`--only: unknown section ${s}`);
    for (const s of [...sections]) if (!want.includes(s)) sections.delete(s);
    for (const s of want) if (s === "flat") sections.add("flat");
  }
  const flatSizes = (get("--flat-sizes") ?? "1GiB,8GiB").split(",").map((s) => parseBytes(s, "--flat-sizes"));
  if (flatSizes.length !== 2) throw new Error("--flat-sizes takes two sizes, e.g. 1GiB,8GiB");
  return {
    size: parseBytes(get("--size") ?? (smoke ? "24 MiB" : "1 GiB"), "--size"),
    runs: Number(get("--runs") ?? (smoke ? 1 : 3)),
    json: get("--json") ?? null,
    dir: get("--dir") ?? tmpdir(),
    s3: !argv.includes("--no-s3"),
    peers,
    sections,
    smallFiles,
    flatSizes,
    cold: argv.includes("--cold"),
  };
}

const log = (s: string) => process.stderr.write(`${s}\n`);

/** 12 drives in 4 bags of 3 under `dir`, as --drive flags, and their paths. */
function twelveDrives(dir: string): { flags: string[]; paths: string[]; bagB: string[] } {
  const bags = ["a", "b", "c", "d"];
  const paths = bags.flatMap((b) => [1, 2, 3].map((i) => join(dir, `${b}${i}`)));
  const flags = bags.flatMap((b) => [1, 2, 3].flatMap((i) => ["--drive", `${b}=${join(dir, `${b}${i}`)}`]));
  return { flags, paths, bagB: paths.filter((p) => /\/b\d$/.test(p)) };
}

interface Ctx {
  work: string;
  key: string;
  rec: string;
}

function ferry(argv: string[], env: NodeJS.ProcessEnv = {}): Sample {
  settle();
  return timed(process.execPath, [BIN, ...argv, "--quiet"], { env });
}

const packArgs = (ctx: Ctx, src: string, drives: string[], catalog: string, fsync: boolean) => [
  "pack",
  src,
  ...drives,
  "--tolerate",
  "bag",
  "--recipient",
  ctx.rec,
  "--catalog",
  catalog,
  ...(fsync ? [] : ["--unsafe-no-fsync"]),
];

interface SectionOut {
  corpus: { files: number; bytes: number };
  rows: Row[];
  ratios: Ratio[];
  meta?: MetaSize;
  /** The disk's speed, median over the runs (null: not measurable here). */
  disk?: DiskSpeed | null;
}

async function mainSection(a: Args, ctx: Ctx, peers: Set<PeerName>): Promise<SectionOut> {
  const { work } = ctx;
  const src = join(work, "corpus");
  log(`corpus: generating ${(a.size / 1e6).toFixed(0)} MB in ${src}`);
  const corpus = makeCorpus(src, a.size);
  const res = new Results();
  let meta: MetaSize | undefined;

  let store: { endpoint: string; env: NodeJS.ProcessEnv; stop: () => Promise<void> } | null = null;
  let bucket = async (): Promise<string> => "";
  if (a.s3) {
    try {
      const st = await import("../sinks/s3_testkit.js");
      const s = await st.startStore(join(work, "s3data"));
      store = s;
      const c = st.client(s);
      bucket = () => st.newBucket(c, "bench");
    } catch (e) {
      log(`s3: no local S3 server (${(e as Error).message}); skipping ingest`);
    }
  }

  const disks: DiskSpeed[] = [];
  let noDisk = false;
  try {
    for (let run = 0; run < a.runs; run++) {
      log(`main: run ${run + 1}/${a.runs}`);
      if (!noDisk) {
        settle();
        const d = await measureDisk(work, Math.min(2 ** 31, Math.max(64 << 20, a.size)));
        if (d) disks.push(d);
        else {
          noDisk = true;
          log("disk: no O_DIRECT under --dir (or no native kernel); disk ceilings are not measured");
        }
      }
      for (const fsync of [true, false]) {
        const dir = join(work, `drives-${run}-${fsync}`);
        const d = twelveDrives(dir);
        const catalog = join(work, `cat-${run}-${fsync}`, "catalog.db");
        mkdirSync(join(catalog, ".."), { recursive: true });
        const name = fsync ? "ferry pack (fsync)" : "ferry pack (--unsafe-no-fsync)";
        res.add(name, ferry(packArgs(ctx, src, d.flags, catalog, fsync)));
        if (fsync && run === 0) meta = metaSize(d.paths, catalog, corpus.bytes);
        if (fsync) {
          rmSync(dir, { recursive: true, force: true });
          continue;
        }
        const state = join(work, "verify-state.json");
        res.add(
          "ferry verify --full",
          ferry(["verify", ...d.paths, "--full", "--restart", "--state", state]),
        );
        res.add(
          "ferry verify --full --identity",
          ferry(["verify", ...d.paths, "--full", "--restart", "--state", state, "--identity", ctx.key]),
        );
        const out = join(work, `out-${run}`);
        res.add("ferry unpack", ferry(["unpack", ...d.paths, "--to", out, "--identity", ctx.key]));
        rmSync(out, { recursive: true, force: true });
        const rest = d.paths.filter((p) => !d.bagB.includes(p));
        res.add(
          "ferry unpack, a bag missing",
          ferry(["unpack", ...rest, "--to", out, "--identity", ctx.key]),
        );
        rmSync(out, { recursive: true, force: true });
        if (store) {
          const b = await bucket();
          res.add(
            "ferry unpack → S3 (local s3rver)",
            ferry(
              [
                "unpack",
                ...d.paths,
                "--to",
                `s3://${b}/data`,
                "--identity",
                ctx.key,
                "--s3-endpoint",
                store.endpoint,
              ],
              store.env,
            ),
          );
        }
        rmSync(dir, { recursive: true, force: true });
      }
      rmSync(join(work, `cat-${run}-true`), { recursive: true, force: true });
      rmSync(join(work, `cat-${run}-false`), { recursive: true, force: true });
      for (const p of PEERS)
        if (peers.has(p)) {
          log(`main: ${p}`);
          runPeer(
            p,
            res,
            src,
            { work, recipient: ctx.rec, identity: ctx.key },
            { restore: true, check: true },
          );
        }
    }
  } finally {
    await store?.stop();
    rmSync(join(work, "s3data"), { recursive: true, force: true });
  }
  rmSync(src, { recursive: true, force: true });
  const rows = res.rows(corpus.bytes);
  const disk = disks.length ? medianDisk(disks) : null;
  if (disk) withCeilings(rows, disk, corpus.bytes);
  return { corpus, rows, ratios: ratios(rows, RATIO_PAIRS), ...(meta ? { meta } : {}), disk };
}

/** Many small files: ferry's durable pack and its unpack in files/s, next to the peers' same steps. */
function smallSection(a: Args, ctx: Ctx, peers: Set<PeerName>): SectionOut & { targetFilesPerSec: number } {
  const { work } = ctx;
  const src = join(work, "small");
  log(`small files: generating ${a.smallFiles} files of 4–64 KB in ${src}`);
  const corpus = makeSmallFiles(src, a.smallFiles);
  const res = new Results();
  let meta: MetaSize | undefined;
  for (let run = 0; run < a.runs; run++) {
    log(`small files: run ${run + 1}/${a.runs}`);
    const dir = join(work, "small-drives");
    const d = twelveDrives(dir);
    const catalog = join(work, "small-cat", "catalog.db");
    mkdirSync(join(catalog, ".."), { recursive: true });
    res.add("ferry pack (fsync)", ferry(packArgs(ctx, src, d.flags, catalog, true)));
    if (run === 0) meta = metaSize(d.paths, catalog, corpus.bytes);
    const out = join(work, "small-out");
    settleAfterDeletes();
    res.add("ferry unpack", ferry(["unpack", ...d.paths, "--to", out, "--identity", ctx.key]));
    rmSync(out, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
    rmSync(join(catalog, ".."), { recursive: true, force: true });
    for (const p of PEERS)
      if (peers.has(p) && p !== "cp")
        runPeer(
          p,
          res,
          src,
          { work, recipient: ctx.rec, identity: ctx.key },
          { restore: true, check: false, restoreAfterDeletes: true },
        );
  }
  rmSync(src, { recursive: true, force: true });
  const rows = res.rows(corpus.bytes, corpus.files);
  return {
    corpus,
    rows,
    ratios: ratios(
      rows,
      RATIO_PAIRS.filter(([name]) => name === "ferry pack (fsync)" || name === "ferry unpack"),
    ),
    targetFilesPerSec: 20_000,
    ...(meta ? { meta } : {}),
  };
}

interface FlatOut {
  sizes: { bytes: number; files: number }[];
  steps: { step: string; rssMB: number[]; mbps: number[]; growthPct: number }[];
  targetPct: number;
}

/** Peak RSS of pack, verify --full and unpack on a small and a large corpus. */
function flatSection(a: Args, ctx: Ctx): FlatOut {
  const { work } = ctx;
  const sizes: { bytes: number; files: number }[] = [];
  const per = new Map<string, { rss: number; mbps: number }[]>();
  const add = (step: string, s: Sample, bytes: number) =>
    per.set(step, [...(per.get(step) ?? []), { rss: s.rssMB, mbps: bytes / 1e6 / s.wall }]);
  for (const size of a.flatSizes) {
    const src = join(work, "flat-corpus");
    log(`flat: ${(size / 1e6).toFixed(0)} MB corpus`);
    const corpus = makeCorpus(src, size);
    sizes.push(corpus);
    const dir = join(work, "flat-drives");
    const d = twelveDrives(dir);
    const catalog = join(work, "flat-cat", "catalog.db");
    mkdirSync(join(catalog, ".."), { recursive: true });
    add("ferry pack (fsync)", ferry(packArgs(ctx, src, d.flags, catalog, true)), corpus.bytes);
    rmSync(src, { recursive: true, force: true });
    const state = join(work, "flat-verify.json");
    add(
      "ferry verify --full",
      ferry(["verify", ...d.paths, "--full", "--restart", "--state", state]),
      corpus.bytes,
    );
    const out = join(work, "flat-out");
    add("ferry unpack", ferry(["unpack", ...d.paths, "--to", out, "--identity", ctx.key]), corpus.bytes);
    for (const p of [out, dir, join(catalog, "..")]) rmSync(p, { recursive: true, force: true });
  }
  return {
    sizes,
    steps: [...per.entries()].map(([step, xs]) => ({
      step,
      rssMB: xs.map((x) => x.rss),
      mbps: xs.map((x) => x.mbps),
      growthPct: (100 * (xs[1]!.rss - xs[0]!.rss)) / xs[0]!.rss,
    })),
    targetPct: 15,
  };
}

const pad = (s: string, n: number) => s.padEnd(n);
const num = (x: number, d: number) => (Number.isFinite(x) ? x.toFixed(d) : "—");

/** The median of each field over the runs' disk measurements. */
function medianDisk(ds: DiskSpeed[]): DiskSpeed {
  const med = (k: keyof DiskSpeed) => median(ds.map((d) => d[k]));
  return {
    writeMBps: med("writeMBps"),
    readMBps: med("readMBps"),
    mixedMBps: med("mixedMBps"),
    bytes: ds[0]!.bytes,
  };
}

/** Adds each row's disk ceiling (where GNU time counted its reads and writes). */
function withCeilings(rows: Row[], disk: DiskSpeed, source: number): void {
  for (const r of rows) {
    if (r.readBytes === undefined) continue;
    const c = diskCeiling(disk, { read: r.readBytes, written: r.writtenBytes ?? 0 }, source);
    if (c !== null) r.diskCeilingMBps = c;
  }
}

/** What each step moved on the disk, its disk ceiling, and how near it ran to it. */
function diskTable(rows: Row[], disk: DiskSpeed, runs: number): string[] {
  const w = Math.max(34, ...rows.map((r) => r.name.length + 1));
  const gb = (n: number | undefined) => (n === undefined ? "" : num(n / 1e9, 2));
  return [
    `disk under the bench folder (O_DIRECT, 4 streams, ${formatBytes(disk.bytes)} a phase, median of ${runs}): write ${num(disk.writeMBps, 0)} MB/s, read ${num(disk.readMBps, 0)} MB/s, both at once ${num(disk.mixedMBps, 0)} MB/s read + written`,
    "disk ceiling: MB/s of source data if moving the step's bytes at those speeds were all it did (none: it moved next to nothing, the CPU bounds it)",
    `${pad("step", w)} ${"read GB".padStart(8)} ${"wrote GB".padStart(9)} ${"ceiling".padStart(8)} ${"MB/s".padStart(8)} ${"of ceiling".padStart(11)}`,
    ...rows.map(
      (r) =>
        `${pad(r.name, w)} ${gb(r.readBytes).padStart(8)} ${gb(r.writtenBytes).padStart(9)} ${(r.diskCeilingMBps ? num(r.diskCeilingMBps, 0) : "none").padStart(8)} ${num(r.mbps, 0).padStart(8)} ${(r.diskCeilingMBps ? `${num((100 * r.mbps) / r.diskCeilingMBps, 0)}%` : "").padStart(11)}`,
    ),
  ];
}

function rowTable(rows: Row[], files: boolean): string[] {
  const w = Math.max(34, ...rows.map((r) => r.name.length + 1));
  return [
    `${pad("step", w)} ${"MB/s".padStart(8)}${files ? " files/s".padStart(9) : ""} ${"wall s".padStart(8)} ${"CPU s".padStart(8)} ${"RSS MB".padStart(8)}`,
    ...rows.map(
      (r) =>
        `${pad(r.name, w)} ${num(r.mbps, 0).padStart(8)}${files ? num(r.filesPerSec ?? Number.NaN, 0).padStart(9) : ""} ${num(r.wall, 2).padStart(8)} ${num(r.cpu, 2).padStart(8)} ${num(r.rssMB, 0).padStart(8)}`,
    ),
  ];
}

function ratioTable(rs: Ratio[]): string[] {
  if (!rs.length) return ["  (no peer ran: no ratios)"];
  const w = Math.max(...rs.map((r) => r.ferry.length)) + 1;
  const v = Math.max(...rs.map((r) => r.peer.length)) + 4;
  return [
    `${pad("ferry step", w)} ${pad("vs peer", v)} ${"speed ×".padStart(8)} ${"CPU ×".padStart(7)} ${"RSS ×".padStart(7)}`,
    ...rs.map(
      (r) =>
        `${pad(r.ferry, w)} ${pad(`vs ${r.peer}`, v)} ${num(r.speed, 2).padStart(8)} ${num(r.cpu, 2).padStart(7)} ${num(r.rss, 2).padStart(7)}`,
    ),
  ];
}

function metaLines(m: MetaSize, what: string): string[] {
  const line = (label: string, n: number, pct: number) =>
    `  ${pad(label, 44)} ${formatBytes(n).padStart(9)} ${`${pct.toFixed(3)}%`.padStart(8)}`;
  return [
    `${what}: ${m.indexEntries} index entries, ${formatBytes(m.dataBytes)} of data (target ≤ 0.2% each)`,
    line("origin catalog (with -wal/-shm)", m.catalogBytes, m.catalogPct),
    line(
      `ferry/INDEX on one drive (${m.indexReplicas} drives hold one)`,
      m.indexReplicaBytes,
      m.indexReplicaPct,
    ),
    line("index inside the data log (whole set)", m.indexInLogBytes, m.indexInLogPct),
  ];
}

async function main(): Promise<void> {
  const a = args(process.argv.slice(2));
  const work = join(a.dir, `ferry-bench-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    const key = join(work, "key.txt");
    const kg = spawnSync(process.execPath, [BIN, "keygen", "--out", key], { encoding: "utf8" });
    if (kg.status !== 0) throw new Error(`ferry keygen failed: ${kg.stderr}`);
    const ctx: Ctx = { work, key, rec: kg.stdout.trim() };
    const det = detectPeers(a.peers);
    for (const s of det.skipped) log(`peer ${s.peer} skipped: ${s.reason}`);
    const hasTime = spawnSync("sh", ["-c", "test -x /usr/bin/time"]).status === 0;
    if (!hasTime) log("no /usr/bin/time: CPU seconds and peak RSS are not measured (apt-get install time)");

    const out: Record<string, unknown> = {
      format: 2,
      machine: {
        cpus: cpus().length,
        cpu: cpus()[0]?.model ?? "",
        memGB: Math.round(totalmem() / 2 ** 30),
        node: process.version,
        platform: `${process.platform}-${process.arch}`,
      },
      tools: det.versions,
      skipped: det.skipped,
      runs: a.runs,
      cold: a.cold,
    };
    if (a.cold) coldCache([work]);
    const text: string[] = [];
    if (a.sections.has("main")) {
      const m = await mainSection(a, ctx, det.ready);
      Object.assign(out, {
        corpus: m.corpus,
        rows: m.rows,
        ratios: m.ratios,
        index: m.meta ?? null,
        disk: m.disk ?? null,
      });
      text.push(
        `corpus ${formatBytes(m.corpus.bytes)} in ${m.corpus.files} files; medians of ${a.runs} run(s); MB/s of source data${a.cold ? "; page cache emptied before every step (--cold)" : ""}`,
        ...rowTable(m.rows, false),
        "",
        "ratios (speed: ferry MB/s ÷ peer MB/s, > 1 means ferry is faster; CPU, RSS: ferry ÷ peer)",
        ...ratioTable(m.ratios),
      );
      if (m.disk && m.rows.some((r) => r.readBytes !== undefined))
        text.push("", ...diskTable(m.rows, m.disk, a.runs));
      if (m.meta) text.push("", ...metaLines(m.meta, "catalog and index after the main pack"));
    }
    if (a.sections.has("small")) {
      const s = smallSection(a, ctx, det.ready);
      out.small = {
        corpus: s.corpus,
        rows: s.rows,
        ratios: s.ratios,
        index: s.meta ?? null,
        targetFilesPerSec: 20_000,
      };
      text.push(
        "",
        `small files: ${s.corpus.files} files of 4–64 KB, ${formatBytes(s.corpus.bytes)} (target ≥ 20,000 files/s)`,
        ...rowTable(s.rows, true),
        ...(s.ratios.length ? ["", ...ratioTable(s.ratios)] : []),
      );
      if (s.meta) text.push("", ...metaLines(s.meta, "catalog and index after the small-files pack"));
    }
    if (a.sections.has("flat")) {
      const f = flatSection(a, ctx);
      out.flat = f;
      const [s0, s1] = f.sizes;
      text.push(
        "",
        `memory flatness: peak RSS on ${formatBytes(s0!.bytes)} vs ${formatBytes(s1!.bytes)} (target growth ≤ 15%)`,
        `${pad("step", 24)} ${"RSS MB".padStart(8)} ${"RSS MB".padStart(8)} ${"growth".padStart(8)}`,
        ...f.steps.map(
          (x) =>
            `${pad(x.step, 24)} ${num(x.rssMB[0]!, 0).padStart(8)} ${num(x.rssMB[1]!, 0).padStart(8)} ${`${num(x.growthPct, 1)}%`.padStart(8)}`,
        ),
      );
    }
    process.stdout.write(`${text.join("\n")}\n`);
    if (a.json) writeFileSync(a.json, `${JSON.stringify(out, null, 2)}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`bench failed: ${(e as Error).message}\n`);
  process.exitCode = 1;
});
