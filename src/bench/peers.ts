/**
 * The tools ferry is compared with, each run under the same conditions as ferry: one process
 * (or one shell pipeline) per step, the same corpus, the same disk. restic and borg encrypt with
 * a password from the environment (RESTIC_PASSWORD, BORG_PASSPHRASE); their caches live in the
 * bench's work folder and start empty every run. Pack-side steps are timed twice: as is, and with
 * a final `sync` (see Results.addWithSync), since ferry's default pack fsyncs and the peers don't
 * all do.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type Results, settle, settleAfterDeletes, timedSh } from "./measure.js";

export type PeerName = "cp" | "tar" | "restic" | "borg";
export const PEERS: PeerName[] = ["cp", "tar", "restic", "borg"];

/** Step names, shared by the runners, the ratio table and the smoke test. */
export const STEP = {
  cp: "cp -r",
  tar: "tar | zstd -1 | age",
  untar: "age -d | zstd -d | tar x",
  resticBackup: "restic backup",
  resticCheck: "restic check --read-data",
  resticRestore: "restic restore",
  borgCreate: "borg create",
  borgCheck: "borg check --verify-data",
  borgExtract: "borg extract",
} as const;

/** Password the peers encrypt with (the value is irrelevant to speed; scrypt/argon run once at init). */
const PASSWORD = "ferry-bench";

const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
const have = (tool: string) => spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;
const firstLine = (cmd: string, argv: string[]) =>
  (spawnSync(cmd, argv, { encoding: "utf8" }).stdout ?? "").trim().split("\n")[0] ?? "";

/** Which peers can run here: versions of those found, and why the others are skipped. */
export function detectPeers(wanted: PeerName[]): {
  ready: Set<PeerName>;
  versions: Record<string, string>;
  skipped: { peer: PeerName; reason: string }[];
} {
  const ready = new Set<PeerName>();
  const versions: Record<string, string> = {};
  const skipped: { peer: PeerName; reason: string }[] = [];
  const setup = "not installed (npm run bench:setup installs it)";
  for (const p of wanted) {
    if (p === "cp") {
      ready.add(p);
    } else if (p === "tar") {
      const miss = ["tar", "zstd", "age"].filter((t) => !have(t));
      if (miss.length) skipped.push({ peer: p, reason: `${miss.join(", ")} ${setup}` });
      else {
        ready.add(p);
        versions.zstd = firstLine("zstd", ["--version"]);
        versions.age = firstLine("age", ["--version"]);
        versions.tar = firstLine("tar", ["--version"]);
      }
    } else if (p === "restic") {
      if (!have("restic")) skipped.push({ peer: p, reason: `restic ${setup}` });
      else {
        ready.add(p);
        versions.restic = firstLine("restic", ["version"]);
      }
    } else if (p === "borg") {
      if (!have("borg")) skipped.push({ peer: p, reason: `borg ${setup}` });
      else {
        const v = firstLine("borg", ["--version"]);
        // borg 2 renamed the commands (repo-create, -r REPO); the bench drives the 1.x CLI.
        if (/^borg 1\./.test(v)) {
          ready.add(p);
          versions.borg = v;
        } else skipped.push({ peer: p, reason: `${v || "borg"}: the bench drives borg 1.x only` });
      }
    }
  }
  return { ready, versions, skipped };
}

export interface PeerContext {
  /** Scratch folder of this run (repos, archives, restore targets). */
  work: string;
  /** age recipient and identity file (the same key ferry packs to). */
  recipient: string;
  identity: string;
}

/** What to run besides the pack-side step. */
export interface PeerSteps {
  restore: boolean;
  check: boolean;
  /** Run the restore after {@link settleAfterDeletes} (the many-small-files section). */
  restoreAfterDeletes?: boolean;
}

