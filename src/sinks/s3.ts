/**
 * Writing to an S3-compatible object store: a client with ferry's own retry loop (every retry
 * is reported), errors classified into transient (retried with backoff) and permanent (one
 * clear E_S3 line naming the bucket and what to check), and an uploader that streams files
 * into single PUTs or parallel multipart uploads with a bounded number of requests in flight.
 * Every request body carries a SHA-256 checksum the store checks; ferry's own file hash, mode
 * and mtime go into the object's metadata. Knows nothing of sets, keys or formats.
 */
import { createHash } from "node:crypto";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  type CompletedPart,
  CreateMultipartUploadCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { FerryError } from "../errors.js";
import type { S3Location, S3Settings } from "./s3_url.js";

export { isS3Url, objectKey, parseS3Url, type S3Location, type S3Settings } from "./s3_url.js";

/** Metadata keys ferry writes (as `x-amz-meta-…`). */
export const META = {
  blake3: "ferry-blake3",
  mtimeNs: "ferry-mtime-ns",
  mode: "ferry-mode",
  set: "ferry-set",
  symlink: "ferry-symlink-target",
} as const;

/** A transient failure that was retried. */
export interface S3RetryEvent {
  type: "retry";
  op: string;
  key: string;
  attempt: number;
  delayMs: number;
  error: string;
}

const MIN_PART = 5 << 20;

function errText(e: unknown): string {
  const x = e as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = x?.$metadata?.httpStatusCode;
  const name = x?.code ?? x?.name ?? "Error";
  const msg = x?.message && x.message !== name && x.message !== "UnknownError" ? `: ${x.message}` : "";
  return `${name}${status ? ` (HTTP ${status})` : ""}${msg}`;
}

