/**
 * Test helpers for the object-store tests: a real S3-protocol server (s3rver in a child
 * process, or the store named by FERRY_TEST_S3_ENDPOINT / FERRY_TEST_S3_ACCESS_KEY /
 * FERRY_TEST_S3_SECRET_KEY / FERRY_TEST_S3_REGION, so the same suite runs against MinIO), and
 * a fault-injecting HTTP proxy that counts requests.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { type ClientRequest, createServer, request, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CreateBucketCommand, GetObjectCommand, S3Client } from "@aws-sdk/client-s3";

const here = dirname(fileURLToPath(import.meta.url));

export interface TestStore {
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  region: string;
  /** Env for child ferry processes. */
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

/** Starts s3rver on 127.0.0.1 (or uses the configured store). */
export async function startStore(dataDir: string): Promise<TestStore> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  const ext = process.env.FERRY_TEST_S3_ENDPOINT;
  const mk = (
    endpoint: string,
    accessKeyId: string,
    secretAccessKey: string,
    region: string,
    stop: () => Promise<void>,
  ): TestStore => ({
    endpoint,
    credentials: { accessKeyId, secretAccessKey },
    region,
    env: {
      AWS_ACCESS_KEY_ID: accessKeyId,
      AWS_SECRET_ACCESS_KEY: secretAccessKey,
      AWS_REGION: region,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    },
    stop,
  });
  if (ext) {
    return mk(
      ext,
      process.env.FERRY_TEST_S3_ACCESS_KEY ?? "",
      process.env.FERRY_TEST_S3_SECRET_KEY ?? "",
      process.env.FERRY_TEST_S3_REGION ?? "us-east-1",
      async () => undefined,
    );
  }
  const proc: ChildProcess = spawn(
    process.execPath,
    ["--openssl-legacy-provider", join(here, "testdata", "s3rver_main.js"), dataDir],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    proc.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    proc.on("exit", (c) => reject(new Error(`s3rver exited with ${c}`)));
  });
  return mk(`http://127.0.0.1:${port}`, "S3RVER", "S3RVER", "us-east-1", async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once("exit", r));
    proc.kill("SIGTERM");
    const late = setTimeout(() => proc.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(late);
  });
}

/** A client straight to the store (no proxy). */
export function client(
  store: TestStore,
  endpoint = store.endpoint,
  credentials = store.credentials,
): S3Client {
  return new S3Client({ endpoint, region: store.region, forcePathStyle: true, credentials, maxAttempts: 1 });
}

/** Creates a bucket with a fresh name. */
export async function newBucket(c: S3Client, tag: string): Promise<string> {
  const name = `ferry-${tag}-${randomBytes(4).toString("hex")}`;
  await c.send(new CreateBucketCommand({ Bucket: name }));
  return name;
}

/** Reads a whole object. */
export async function getObject(c: S3Client, bucket: string, key: string): Promise<Buffer> {
  const r = await c.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

/** One request the proxy saw. */
export interface Seen {
  method: string;
  path: string;
  query: string;
  /** The object key (path after the bucket, decoded), or "" for bucket requests. */
  key: string;
  status: number;
  fault: Fault | null;
  /** The `x-amz-checksum-sha256` header (or `x-amz-checksum-algorithm` on multipart creation). */
  checksum: string | undefined;
}

export type Fault = "503" | "drop" | "slow" | "reset-response";

/** What the proxy does to a request: nothing (null) or a fault. */
export type FaultPolicy = (req: { method: string; path: string; query: string; n: number }) => Fault | null;

/**
 * An HTTP proxy in front of the store that logs every request and can inject faults: 503
 * SlowDown answers, dropped connections (before forwarding), slow answers, and connections
 * reset after the store answered (the store did the work; the client never hears).
 */
export class FaultProxy {
  readonly seen: Seen[] = [];
  policy: FaultPolicy = () => null;
  slowMs = 1500;
  onRequest: ((s: Seen) => void) | null = null;
  private server!: Server;
  private readonly sockets = new Set<Socket>();
  private readonly upstream = new Set<ClientRequest>();
  private n = 0;
  endpoint = "";

  constructor(private readonly target: string) {}

  async start(): Promise<this> {
    const t = new URL(this.target);
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://x");
      const parts = url.pathname.split("/");
      const key = parts.length > 2 ? decodeURIComponent(parts.slice(2).join("/")) : "";
      const seen: Seen = {
        method: req.method ?? "",
        path: url.pathname,
        query: url.search,
        key,
        status: 0,
        checksum: (req.headers["x-amz-checksum-sha256"] ?? req.headers["x-amz-checksum-algorithm"]) as
          | string
          | undefined,
        fault: this.policy({ method: req.method ?? "", path: url.pathname, query: url.search, n: this.n++ }),
      };
      this.seen.push(seen);
      this.onRequest?.(seen);
      if (seen.fault === "drop") {
        req.socket.destroy();
        return;
      }
      if (seen.fault === "503") {
        req.resume();
        req.on("end", () => {
          seen.status = 503;
          res.writeHead(503, { "content-type": "application/xml" });
          res.end(
            '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>',
          );
        });
        return;
      }
      const up = request(
        {
          host: t.hostname,
          port: t.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
          agent: false,
        },
        (ur) => {
          seen.status = ur.statusCode ?? 0;
          if (seen.fault === "reset-response") {
            ur.resume();
            ur.on("end", () => req.socket.destroy());
            return;
          }
          const send = () => {
            res.writeHead(ur.statusCode ?? 502, ur.headers);
            ur.pipe(res);
          };
          if (seen.fault === "slow") setTimeout(send, this.slowMs);
          else send();
        },
      );
      up.on("error", () => req.socket.destroy());
      // A client that goes away mid-body must not leave the upstream request half-sent: the
      // store would wait for the rest for minutes and hold its shutdown (and this process) open.
      req.on("close", () => {
        if (!req.complete) up.destroy();
      });
      this.upstream.add(up);
      up.on("close", () => this.upstream.delete(up));
      req.pipe(up);
    });
    this.server.on("connection", (s) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Requests that wrote an object (single PUT or multipart completion) and succeeded, by key. */
  objectWrites(bucket: string): string[] {
    return this.seen
      .filter(
        (s) =>
          s.status === 200 &&
          s.path.startsWith(`/${bucket}/`) &&
          ((s.method === "PUT" && !s.query.includes("uploadId")) ||
            (s.method === "POST" && s.query.includes("uploadId"))),
      )
      .map((s) => s.key);
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    for (const u of this.upstream) u.destroy();
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}
