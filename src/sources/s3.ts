/**
 * A bucket as pack's source (`ferry pack s3://BUCKET/PREFIX …`): a paginated listing in key
 * order becomes walk items (folders implied by keys, in the order a folder walk would meet
 * them closely enough for resume: the same every run), and each object is read with ranged
 * GETs, retried, and checked to be the same version (ETag) from first byte to last.
 */
import type { BigIntStats } from "node:fs";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { FerryError } from "../errors.js";
import type { WalkItem } from "../pipeline/walk.js";
import { decodeTarget, META, type S3RetryEvent, S3Store } from "../sinks/s3.js";
import { parseS3Url, type S3Settings } from "../sinks/s3_url.js";

const utf8 = new TextEncoder();

/** What a read learned from the object's metadata (objects ferry wrote carry mode, mtime, link target). */
export interface ObjectInfo {
  mode?: number;
  mtimeNs?: bigint;
  symlinkTarget?: Buffer;
}

/** Raised (as E_SOURCE_READ with detail.changed) when an object changes while being read. */
function changed(key: string): FerryError {
  return new FerryError("E_SOURCE_READ", `object ${key} changed while being read`, {
    detail: { changed: true },
  });
}

function fakeStats(size: number, mtimeMs: number, dir: boolean): BigIntStats {
  const ns = BigInt(mtimeMs) * 1_000_000n;
  return {
    mode: dir ? 0o040755n : 0o100644n,
    uid: 0n,
    gid: 0n,
    size: BigInt(size),
    mtimeNs: ns,
    ctimeNs: ns,
  } as unknown as BigIntStats;
}

/** A bucket prefix read as a tree of files. */
export class S3Source {
  readonly store: S3Store;
  private readonly etags = new Map<string, string>();
  readonly rangeSize: number;

  constructor(
    readonly url: string,
    settings: S3Settings = {},
    onRetry?: (e: S3RetryEvent) => void,
  ) {
    this.store = new S3Store(parseS3Url(url), settings, onRetry);
    this.rangeSize = Math.max(1 << 20, settings.partSize ?? 8 << 20);
  }

  /** Checks the bucket and credentials; E_S3 with a clear line when they do not work. */
  async open(): Promise<this> {
    await this.store.check();
    return this;
  }

  /** Objects under the prefix as walk items; keys ending in `/` are folder markers. */
  async *walk(): AsyncGenerator<WalkItem> {
    const prefix = this.store.loc.prefix ? `${this.store.loc.prefix}/` : "";
    const dirs = new Set<string>();
    for await (const o of this.store.list(prefix)) {
      const relStr = o.key.slice(prefix.length);
      if (!relStr) continue;
      const isDir = relStr.endsWith("/");
      const parts = relStr.replace(/\/+$/, "").split("/");
      if (parts.some((p) => p === "" || p === "." || p === "..")) {
        yield {
          kind: "skip",
          rel: Buffer.from(relStr),
          abs: Buffer.from(o.key),
          reason: "key is not a safe relative path",
        };
        continue;
      }
      const upto = isDir ? parts.length : parts.length - 1;
      for (let i = 1; i <= upto; i++) {
        const d = parts.slice(0, i).join("/");
        if (dirs.has(d)) continue;
        dirs.add(d);
        yield {
          kind: "dir",
          rel: Buffer.from(utf8.encode(d)),
          abs: Buffer.from(`${prefix}${d}/`),
          st: fakeStats(0, 0, true),
        };
      }
      if (isDir) continue;
      this.etags.set(o.key, o.etag);
      yield {
        kind: "file",
        rel: Buffer.from(utf8.encode(relStr)),
        abs: Buffer.from(o.key),
        st: fakeStats(o.size, o.lastModified.getTime(), false),
      };
    }
  }

  /**
   * Reads an object as ranged GETs of `rangeSize`, each retried on transient errors; calls
   * `info` with what the metadata says before the first bytes. Throws E_SOURCE_READ when the
   * object changed (another ETag) or vanished.
   */
  async *read(keyBuf: Buffer, size: number, info: (i: ObjectInfo) => void): AsyncGenerator<Buffer> {
    const key = keyBuf.toString();
    const etag = this.etags.get(key);
    const bucket = this.store.loc.bucket;
    let pos = 0;
    let first = true;
    do {
      const end = Math.min(size, pos + this.rangeSize) - 1;
      const range = size === 0 ? undefined : `bytes=${pos}-${end}`;
      let body: Buffer;
      try {
        body = await this.store.send("GetObject", key, async (abortSignal) => {
          const r = await this.store.client.send(
            new GetObjectCommand({ Bucket: bucket, Key: key, Range: range, IfMatch: etag || undefined }),
            { abortSignal },
          );
          if (etag && r.ETag && r.ETag !== etag) throw changed(key);
          if (first) {
            const m = r.Metadata ?? {};
            const i: ObjectInfo = {};
            if (m[META.mode] && /^[0-7]{1,6}$/.test(m[META.mode]!))
              i.mode = Number.parseInt(m[META.mode]!, 8);
            if (m[META.mtimeNs] && /^\d{1,25}$/.test(m[META.mtimeNs]!)) i.mtimeNs = BigInt(m[META.mtimeNs]!);
            if (m[META.symlink] !== undefined && size === 0) i.symlinkTarget = decodeTarget(m[META.symlink]!);
            info(i);
          }
          const b = Buffer.from((await r.Body?.transformToByteArray()) ?? new Uint8Array());
          if (b.length !== end - pos + 1 && size !== 0) {
            // A short body is a broken transfer (or a changed object): read the range again.
            throw Object.assign(new Error(`short read of ${key}: ${b.length} bytes`), { $metadata: {} });
          }
          return b;
        });
      } catch (e) {
        const st = FerryError.is(e) ? (e.detail?.status as number | undefined) : undefined;
        if (st === 412) throw changed(key);
        if (st === 404) {
          throw new FerryError("E_SOURCE_READ", `object ${key} vanished before it was read`, {
            detail: { vanished: true },
          });
        }
        throw e;
      }
      first = false;
      pos += body.length;
      if (body.length) yield body;
    } while (pos < size);
  }

  destroy(): void {
    this.store.destroy();
  }
}