/** HTTP status of an SDK error, if the store answered. */
function statusOf(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

/**
 * Transient: the store asked us to slow down or failed on its side (5xx, 429, 408), or the
 * connection broke or timed out (no answer at all). Everything else that came back as 4xx is
 * permanent: credentials, permissions, a missing bucket, a bad request.
 */
export function isTransient(e: unknown): boolean {
  const s = statusOf(e);
  if (s === undefined || s === 0) return true;
  return (s >= 500 && s !== 501) || s === 429 || s === 408;
}

/** Bucket-level operations and an own retry loop around every request. */
export class S3Store {
  readonly client: S3Client;
  readonly maxAttempts: number;
  private readonly timeoutMs: number;
  private readonly baseMs: number;
  /** Retries done so far (all operations). */
  retries = 0;
  /** Requests sent (attempts included). */
  requests = 0;

  constructor(
    readonly loc: S3Location,
    readonly settings: S3Settings = {},
    private readonly onRetry?: (e: S3RetryEvent) => void,
  ) {
    // The SDK warns on Node 20 about a support date; it is noise on every ferry run.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
    this.maxAttempts = Math.max(1, settings.maxAttempts ?? 8);
    this.timeoutMs = settings.requestTimeoutMs ?? 120_000;
    this.baseMs = settings.retryBaseMs ?? 250;
    const cfg: S3ClientConfig = {
      maxAttempts: 1, // ferry retries itself, so every retry is counted and reported
      requestChecksumCalculation: "WHEN_REQUIRED", // ferry sends its own SHA-256 checksums
      responseChecksumValidation: "WHEN_REQUIRED",
      requestHandler: { connectionTimeout: Math.min(this.timeoutMs, 10_000), requestTimeout: this.timeoutMs },
    };
    if (settings.endpoint) cfg.endpoint = settings.endpoint;
    cfg.region = settings.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1";
    const pathStyle = settings.pathStyle ?? !!settings.endpoint;
    if (pathStyle) cfg.forcePathStyle = true;
    if (settings.credentials) cfg.credentials = settings.credentials;
    this.client = new S3Client(cfg);
  }

  /** Where the store is, for messages. */
  get where(): string {
    return `bucket ${this.loc.bucket}${this.settings.endpoint ? ` at ${this.settings.endpoint}` : ""}`;
  }

  /**
   * Runs one request with retries: transient errors back off (exponential, jittered) and are
   * reported; permanent ones become E_S3 at once.
   */
  async send<T>(op: string, key: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      this.requests++;
      try {
        return await fn(AbortSignal.timeout(this.timeoutMs));
      } catch (e) {
        if (FerryError.is(e)) throw e;
        if (!isTransient(e)) throw this.permanent(op, key, e);
        if (attempt >= this.maxAttempts) {
          throw new FerryError(
            "E_S3",
            `${op} ${key || this.loc.bucket} failed ${attempt} times (${this.where}): ${errText(e)}`,
            {
              hint: "The store kept failing or timing out; check it and the network, then rerun (finished objects are kept)",
              cause: e,
            },
          );
        }
        const delayMs = Math.round(
          Math.min(20_000, this.baseMs * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2),
        );
        this.retries++;
        this.onRetry?.({ type: "retry", op, key, attempt, delayMs, error: errText(e) });
        await new Promise((r) => setTimeout(r, delayMs));
      }
    }
  }

  /** Turns a permanent store error into one clear line. */
  permanent(op: string, key: string, e: unknown): FerryError {
    const s = statusOf(e);
    const name = (e as { name?: string; Code?: string })?.Code ?? (e as { name?: string })?.name ?? "";
    const b = this.loc.bucket;
    let what = `${op} ${key || b} was refused by ${this.where}: ${errText(e)}`;
    let hint = `Check the bucket name, the credentials and their permissions on ${b}`;
    if (
      s === 403 &&
      /InvalidAccessKeyId|SignatureDoesNotMatch|InvalidToken|ExpiredToken|Unknown|^$/.test(name)
    ) {
      what = `the credentials were refused by ${this.where} (${errText(e)})`;
      hint =
        "Check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or AWS_PROFILE (and the clock, for signatures), and --s3-endpoint";
    } else if (s === 403) {
      what = `access to ${this.where} was denied for ${op} ${key || b} (${errText(e)})`;
      hint = `Grant these credentials read, write and list on ${b} (s3:GetObject, s3:PutObject, s3:ListBucket, s3:AbortMultipartUpload)`;
    } else if (name === "NoSuchBucket" || (s === 404 && (op === "HeadBucket" || op === "ListObjectsV2"))) {
      what = `${this.where} does not exist`;
      hint = `Create the bucket, or check its name, --s3-endpoint and --s3-region`;
    } else if (s === 301 || name === "PermanentRedirect" || name === "AuthorizationHeaderMalformed") {
      what = `${this.where} is in another region (${errText(e)})`;
      hint = "Pass --s3-region (or set AWS_REGION) to the bucket's region";
    }
    return new FerryError("E_S3", what, {
      hint,
      cause: e,
      detail: { bucket: b, op, key, status: s ?? null },
    });
  }

  /** Checks that the bucket exists and the credentials work, before any work starts. */
  async check(): Promise<void> {
    await this.send("HeadBucket", "", (abortSignal) =>
      this.client.send(new HeadBucketCommand({ Bucket: this.loc.bucket }), { abortSignal }),
    );
  }

  /** Lists objects under a key prefix (paginated), in key order. */
  async *list(
    prefix: string,
  ): AsyncGenerator<{ key: string; size: number; etag: string; lastModified: Date }> {
    let token: string | undefined;
    do {
      const r = await this.send("ListObjectsV2", prefix, (abortSignal) =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.loc.bucket,
            Prefix: prefix || undefined,
            ContinuationToken: token,
            MaxKeys: 1000,
          }),
          { abortSignal },
        ),
      );
      for (const o of r.Contents ?? []) {
        if (o.Key === undefined) continue;
        yield {
          key: o.Key,
          size: Number(o.Size ?? 0),
          etag: o.ETag ?? "",
          lastModified: o.LastModified ?? new Date(0),
        };
      }
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
  }

  /** Metadata and size of an object, or null when it does not exist. */
  async head(key: string): Promise<{ size: number; meta: Record<string, string> } | null> {
    try {
      const r = await this.send("HeadObject", key, (abortSignal) =>
        this.client.send(new HeadObjectCommand({ Bucket: this.loc.bucket, Key: key }), { abortSignal }),
      );
      return { size: Number(r.ContentLength ?? 0), meta: r.Metadata ?? {} };
    } catch (e) {
      if (FerryError.is(e, "E_S3") && (e.detail?.status === 404 || statusOf(e.cause) === 404)) return null;
      throw e;
    }
  }

  /**
   * Unfinished multipart uploads under a prefix, by key; null when the store cannot list them
   * (s3rver, some gateways).
   */
  async listUploads(prefix: string): Promise<Map<string, string[]> | null> {
    const out = new Map<string, string[]>();
    let keyMarker: string | undefined;
    let idMarker: string | undefined;
    try {
      for (;;) {
        const r = await this.send("ListMultipartUploads", prefix, (abortSignal) =>
          this.client.send(
            new ListMultipartUploadsCommand({
              Bucket: this.loc.bucket,
              Prefix: prefix || undefined,
              KeyMarker: keyMarker,
              UploadIdMarker: idMarker,
            }),
            { abortSignal },
          ),
        );
        for (const u of r.Uploads ?? []) {
          if (!u.Key || !u.UploadId) continue;
          const l = out.get(u.Key) ?? [];
          l.push(u.UploadId);
          out.set(u.Key, l);
        }
        if (!r.IsTruncated) break;
        keyMarker = r.NextKeyMarker;
        idMarker = r.NextUploadIdMarker;
      }
    } catch (e) {
      const s = FerryError.is(e) ? (e.detail?.status as number | undefined) : undefined;
      if (s === 501 || s === 405) return null;
      throw e;
    }
    return out;
  }

  /** Aborts a multipart upload; best effort (a store that cannot abort keeps it). */
  async abortUpload(key: string, uploadId: string): Promise<boolean> {
    try {
      await this.send("AbortMultipartUpload", key, (abortSignal) =>
        this.client.send(
          new AbortMultipartUploadCommand({ Bucket: this.loc.bucket, Key: key, UploadId: uploadId }),
          { abortSignal },
        ),
      );
      return true;
    } catch {
      return false;
    }
  }

  destroy(): void {
    this.client.destroy();
  }
}

