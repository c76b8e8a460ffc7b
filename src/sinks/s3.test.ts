/**
 * Object-store ingest against a real S3-protocol server (s3rver, started here; or the store in
 * FERRY_TEST_S3_*): drives → bucket with a bag missing, bucket → drives → folder, kill -9 and
 * resume, three workers in parallel, a fault-injecting proxy, and clear permanent errors.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { lstatSync, readFileSync, readlinkSync } from "node:fs";
import { mkdir, symlink, utimes, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { HeadObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { Blake3Hasher } from "@napi-rs/blake-hash";
import { FerryError, keygen, pack, parseS3Url, parseWorkerSpec, Splitter, unpack } from "../index.js";
import * as tk from "../pipeline/testkit.js";
import * as st from "./s3_testkit.js";

const here = dirname(fileURLToPath(import.meta.url));
const FERRY = join(here, "..", "..", "bin", "ferry.js");
const key = keygen();
const unlock = { identities: [key.identity] };
const MiB = 1 << 20;

function blake3(b: Buffer): string {
  const h = new Blake3Hasher();
  h.update(b);
  return h.digestBuffer().toString("hex");
}

/** Files of the test dataset: many small ones, a few multipart-sized ones, a symlink. */
async function makeSource(root: string): Promise<Map<string, Buffer>> {
  const rand = tk.rng(42);
  const files = new Map<string, Buffer>();
  const put = async (rel: string, data: Buffer, mode = 0o644) => {
    await mkdir(dirname(join(root, rel)), { recursive: true });
    await writeFile(join(root, rel), data, { mode });
    await utimes(join(root, rel), 1_700_000_000 + files.size, 1_700_000_000 + files.size);
    files.set(rel, data);
  };
  for (let i = 0; i < 40; i++)
    await put(`shards/part-${String(i).padStart(3, "0")}.bin`, tk.randomData(rand, 1000 + i * 977));
  await put("big/model.ckpt", tk.randomData(rand, 12 * MiB + 12345));
  await put("big/exact-two-parts.bin", tk.randomData(rand, 10 * MiB));
  await put("empty.txt", Buffer.alloc(0));
  await put("données/日本語 ✓.csv", Buffer.from("a,b\n1,2\n".repeat(500)));
  await put("bin/run.sh", Buffer.from("#!/bin/sh\necho hi\n"), 0o755);
  await symlink("../shards/part-000.bin", join(root, "bin/link"));
  return files;
}

async function listKeys(c: S3Client, bucket: string, prefix: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let token: string | undefined;
  do {
    const r = await c.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of r.Contents ?? []) out.set(o.Key!, o.Size ?? 0);
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token);
  return out;
}

/** Checks every source file is an object with its bytes and ferry metadata. */
async function checkBucket(
  c: S3Client,
  bucket: string,
  prefix: string,
  files: Map<string, Buffer>,
): Promise<void> {
  const keys = await listKeys(c, bucket, `${prefix}/`);
  assert.equal(keys.size, files.size + 1, "one object per file plus the symlink");
  for (const [rel, data] of files) {
    const k = `${prefix}/${rel}`;
    assert.ok((await st.getObject(c, bucket, k)).equals(data), `${k} equals its source`);
    const h = await c.send(new HeadObjectCommand({ Bucket: bucket, Key: k }));
    assert.equal(h.Metadata?.["ferry-blake3"], blake3(data), `${k} ferry-blake3`);
    assert.match(h.Metadata?.["ferry-mtime-ns"] ?? "", /^17000000\d\d000000000$/);
    assert.equal(h.Metadata?.["ferry-mode"], rel === "bin/run.sh" ? "0755" : "0644");
    assert.match(h.Metadata?.["ferry-set"] ?? "", /^[0-9a-f]{32}$/);
  }
  const link = await c.send(new HeadObjectCommand({ Bucket: bucket, Key: `${prefix}/bin/link` }));
  assert.equal(link.Metadata?.["ferry-symlink-target"], "../shards/part-000.bin");
}

