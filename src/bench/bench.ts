/**
 * `npm run bench [-- --size 3GiB --runs 3 --json out.json]`: times ferry's pack, verify --full,
 * unpack and unpack with a bag missing on a seeded corpus shaped like training data, next to
 * the tools installed here (cp -r, tar | zstd -1 | age), and S3 ingest into a local S3 server
 * next to folder unpack. Each step runs as its own process; wall time, CPU seconds and peak RSS
 * come from /usr/bin/time when present. Medians of --runs are reported as a table and JSON.
 *
 * Not a test: numbers swing on a shared machine; compare side by side within one run.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseBytes } from "../plan/units.js";
import { makeCorpus } from "./corpus.js";

const BIN = fileURLToPath(new URL("../../bin/ferry.js", import.meta.url));

interface Args {
  size: number;
  runs: number;
  json: string | null;
  dir: string;
  s3: boolean;
}

function args(argv: string[]): Args {
  const get = (k: string) => {
    const i = argv.indexOf(k);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const smoke = argv.includes("--smoke");
  return {
    size: parseBytes(get("--size") ?? (smoke ? "24 MiB" : "1 GiB"), "--size"),
    runs: Number(get("--runs") ?? (smoke ? 1 : 3)),
    json: get("--json") ?? null,
    dir: get("--dir") ?? tmpdir(),
    s3: !argv.includes("--no-s3"),
  };
}

interface Sample {
  wall: number;
  cpu: number;
  rssMB: number;
}

function timed(cmd: string, argv: string[], env: NodeJS.ProcessEnv = {}): Sample {
  const useTime = existsSync("/usr/bin/time");
  const t0 = process.hrtime.bigint();
  const r = useTime
    ? spawnSync("/usr/bin/time", ["-f", "%e %U %S %M", cmd, ...argv], {
        encoding: "utf8",
        env: { ...process.env, ...env },
      })
    : spawnSync(cmd, argv, { encoding: "utf8", env: { ...process.env, ...env } });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0 && r.status !== 3)
    throw new Error(`${cmd} ${argv.join(" ")} failed (${r.status}): ${r.stderr.slice(-500)}`);
  if (!useTime) return { wall, cpu: Number.NaN, rssMB: Number.NaN };
  const last = r.stderr.trim().split("\n").pop()!.split(" ").map(Number);
  return { wall, cpu: (last[1] ?? 0) + (last[2] ?? 0), rssMB: (last[3] ?? 0) / 1024 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const a = args(process.argv.slice(2));
  const work = join(a.dir, `ferry-bench-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const src = join(work, "corpus");
  process.stderr.write(`corpus: generating ${(a.size / 1e6).toFixed(0)} MB in ${src}\n`);
  const corpus = makeCorpus(src, a.size);
  const key = join(work, "key.txt");
  const rec = spawnSync(process.execPath, [BIN, "keygen", "--out", key], { encoding: "utf8" }).stdout.trim();
  const bags = ["a", "b", "c", "d"];
  const results = new Map<string, Sample[]>();
  const add = (name: string, s: Sample) => results.set(name, [...(results.get(name) ?? []), s]);
  const ferry = (argv: string[], env: NodeJS.ProcessEnv = {}) =>
    timed(process.execPath, [BIN, ...argv, "--quiet"], env);
  const have = (tool: string) => spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;

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
      process.stderr.write(`s3: no local S3 server (${(e as Error).message}); skipping ingest\n`);
    }
  }

  for (let run = 0; run < a.runs; run++) {
    process.stderr.write(`run ${run + 1}/${a.runs}\n`);
    for (const fsync of [true, false]) {
      const dir = join(work, `drives-${run}-${fsync}`);
      const driveArgs = bags.flatMap((b) =>
        [1, 2, 3].flatMap((i) => ["--drive", `${b}=${join(dir, `${b}${i}`)}`]),
      );
      const name = fsync ? "ferry pack (fsync)" : "ferry pack (--unsafe-no-fsync)";
      add(
        name,
        ferry([
          "pack",
          src,
          ...driveArgs,
          "--tolerate",
          "bag",
          "--recipient",
          rec,
          "--catalog",
          join(work, `cat-${run}-${fsync}.db`),
          ...(fsync ? [] : ["--unsafe-no-fsync"]),
        ]),
      );
      if (fsync) continue;
      const drives = readdirSync(dir)
        .sort()
        .map((d) => join(dir, d));
      add("ferry verify --full", ferry(["verify", ...drives, "--full", "--restart"]));
      const out = join(work, `out-${run}`);
      add("ferry unpack", ferry(["unpack", ...drives, "--to", out, "--identity", key]));
      rmSync(out, { recursive: true, force: true });
      add(
        "ferry unpack, a bag missing",
        ferry([
          "unpack",
          ...drives.filter((d) => !d.endsWith("/b1") && !d.endsWith("/b2") && !d.endsWith("/b3")),
          "--to",
          out,
          "--identity",
          key,
        ]),
      );
      rmSync(out, { recursive: true, force: true });
      if (store) {
        const b = await bucket();
        add(
          "ferry unpack → S3 (local s3rver)",
          ferry(
            [
              "unpack",
              ...drives,
              "--to",
              `s3://${b}/data`,
              "--identity",
              key,
              "--s3-endpoint",
              store.endpoint,
            ],
            store.env,
          ),
        );
      }
      rmSync(dir, { recursive: true, force: true });
    }
    rmSync(join(work, `drives-${run}-true`), { recursive: true, force: true });
    const cpOut = join(work, "cp-out");
    add("cp -r", timed("cp", ["-r", src, cpOut]));
    rmSync(cpOut, { recursive: true, force: true });
    if (have("zstd") && have("age")) {
      const recipient = rec;
      add(
        "tar | zstd -1 | age",
        timed("sh", [
          "-c",
          `tar -C '${src}' -cf - . | zstd -1 -q -T1 | age -r ${recipient} > '${join(work, "t.tar.zst.age")}'`,
        ]),
      );
      rmSync(join(work, "t.tar.zst.age"), { force: true });
    }
  }
  await store?.stop();

  const rows = [...results.entries()].map(([name, ss]) => {
    const wall = median(ss.map((s) => s.wall));
    return {
      name,
      mbps: corpus.bytes / 1e6 / wall,
      wall,
      cpu: median(ss.map((s) => s.cpu)),
      rssMB: median(ss.map((s) => s.rssMB)),
      runs: ss.length,
    };
  });
  const tar = rows.find((r) => r.name.startsWith("tar"));
  const lines = [
    `corpus ${(corpus.bytes / 1e6).toFixed(0)} MB in ${corpus.files} files; medians of ${a.runs} run(s); MB/s of source data`,
    `${"step".padEnd(34)} ${"MB/s".padStart(8)} ${"wall s".padStart(8)} ${"cpu s".padStart(8)} ${"RSS MB".padStart(8)}${tar ? `  ${"vs tar|zstd|age".padStart(16)}` : ""}`,
    ...rows.map(
      (r) =>
        `${r.name.padEnd(34)} ${r.mbps.toFixed(0).padStart(8)} ${r.wall.toFixed(2).padStart(8)} ${r.cpu.toFixed(2).padStart(8)} ${r.rssMB.toFixed(0).padStart(8)}${tar ? `  ${(r.mbps / tar.mbps).toFixed(2).padStart(15)}×` : ""}`,
    ),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  if (a.json) writeFileSync(a.json, `${JSON.stringify({ corpus, runs: a.runs, rows }, null, 2)}\n`);
  rmSync(work, { recursive: true, force: true });
}

main().catch((e) => {
  process.stderr.write(`bench failed: ${(e as Error).message}\n`);
  process.exitCode = 1;
});