/** A counting semaphore: bounds requests in flight (and so memory). */
export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly max: number) {}

  async acquire(): Promise<void> {
    if (this.active < this.max) {
      this.active++;
      return;
    }
    await new Promise<void>((r) => this.waiting.push(r));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}

/** What ferry records about an object. */
export interface ObjectMeta {
  /** ferry's file hash (BLAKE3), hex. */
  blake3: string;
  mtimeNs: bigint;
  mode: number;
  set?: string;
  /** Symlinks are stored as empty objects with their target (percent-encoded bytes). */
  symlinkTarget?: Buffer;
}

/** Percent-encodes bytes so any target survives an HTTP header. */
export function encodeTarget(b: Buffer): string {
  let s = "";
  for (const c of b)
    s += /[A-Za-z0-9._~/-]/.test(String.fromCharCode(c))
      ? String.fromCharCode(c)
      : `%${c.toString(16).padStart(2, "0").toUpperCase()}`;
  return s;
}

/** The inverse of {@link encodeTarget}. */
export function decodeTarget(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "%") {
      out.push(Number.parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(s.charCodeAt(i));
  }
  return Buffer.from(out);
}

/** The `x-amz-meta-…` map for an object. */
export function metaHeaders(m: ObjectMeta): Record<string, string> {
  const h: Record<string, string> = {
    [META.blake3]: m.blake3,
    [META.mtimeNs]: m.mtimeNs.toString(),
    [META.mode]: (m.mode & 0o7777).toString(8).padStart(4, "0"),
  };
  if (m.set) h[META.set] = m.set;
  if (m.symlinkTarget) h[META.symlink] = encodeTarget(m.symlinkTarget);
  return h;
}

