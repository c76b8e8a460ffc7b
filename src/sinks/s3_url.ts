/**
 * S3 locations and settings, without loading the AWS SDK (the CLI and the library API import
 * this for every command; the SDK itself is loaded only when a command talks to a store).
 */
import { FerryError } from "../errors.js";

/** A bucket and a key prefix, parsed from `s3://BUCKET/PREFIX`. */
export interface S3Location {
  bucket: string;
  /** Key prefix without leading or trailing `/` (may be empty). */
  prefix: string;
  /** The URL as given, for messages. */
  url: string;
}

/** How to reach the store. Anything left out comes from the standard AWS settings (environment, shared config and profile). */
export interface S3Settings {
  /** Endpoint URL of an S3-compatible store (MinIO, Ceph RGW…); default: AWS, or `AWS_ENDPOINT_URL_S3`. */
  endpoint?: string;
  /** Region (default from the AWS settings, else `us-east-1`). */
  region?: string;
  /** Path-style addressing (`host/bucket/key`); default on when `endpoint` is given. */
  pathStyle?: boolean;
  /** Explicit credentials (default: the AWS credential chain). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Requests in flight at most (default 16). Memory is about (concurrency + 2) × partSize. */
  concurrency?: number;
  /** Multipart part size in bytes (default 8 MiB, at least 5 MiB as S3 requires); smaller files go in one PUT. */
  partSize?: number;
  /** Attempts per request for transient errors (503 SlowDown, resets, timeouts); default 8. */
  maxAttempts?: number;
  /** Per-request timeout in ms (default 120000). */
  requestTimeoutMs?: number;
  /** First retry delay in ms, doubled per attempt with jitter, capped at 20 s (default 250). */
  retryBaseMs?: number;
}

/** True when `s` names an object store location rather than a folder. */
export function isS3Url(s: string): boolean {
  return s.startsWith("s3://");
}

/**
 * Parses `s3://BUCKET[/PREFIX]`.
 *
 * @example
 * parseS3Url("s3://train/imagenet/") // { bucket: "train", prefix: "imagenet", url: "s3://train/imagenet/" }
 */
export function parseS3Url(url: string): S3Location {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  const bucket = m?.[1] ?? "";
  if (!m || bucket.length < 3 || bucket.length > 63 || !/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(bucket)) {
    throw new FerryError("E_USAGE", `${url} is not a valid s3://BUCKET/PREFIX location`, {
      hint: "Bucket names are 3-63 lowercase letters, digits, dots and hyphens, e.g. s3://training-data/set1",
    });
  }
  const prefix = (m[2] ?? "").replace(/^\/+|\/+$/g, "");
  return { bucket, prefix, url };
}

/** The object key for a relative path under a location. */
export function objectKey(loc: S3Location, rel: string): string {
  return loc.prefix ? `${loc.prefix}/${rel}` : rel;
}
