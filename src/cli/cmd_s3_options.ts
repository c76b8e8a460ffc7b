import { FerryError, parseWorkerSpec, type S3Settings, type WorkerSpec } from "../index.js";
import type { CliIO } from "./io.js";

/** parseArgs options shared by the commands that talk to an object store. */
export const S3_OPTIONS = {
  "s3-endpoint": { type: "string" },
  "s3-region": { type: "string" },
  "s3-path-style": { type: "boolean" },
  "s3-virtual-hosted": { type: "boolean" },
  "s3-concurrency": { type: "string" },
} as const;

export const S3_HELP = `  --s3-endpoint URL      S3-compatible endpoint (MinIO, Ceph RGW…); default AWS or AWS_ENDPOINT_URL_S3
  --s3-region R          region (default AWS_REGION, the profile's, or us-east-1)
  --s3-path-style        path-style addressing (default on with --s3-endpoint; --s3-virtual-hosted turns it off)
  --s3-concurrency N     requests in flight at most (default 16; memory about N × 8 MiB)
  Credentials come from the standard AWS settings (AWS_ACCESS_KEY_ID…, AWS_PROFILE, shared config).
`;

function posInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new FerryError("E_USAGE", `${flag} ${v}: expected a positive integer`);
  return n;
}

/** Builds S3 settings from the flags (and FERRY_S3_* test knobs in the environment). */
export function s3SettingsFrom(
  io: CliIO,
  values: {
    "s3-endpoint"?: string;
    "s3-region"?: string;
    "s3-path-style"?: boolean;
    "s3-virtual-hosted"?: boolean;
    "s3-concurrency"?: string;
  },
): S3Settings {
  const s: S3Settings = {};
  const endpoint = values["s3-endpoint"] ?? io.env.AWS_ENDPOINT_URL_S3 ?? io.env.AWS_ENDPOINT_URL;
  if (endpoint) {
    if (!/^https?:\/\/[^/]+/.test(endpoint)) {
      throw new FerryError("E_USAGE", `--s3-endpoint ${endpoint}: expected http(s)://host[:port]`);
    }
    s.endpoint = endpoint;
  }
  if (values["s3-region"]) s.region = values["s3-region"];
  if (values["s3-path-style"]) s.pathStyle = true;
  if (values["s3-virtual-hosted"]) s.pathStyle = false;
  if (values["s3-concurrency"]) s.concurrency = posInt("--s3-concurrency", values["s3-concurrency"]);
  // Knobs for tests and odd stores; documented in docs/INGEST.md.
  if (io.env.FERRY_S3_TIMEOUT_MS)
    s.requestTimeoutMs = posInt("FERRY_S3_TIMEOUT_MS", io.env.FERRY_S3_TIMEOUT_MS);
  if (io.env.FERRY_S3_RETRY_BASE_MS)
    s.retryBaseMs = posInt("FERRY_S3_RETRY_BASE_MS", io.env.FERRY_S3_RETRY_BASE_MS);
  if (io.env.FERRY_S3_MAX_ATTEMPTS)
    s.maxAttempts = posInt("FERRY_S3_MAX_ATTEMPTS", io.env.FERRY_S3_MAX_ATTEMPTS);
  if (io.env.FERRY_S3_PART_SIZE) s.partSize = posInt("FERRY_S3_PART_SIZE", io.env.FERRY_S3_PART_SIZE);
  return s;
}

/** `--worker I/N | env` and `--workers N`. */
export function workerFrom(
  io: CliIO,
  worker: string | undefined,
  workers: string | undefined,
): WorkerSpec | undefined {
  if (worker === undefined) {
    if (workers !== undefined)
      throw new FerryError("E_USAGE", "--workers needs --worker I/N or --worker env");
    return undefined;
  }
  return parseWorkerSpec(worker, workers, io.env);
}