function sha256(b: Buffer): string {
  return createHash("sha256").update(b).digest("base64");
}

/** Counters of an {@link S3Uploader}. */
export interface UploadStats {
  /** Objects completed (single PUT or multipart). */
  objects: number;
  /** Single-PUT objects. */
  puts: number;
  /** Multipart uploads completed. */
  multipart: number;
  /** Parts uploaded. */
  parts: number;
  /** Payload bytes uploaded. */
  bytes: number;
  /** Multipart uploads aborted (failures, and stale ones swept). */
  aborted: number;
}

/**
 * Uploads objects with at most `concurrency` requests in flight across all of them. A caller
 * writes each object's bytes in order and then ends (or aborts) it; ending returns at once and
 * the upload completes in the background. `flush()` waits for everything and throws the first
 * failure (after aborting the multipart uploads it concerned).
 */
export class S3Uploader {
  readonly limiter: Limiter;
  readonly partSize: number;
  readonly stats: UploadStats = { objects: 0, puts: 0, multipart: 0, parts: 0, bytes: 0, aborted: 0 };
  private readonly tasks = new Set<Promise<void>>();
  private failure: unknown = null;

  constructor(readonly store: S3Store) {
    this.limiter = new Limiter(Math.max(1, store.settings.concurrency ?? 16));
    this.partSize = Math.max(MIN_PART, store.settings.partSize ?? 8 << 20);
  }

  /** Throws the first background failure, if any. */
  check(): void {
    if (this.failure) throw this.failure;
  }

  /** Runs a request holding one slot, in the background. */
  track(p: Promise<void>): void {
    const t = p.catch((e) => {
      this.failure ??= e;
    });
    this.tasks.add(t);
    void t.finally(() => this.tasks.delete(t));
  }

  async slot<T>(fn: () => Promise<T>): Promise<T> {
    await this.limiter.acquire();
    try {
      return await fn();
    } finally {
      this.limiter.release();
    }
  }

  /** Starts an object. */
  begin(key: string, meta: ObjectMeta): ObjectUpload {
    this.check();
    return new ObjectUpload(this, key, metaHeaders(meta));
  }

  /** Waits for every upload; throws the first failure. */
  async flush(): Promise<void> {
    while (this.tasks.size) await Promise.all([...this.tasks]);
    this.check();
  }
}

/** One object being written: bytes in order, then end() or abort(). */
export class ObjectUpload {
  private pending: Buffer[] = [];
  private pendingLen = 0;
  private uploadId: Promise<string> | null = null;
  private readonly parts: Promise<CompletedPart>[] = [];
  private size = 0;

  constructor(
    private readonly up: S3Uploader,
    readonly key: string,
    private readonly meta: Record<string, string>,
  ) {}

  private get bucket(): string {
    return this.up.store.loc.bucket;
  }

  /** Adds bytes; waits while the uploader has no free request slot. */
  async write(b: Buffer): Promise<void> {
    this.up.check();
    if (!b.length) return;
    this.pending.push(b);
    this.pendingLen += b.length;
    this.size += b.length;
    while (this.pendingLen >= this.up.partSize) await this.sendPart(this.take(this.up.partSize));
  }