/** Runs the ferry CLI as a child process. */
function ferry(
  args: string[],
  env: NodeJS.ProcessEnv,
): {
  proc: ChildProcess;
  done: Promise<{ code: number | null; signal: string | null; out: string; err: string }>;
} {
  const proc = spawn(process.execPath, [FERRY, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  proc.stdout!.on("data", (d: Buffer) => {
    out += d;
  });
  proc.stderr!.on("data", (d: Buffer) => {
    err += d;
  });
  const done = new Promise<{ code: number | null; signal: string | null; out: string; err: string }>((r) =>
    proc.on("close", (code, signal) => r({ code, signal, out, err })),
  );
  return { proc, done };
}

describe("S3 ingest against a real S3-protocol server", () => {
  let dir = "";
  let store: st.TestStore;
  let c: S3Client;
  let bucket = "";
  let files: Map<string, Buffer>;
  let present: string[] = [];
  let idFile = "";
  const settings = () => ({
    endpoint: store.endpoint,
    credentials: store.credentials,
    region: store.region,
    partSize: 5 * MiB,
    retryBaseMs: 20,
  });

  before(async () => {
    dir = await tk.tempDir("ferry-s3-");
    store = await st.startStore(join(dir, "s3rver"));
    c = st.client(store);
    bucket = await st.newBucket(c, "ingest");
    const src = join(dir, "src");
    files = await makeSource(src);
    const drives = tk.driveSpecs(dir, 3, 2); // 3 bags of 2: tolerate a bag
    await pack(
      tk.packOpts(src, drives, join(dir, "catalog.db"), { recipients: [key.recipient], tolerate: "bag" }),
    );
    present = drives.filter((d) => d.bag !== "bagb").map((d) => d.path); // a whole bag missing
    idFile = join(dir, "key.txt");
    await writeFile(idFile, `${key.identity}\n`);
  });
  after(async () => {
    c?.destroy();
    await store?.stop();
    await tk.removeDir(dir);
  });

  test("drives → bucket with a whole bag missing: every object equals its file, metadata present", async () => {
    const events: string[] = [];
    const r = await unpack({
      drives: present,
      to: `s3://${bucket}/one`,
      unlock,
      s3: settings(),
      onEvent: (e) => events.push(e.type),
    });
    assert.equal(r.lost.length, 0);
    assert.equal(r.files, files.size);
    assert.equal(r.symlinks, 1);
    assert.ok(r.repairedStripes > 0, "a bag was missing, so stripes were rebuilt");
    assert.equal(r.s3?.uploaded, files.size + 1);
    assert.equal(r.s3?.alreadyThere, 0);
    await checkBucket(c, bucket, "one", files);
    // Idempotent: a second run uploads nothing.
    const again = await unpack({ drives: present, to: `s3://${bucket}/one`, unlock, s3: settings() });
    assert.equal(again.s3?.uploaded, 0);
    assert.equal(again.s3?.alreadyThere, files.size + 1);
  });

  test("bucket → drives → folder is byte-exact (through a proxy dropping and refusing requests)", async () => {
    const proxy = await new st.FaultProxy(store.endpoint).start();
    proxy.policy = ({ n }) => (n % 7 === 3 ? "503" : n % 11 === 5 ? "drop" : null);
    const drives = tk.flatDrives(join(dir, "back"), 3);
    const retries: string[] = [];
    try {
      const r = await pack({
        ...tk.packOpts(`s3://${bucket}/one`, drives, join(dir, "catalog-back.db"), {
          recipients: [key.recipient],
        }),
        s3: { ...settings(), endpoint: proxy.endpoint, partSize: 1 * MiB },
        onEvent: (e) => e.type === "retry" && retries.push(e.op),
      });
      assert.equal(r.stats.files, files.size);
      assert.equal(r.stats.symlinks, 1);
    } finally {
      await proxy.stop();
    }
    assert.ok(retries.length > 0, "faults were retried and reported");
    const out = join(dir, "back-out");
    const u = await unpack({ drives: drives.slice(0, 2).map((d) => d.path), to: out, unlock });
    assert.equal(u.lost.length, 0);
    for (const [rel, data] of files) assert.ok(readFileSync(join(out, rel)).equals(data), rel);
    assert.equal(readlinkSync(join(out, "bin/link")), "../shards/part-000.bin");
    assert.equal(lstatSync(join(out, "bin/run.sh")).mode & 0o777, 0o755);
  });

  test("kill -9 mid-ingest, rerun: only the missing objects are uploaded", async () => {
    const proxy = await new st.FaultProxy(store.endpoint).start();
    const env = { ...store.env, FERRY_S3_PART_SIZE: String(5 * MiB) };
    const args = [
      "unpack",
      ...present,
      "--to",
      `s3://${bucket}/killed`,
      "--identity",
      idFile,
      "--s3-endpoint",
      proxy.endpoint,
      "--s3-concurrency",
      "2",
      "--quiet",
    ];
    try {
      const run = ferry(args, env);
      await new Promise<void>((resolve) => {
        proxy.onRequest = () => {
          if (proxy.objectWrites(bucket).length >= 12) {
            run.proc.kill("SIGKILL");
            resolve();
          }
        };
        void run.done.then(() => resolve());
      });
      const first = await run.done;
      assert.equal(first.signal, "SIGKILL", `killed mid-ingest (${first.err})`);
      // Requests the killed process had already sent (a multipart completion, say) may still
      // finish in the store: let them settle before deciding what is complete.
      for (let t = 0; t < 50 && proxy.seen.some((s) => s.status === 0 && !s.fault); t++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, 300));
      // What is complete now, by size and hash.
      const complete = new Set<string>();
      for (const [k, size] of await listKeys(c, bucket, "killed/")) {
        const rel = k.slice("killed/".length);
        const h = await c.send(new HeadObjectCommand({ Bucket: bucket, Key: k }));
        const data = files.get(rel);
        if (
          rel === "bin/link" ||
          (data && data.length === size && h.Metadata?.["ferry-blake3"] === blake3(data))
        )
          complete.add(k);
      }
      assert.ok(
        complete.size >= 10 && complete.size < files.size + 1,
        `some objects done (${complete.size})`,
      );
      proxy.seen.length = 0;
      proxy.onRequest = null;
      const second = await ferry([...args, "--json"], env).done;
      assert.equal(second.code, 0, second.err);
      const written = proxy.objectWrites(bucket);
      assert.equal(new Set(written).size, written.length, "no object written twice");
      const all = [...files.keys(), "bin/link"].map((r) => `killed/${r}`);
      assert.deepEqual(written.sort(), all.filter((k) => !complete.has(k)).sort());
      const summary = JSON.parse(second.out.trim().split("\n").pop()!);
      assert.equal(summary.s3.alreadyThere, complete.size);
    } finally {
      await proxy.stop();
    }
    await checkBucket(c, bucket, "killed", files);
  });

  test("three --worker I/3 processes in parallel give the same bucket as one worker, no object written twice", async () => {
    const proxy = await new st.FaultProxy(store.endpoint).start();
    try {
      const runs = [0, 1, 2].map(
        (i) =>
          ferry(
            [
              "unpack",
              ...present,
              "--to",
              `s3://${bucket}/three`,
              "--identity",
              idFile,
              "--s3-endpoint",
              proxy.endpoint,
              "--worker",
              `${i}/3`,
              "--json",
            ],
            store.env,
          ).done,
      );
      const results = await Promise.all(runs);
      const shares = results.map((r) => {
        assert.equal(r.code, 0, r.err);
        return JSON.parse(r.out.trim().split("\n").pop()!).s3;
      });
      assert.ok(
        shares.every((s) => s.uploaded > 0),
        "every worker had a share",
      );
      assert.equal(
        shares.reduce((a, s) => a + s.uploaded, 0),
        files.size + 1,
      );
      const written = proxy.objectWrites(bucket);
      assert.equal(written.length, files.size + 1);
      assert.equal(new Set(written).size, written.length, "no object written twice");
    } finally {
      await proxy.stop();
    }
    await checkBucket(c, bucket, "three", files);
    // Same objects and metadata as the single-worker ingest.
    for (const rel of [...files.keys(), "bin/link"]) {
      const a = await c.send(new HeadObjectCommand({ Bucket: bucket, Key: `one/${rel}` }));
      const b = await c.send(new HeadObjectCommand({ Bucket: bucket, Key: `three/${rel}` }));
      assert.deepEqual(b.Metadata, a.Metadata, rel);
      assert.equal(b.ContentLength, a.ContentLength, rel);
    }
  });

  test("503s, dropped connections, slow answers and lost responses: ingest still completes correctly", async () => {
    const proxy = await new st.FaultProxy(store.endpoint).start();
    proxy.slowMs = 1500;
    const faults: st.Fault[] = ["503", "drop", "slow", "reset-response"];
    proxy.policy = ({ n }) => (n % 5 === 2 ? faults[Math.floor(n / 5) % 4]! : null);
    const retries: string[] = [];
    try {
      const r = await unpack({
        drives: present,
        to: `s3://${bucket}/faulty`,
        unlock,
        s3: { ...settings(), endpoint: proxy.endpoint, requestTimeoutMs: 1000, concurrency: 4 },
        onEvent: (e) => e.type === "retry" && retries.push(e.error),
      });
      assert.equal(r.lost.length, 0);
      assert.ok((r.s3?.retries ?? 0) >= 4, `retried (${r.s3?.retries})`);
      const seenFaults = new Set(proxy.seen.map((s) => s.fault).filter(Boolean));
      assert.deepEqual([...seenFaults].sort(), [...faults].sort());
      assert.ok(
        proxy.seen.some((s) => s.query.includes("uploadId")),
        "multipart went through the faults too",
      );
      const writes = proxy.seen.filter(
        (s) => s.method === "PUT" || (s.method === "POST" && s.query.includes("uploads")),
      );
      assert.ok(writes.length > 0);
      for (const w of writes)
        assert.ok(w.checksum, `${w.method} ${w.key}${w.query} carries a SHA-256 checksum`);
    } finally {
      await proxy.stop();
    }
    assert.ok(
      retries.some((e) => /SlowDown|503/.test(e)),
      retries.join("; "),
    );
    await checkBucket(c, bucket, "faulty", files);
  });

  test("a multipart completion whose answer is lost is recognised as done, not failed", async () => {
    const proxy = await new st.FaultProxy(store.endpoint).start();
    let hit = 0;
    // Every completion's response is lost once: the store finished the object, the client never heard.
    const answered = new Set<string>();
    proxy.policy = ({ method, path, query }) => {
      if (method !== "POST" || !query.includes("uploadId") || answered.has(path)) return null;
      answered.add(path);
      hit++;
      return "reset-response";
    };
    try {
      const r = await unpack({
        drives: present,
        to: `s3://${bucket}/lost-complete`,
        unlock,
        s3: { ...settings(), endpoint: proxy.endpoint, requestTimeoutMs: 2000, concurrency: 2 },
      });
      assert.equal(r.lost.length, 0);
    } finally {
      await proxy.stop();
    }
    assert.ok(hit > 0, "a completion lost its answer");
    await checkBucket(c, bucket, "lost-complete", files);
  });

  test("bad credentials and a missing bucket stop with one clear E_S3 line", async () => {
    const bad = { ...settings(), credentials: { accessKeyId: "WRONG", secretAccessKey: "WRONG" } };
    const e1 = await tk.rejectsWith(
      unpack({ drives: present, to: `s3://${bucket}/x`, unlock, s3: bad }),
      "E_S3",
    );
    assert.match(e1.message, new RegExp(`credentials were refused by bucket ${bucket}`));
    assert.match(e1.hint ?? "", /AWS_ACCESS_KEY_ID/);
    const e2 = await tk.rejectsWith(
      unpack({ drives: present, to: "s3://no-such-bucket-here/x", unlock, s3: settings() }),
      "E_S3",
    );
    assert.match(e2.message, /bucket no-such-bucket-here .*does not exist/);
    const e3 = await tk.rejectsWith(
      pack({
        ...tk.packOpts("s3://no-such-bucket-here/x", tk.flatDrives(join(dir, "nb"), 2), join(dir, "c3.db"), {
          recipients: [key.recipient],
          tolerate: "1",
        }),
        s3: settings(),
      }),
      "E_S3",
    );
    assert.match(e3.message, /does not exist/);
    const cli = await ferry(
      [
        "unpack",
        ...present,
        "--to",
        "s3://no-such-bucket-here/x",
        "--identity",
        idFile,
        "--s3-endpoint",
        store.endpoint,
      ],
      store.env,
    ).done;
    assert.equal(cli.code, 1);
    assert.match(
      cli.err,
      /^ferry: bucket no-such-bucket-here at http:\/\/127\.0\.0\.1:\d+ does not exist \[E_S3\]\n {2}hint: /,
    );
    assert.equal(cli.err.trim().split("\n").length, 2, cli.err);
  });
});

describe("worker split and S3 URLs", () => {
  test("--worker I/N, env, and the balanced split", () => {
    assert.deepEqual(parseWorkerSpec("2/3", undefined, {}), { index: 2, count: 3 });
    assert.deepEqual(parseWorkerSpec("env", "4", { JOB_COMPLETION_INDEX: "3" }), { index: 3, count: 4 });
    assert.deepEqual(
      parseWorkerSpec("env", undefined, {
        SLURM_ARRAY_TASK_ID: "5",
        SLURM_ARRAY_TASK_COUNT: "5",
        SLURM_ARRAY_TASK_MIN: "1",
      }),
      { index: 4, count: 5 },
    );
    for (const bad of ["3/3", "x", "1/0"])
      assert.throws(
        () => parseWorkerSpec(bad, undefined, {}),
        (e) => FerryError.is(e, "E_USAGE"),
      );
    assert.throws(
      () => parseWorkerSpec("env", undefined, {}),
      (e) => FerryError.is(e, "E_USAGE"),
    );
    const s = new Splitter(3);
    const bins = [100, 100, 100, 10_000_000, 5, 5, 5].map((b) => s.assign(b));
    assert.deepEqual(bins, [0, 1, 2, 0, 1, 2, 1]);
  });

  test("s3:// URLs", () => {
    assert.deepEqual(parseS3Url("s3://train-data/a/b/"), {
      bucket: "train-data",
      prefix: "a/b",
      url: "s3://train-data/a/b/",
    });
    assert.deepEqual(parseS3Url("s3://abc"), { bucket: "abc", prefix: "", url: "s3://abc" });
    for (const bad of ["s3://ab/x", "s3://Upper/x", "s3:///x"])
      assert.throws(
        () => parseS3Url(bad),
        (e) => FerryError.is(e, "E_USAGE"),
      );
  });
});