/** Setup steps (repo init) are run untimed; a failure there is an error like any step's. */
function untimed(line: string, env: NodeJS.ProcessEnv): void {
  const r = spawnSync("sh", ["-c", line], { encoding: "utf8", env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`${line} failed (${r.status}): ${(r.stderr ?? "").slice(-800)}`);
}

/** Runs one peer's steps on `src` and records them in `res`. */
export function runPeer(p: PeerName, res: Results, src: string, ctx: PeerContext, steps: PeerSteps): void {
  const w = join(ctx.work, `peer-${p}`);
  rmSync(w, { recursive: true, force: true });
  mkdirSync(w, { recursive: true });
  const out = join(w, "out");
  const step = (name: string, line: string, env: NodeJS.ProcessEnv = {}) => {
    settle();
    res.add(name, timedSh(line, env), line);
  };
  const restoreStep = (name: string, line: string, env: NodeJS.ProcessEnv = {}) => {
    if (steps.restoreAfterDeletes) settleAfterDeletes();
    else settle();
    res.add(name, timedSh(line, env), line);
  };
  const packStep = (name: string, line: string, env: NodeJS.ProcessEnv = {}) => {
    settle();
    res.addWithSync(name, timedSh(line, env), line);
  };
  try {
    if (p === "cp") {
      step(STEP.cp, `cp -r ${q(src)} ${q(out)}`);
    } else if (p === "tar") {
      const file = join(w, "t.tar.zst.age");
      packStep(STEP.tar, `tar -C ${q(src)} -cf - . | zstd -1 -q -T1 | age -r ${ctx.recipient} > ${q(file)}`);
      if (steps.restore)
        restoreStep(
          STEP.untar,
          `mkdir -p ${q(out)} && age -d -i ${q(ctx.identity)} < ${q(file)} | zstd -d -q | tar -C ${q(out)} -xf -`,
        );
    } else if (p === "restic") {
      const repo = join(w, "repo");
      const env = { RESTIC_PASSWORD: PASSWORD, RESTIC_CACHE_DIR: join(w, "cache") };
      untimed(`restic -r ${q(repo)} init --repository-version 2 -q`, env);
      packStep(STEP.resticBackup, `cd ${q(src)} && restic -r ${q(repo)} backup -q --compression auto .`, env);
      if (steps.check) step(STEP.resticCheck, `restic -r ${q(repo)} check --read-data -q`, env);
      if (steps.restore)
        restoreStep(STEP.resticRestore, `restic -r ${q(repo)} restore latest --target ${q(out)} -q`, env);
    } else if (p === "borg") {
      const repo = join(w, "repo");
      const env = { BORG_PASSPHRASE: PASSWORD, BORG_BASE_DIR: join(w, "home") };
      untimed(`borg init --encryption=repokey-blake2 ${q(repo)} 2>/dev/null`, env);
      packStep(
        STEP.borgCreate,
        `cd ${q(src)} && borg create --compression zstd,1 ${q(`${repo}::bench`)} .`,
        env,
      );
      if (steps.check) step(STEP.borgCheck, `borg check --verify-data ${q(repo)}`, env);
      if (steps.restore)
        restoreStep(
          STEP.borgExtract,
          `mkdir -p ${q(out)} && cd ${q(out)} && borg extract ${q(`${repo}::bench`)}`,
          env,
        );
    }
  } finally {
    rmSync(w, { recursive: true, force: true });
  }
}

/** Which peer step each ferry step is compared with, "+ sync" where ferry is durable. */
export const RATIO_PAIRS: [string, string[]][] = (() => {
  const packNoSync = [STEP.resticBackup, STEP.borgCreate, STEP.tar];
  const restore = [STEP.resticRestore, STEP.borgExtract, STEP.untar];
  const check = [STEP.resticCheck, STEP.borgCheck];
  return [
    ["ferry pack (fsync)", [...packNoSync.map((s) => `${s} + sync`), ...packNoSync]],
    ["ferry pack (--unsafe-no-fsync)", packNoSync],
    ["ferry verify --full", check],
    ["ferry verify --full --identity", check],
    ["ferry unpack", restore],
    ["ferry unpack, a bag missing", restore],
  ];
})();