  private take(n: number): Buffer {
    const all = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingLen);
    const part = Buffer.from(all.subarray(0, n));
    const rest = all.subarray(n);
    this.pending = rest.length ? [rest] : [];
    this.pendingLen = rest.length;
    return part;
  }

  private async sendPart(body: Buffer): Promise<void> {
    const store = this.up.store;
    if (!this.uploadId) {
      const created = this.up.slot(() =>
        store.send("CreateMultipartUpload", this.key, (abortSignal) =>
          store.client.send(
            new CreateMultipartUploadCommand({
              Bucket: this.bucket,
              Key: this.key,
              Metadata: this.meta,
              ChecksumAlgorithm: "SHA256",
            }),
            { abortSignal },
          ),
        ),
      );
      this.uploadId = created.then((r) => {
        if (!r.UploadId) throw new FerryError("E_S3", `the store gave no upload id for ${this.key}`);
        return r.UploadId;
      });
      this.uploadId.catch(() => undefined);
    }
    const uploadId = await this.uploadId;
    const PartNumber = this.parts.length + 1;
    const ChecksumSHA256 = sha256(body);
    await this.up.limiter.acquire();
    const part = store
      .send("UploadPart", this.key, (abortSignal) =>
        store.client.send(
          new UploadPartCommand({
            Bucket: this.bucket,
            Key: this.key,
            UploadId: uploadId,
            PartNumber,
            Body: body,
            ContentLength: body.length,
            ChecksumSHA256,
          }),
          { abortSignal },
        ),
      )
      .then((r): CompletedPart => {
        this.up.stats.parts++;
        this.up.stats.bytes += body.length;
        return { PartNumber, ETag: r.ETag, ChecksumSHA256: r.ChecksumSHA256 ?? ChecksumSHA256 };
      })
      .finally(() => this.up.limiter.release());
    part.catch(() => undefined);
    this.parts.push(part);
  }

  /** Finishes the object (in the background; see {@link S3Uploader.flush}). */
  async end(): Promise<void> {
    const store = this.up.store;
    if (!this.uploadId) {
      const body = this.pendingLen ? this.take(this.pendingLen) : Buffer.alloc(0);
      await this.up.limiter.acquire();
      this.up.track(
        store
          .send("PutObject", this.key, (abortSignal) =>
            store.client.send(
              new PutObjectCommand({
                Bucket: this.bucket,
                Key: this.key,
                Body: body,
                ContentLength: body.length,
                Metadata: this.meta,
                ChecksumSHA256: sha256(body),
              }),
              { abortSignal },
            ),
          )
          .then(() => {
            this.up.stats.puts++;
            this.up.stats.objects++;
            this.up.stats.bytes += body.length;
          })
          .finally(() => this.up.limiter.release()),
      );
      return;
    }
    if (this.pendingLen) await this.sendPart(this.take(this.pendingLen));
    const uploadId = await this.uploadId;
    const parts = this.parts;
    this.up.track(
      (async () => {
        let done: CompletedPart[];
        try {
          done = await Promise.all(parts);
          await this.up.slot(() =>
            store.send("CompleteMultipartUpload", this.key, (abortSignal) =>
              store.client.send(
                new CompleteMultipartUploadCommand({
                  Bucket: this.bucket,
                  Key: this.key,
                  UploadId: uploadId,
                  MultipartUpload: { Parts: done },
                }),
                { abortSignal },
              ),
            ),
          );
        } catch (e) {
          // A completion whose answer was lost: the store may have finished the object, and
          // every retry then fails (NoSuchUpload, or a 500 from simpler stores). If the object is
          // there with our size and content hash, the upload is done.
          const there = await store.head(this.key).catch(() => null);
          const done =
            there !== null &&
            there.size === this.size &&
            there.meta[META.blake3] !== undefined &&
            there.meta[META.blake3] === this.meta[META.blake3];
          if (!done) {
            await this.abortId(uploadId);
            throw e;
          }
        }
        this.up.stats.multipart++;
        this.up.stats.objects++;
      })(),
    );
  }

  /** Drops the object: nothing is left in the store (a started multipart upload is aborted). */
  async abort(): Promise<void> {
    this.pending = [];
    this.pendingLen = 0;
    if (!this.uploadId) return;
    const id = await this.uploadId.catch(() => null);
    await Promise.allSettled(this.parts);
    if (id) await this.abortId(id);
  }

  private async abortId(id: string): Promise<void> {
    if (await this.up.slot(() => this.up.store.abortUpload(this.key, id))) this.up.stats.aborted++;
  }
}
