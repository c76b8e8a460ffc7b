/**
 * `npm run demo`: the whole trip on one machine. Packs a small mixed dataset onto 12
 * folder-drives in 4 bags (tolerating a lost bag), loses a bag, rots a drive of another
 * bag, verifies, unpacks, and proves the result identical to the source.
 */
import { readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCommand } from "../cli/main.js";
import type { CliIO } from "../cli/io.js";
import { compareTrees } from "./compare.js";
import { makeDemoDataset } from "./dataset.js";

const keep = process.argv.includes("--keep");
const io: CliIO = { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
const say = (s: string) => process.stdout.write(`\n\x1b[1m== ${s}\x1b[0m\n`);

async function ferry(args: string[], shown: string[]): Promise<number> {
  process.stdout.write(`$ ferry ${shown.join(" ")}\n`);
  const code = await runCommand(args, io);
  process.stdout.write(`(exit ${code})\n`);
  return code;
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const dir = await mkdtemp(join(tmpdir(), "ferry-demo-"));
  const src = join(dir, "dataset");
  const key = join(dir, "key.txt");
  const bags = ["alice", "bob", "carol", "dave"];
  const drives = bags.flatMap((b) =>
    [1, 2, 3].map((i) => ({ bag: b, path: join(dir, "drives", `${b}-${i}`) })),
  );
  const rel = (p: string) => p.replace(`${dir}/`, "");

  say("1. A dataset: spreadsheets, images, video, duplicates, nested and empty folders");
  const ds = makeDemoDataset(src, 7);
  process.stdout.write(`${ds.files} files, ${(ds.bytes / 1e6).toFixed(1)} MB in ${rel(src)}\n`);

  say("2. A key for the destination (it never travels with the drives)");
  const recipientOut: string[] = [];
  const sink = {
    write: (chunk: string) => {
      recipientOut.push(chunk);
      return true;
    },
  };
  const capture: CliIO = { ...io, stdout: sink as unknown as CliIO["stdout"] };
  process.stdout.write(`$ ferry keygen --out key.txt\n`);
  await runCommand(["keygen", "--out", key], capture);
  const recipient = recipientOut.join("").trim();
  process.stdout.write(`${recipient}\n`);

  say("3. Pack onto 12 drives carried by 4 couriers, surviving a whole lost bag plus one more bad drive");
  const driveArgs = drives.flatMap((d) => ["--drive", `${d.bag}=${d.path}`]);
  const code = await ferry(
    [
      "pack",
      src,
      ...driveArgs,
      "--tolerate",
      "bag+1",
      "--recipient",
      recipient,
      "--catalog",
      join(dir, "catalog.db"),
    ],
    [
      "pack",
      "dataset",
      "--drive alice=drives/alice-1 ... (12 drives)",
      "--tolerate",
      "bag+1",
      "--recipient",
      `${recipient.slice(0, 16)}…`,
    ],
  );
  if (code !== 0) throw new Error("pack failed");

  say("4. On the way: bob's bag is lost, and a drive in carol's bag rots");
  for (const d of drives.filter((x) => x.bag === "bob")) renameSync(d.path, `${d.path}.lost`);
  const rotten = drives.find((x) => x.bag === "carol")!;
  const blocks = join(rotten.path, "ferry", "blocks");
  const seg = join(blocks, readdirSync(blocks).sort()[0]!);
  const bytes = readFileSync(seg);
  for (let i = 0; i < 64; i++) bytes[1000 + i * 997]! ^= 0xff;
  writeFileSync(seg, bytes);
  process.stdout.write(`bob's 3 drives are gone; 64 bytes flipped on ${rel(rotten.path)}\n`);

  say("5. At the data center: verify every byte of the drives that arrived");
  const arrived = drives.filter((d) => d.bag !== "bob").map((d) => d.path);
  const v = await ferry(
    ["verify", ...arrived, "--full", "--identity", key],
    ["verify", "drives/* --full --identity key.txt"],
  );
  if (v !== 3) throw new Error(`verify should report degraded-but-recoverable (3), got ${v}`);

  say("6. Unpack: missing and damaged blocks are rebuilt from parity");
  const out = join(dir, "restored");
  const u = await ferry(
    ["unpack", ...arrived, "--to", out, "--identity", key],
    ["unpack", "drives/* --to restored --identity key.txt"],
  );
  if (u !== 0) throw new Error("unpack failed");

  say("7. Proof: the restored tree equals the source (content, modes, mtimes, links, empty folders)");
  const diffs = compareTrees(src, out);
  if (diffs.length) {
    process.stdout.write(`${diffs.slice(0, 10).join("\n")}\n`);
    throw new Error(`${diffs.length} differences`);
  }
  process.stdout.write(`identical: every file byte-exact, despite a lost bag and a rotten drive ✓\n`);
  process.stdout.write(
    `\ndemo finished in ${((Date.now() - t0) / 1000).toFixed(1)}s${keep ? `; files kept in ${dir}` : ""}\n`,
  );
  if (!keep) await rm(dir, { recursive: true, force: true });
}

main().catch((e) => {
  process.stderr.write(`demo failed: ${(e as Error).message}\n`);
  process.exitCode = 1;
});
