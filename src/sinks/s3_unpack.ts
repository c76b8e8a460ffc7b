/**
 * `ferry unpack … --to s3://BUCKET/PREFIX`: streams each file's checked plaintext into the
 * object store (single PUT or parallel multipart), skips objects already there with the same
 * size and `ferry-blake3` (so a rerun after a crash uploads only what is missing or wrong),
 * aborts stale multipart uploads of the keys it owns, and with a worker spec takes only its
 * deterministic share of the set.
 */
import { Blake3Hasher } from "@napi-rs/blake-hash";
import { FerryError } from "../errors.js";
import { ENTRY_FILE, ENTRY_SYMLINK, type IndexEntry } from "../format/index.js";
import { globMatcher } from "../pipeline/glob.js";
import type { OpenedSet, StripeReader } from "../pipeline/open_set.js";
import {
  checkRelPath,
  readChunk,
  readIndex,
  type UnpackOptions,
  type UnpackResult,
} from "../pipeline/unpack.js";
import { META, type ObjectUpload, S3Store, S3Uploader } from "./s3.js";
import { objectKey, parseS3Url } from "./s3_url.js";
import { Splitter } from "./worker.js";

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Restores a set into a bucket; see {@link UnpackOptions.to}. */
export async function unpackToS3(
  set: OpenedSet,
  reader: StripeReader,
  opts: UnpackOptions,
): Promise<UnpackResult> {
  const loc = parseS3Url(opts.to);
  const emit = opts.onEvent;
  const store = new S3Store(loc, opts.s3 ?? {}, (e) => emit?.(e));
  const worker = opts.worker ?? { index: 0, count: 1 };
  const result: UnpackResult = {
    set: set.setHex,
    files: 0,
    dirs: 0,
    symlinks: 0,
    bytes: 0,
    repairedStripes: 0,
    badBlocks: 0,
    blocksRead: 0,
    openFiles: 1,
    lost: [],
    resumed: false,
    directFiles: 0,
  };
  let uploader: S3Uploader | null = null;
  const s3 = {
    objects: 0,
    uploaded: 0,
    alreadyThere: 0,
    otherWorkers: 0,
    bytesUploaded: 0,
    retries: 0,
    staleUploadsAborted: 0,
    requests: 0,
  };
  try {
    await store.check();
    // What is there already: sizes from a paginated listing; HEAD only where the size matches.
    const existing = new Map<string, number>();
    for await (const o of store.list(loc.prefix ? `${loc.prefix}/` : "")) existing.set(o.key, o.size);
    const stale = await store.listUploads(loc.prefix ? `${loc.prefix}/` : "");
    if (stale === null) {
      emit?.({
        type: "warning",
        message: `${store.where} cannot list unfinished multipart uploads; uploads ferry abandoned (if any) are not swept. A lifecycle rule (AbortIncompleteMultipartUpload) cleans them up`,
      });
    }
    uploader = new S3Uploader(store);
    const match = opts.only?.length ? globMatcher(opts.only) : null;
    const split = new Splitter(worker.count);
    const stats = set.manifest!.stats;
    emit?.({
      type: "start",
      set: set.setHex,
      files: stats.files,
      bytes: stats.bytes,
      drivesPresent: set.drives.filter(Boolean).length,
      drivesTotal: set.layout.drives.length,
    });
    let lastProgress = 0;
    const progress = (force: boolean) => {
      const now = Date.now();
      if (!force && now - lastProgress < 250) return;
      lastProgress = now;
      emit?.({ type: "progress", files: result.files, bytes: result.bytes, totalBytes: stats.bytes });
    };
    const lose = (e: IndexEntry, reason: string) => {
      result.lost.push({ path: e.path.toString(), reason });
      emit?.({ type: "lost", path: e.path.toString(), reason });
    };

    for await (const e of readIndex(set, reader)) {
      if (e.type !== ENTRY_FILE && e.type !== ENTRY_SYMLINK) continue; // folders are implied by keys
      if (match && !match(e.path.toString())) continue;
      const size = e.type === ENTRY_FILE ? e.size : 0;
      if (split.assign(size) !== worker.index) {
        s3.otherWorkers++;
        continue;
      }
      checkRelPath(e.path);
      let rel: string;
      try {
        rel = utf8.decode(e.path);
      } catch {
        lose(e, "the name is not valid UTF-8, which S3 keys must be");
        continue;
      }
      const key = objectKey(loc, rel);
      s3.objects++;
      for (const id of stale?.get(key) ?? []) {
        if (await uploader!.slot(() => store.abortUpload(key, id))) s3.staleUploadsAborted++;
      }
      const hashHex = e.type === ENTRY_FILE ? e.hash.toString("hex") : "";
      if (existing.get(key) === size) {
        const h = await uploader!.slot(() => store.head(key));
        const same =
          h !== null &&
          h.size === size &&
          h.meta[META.blake3] === hashHex &&
          (e.type === ENTRY_FILE || h.meta[META.symlink] !== undefined);
        if (same) {
          s3.alreadyThere++;
          if (e.type === ENTRY_FILE) {
            result.files++;
            result.bytes += size;
          } else result.symlinks++;
          progress(false);
          continue;
        }
      }
      uploader.check();
      const meta = {
        blake3: hashHex,
        mtimeNs: e.mtimeNs,
        mode: e.mode,
        set: set.setHex,
        ...(e.type === ENTRY_SYMLINK ? { symlinkTarget: e.target } : {}),
      };
      const up: ObjectUpload = uploader.begin(key, meta);
      if (e.type === ENTRY_SYMLINK) {
        await up.end();
        result.symlinks++;
        s3.uploaded++;
        continue;
      }
      const hasher = new Blake3Hasher();
      let lost = false;
      try {
        for (const ref of e.chunks) {
          let plain: Buffer;
          try {
            plain = await readChunk(set, reader, ref);
          } catch (err) {
            if (!FerryError.is(err, "E_UNRECOVERABLE")) throw err;
            lose(e, err.message);
            lost = true;
            break;
          }
          hasher.update(plain);
          await up.write(plain);
          result.bytes += plain.length;
          progress(false);
        }
        if (!lost && !hasher.digestBuffer().equals(e.hash)) {
          throw new FerryError("E_CORRUPT", `file ${e.path.toString()} does not match its recorded hash`, {
            hint: "The set was tampered with",
          });
        }
      } catch (err) {
        await up.abort();
        throw err;
      }
      if (lost) {
        await up.abort();
        continue;
      }
      await up.end();
      result.files++;
      s3.uploaded++;
    }
    await uploader.flush();
    s3.bytesUploaded = uploader.stats.bytes;
    result.resumed = s3.alreadyThere > 0;
    result.repairedStripes = reader.repairedStripes;
    result.badBlocks = reader.bad.length;
    result.blocksRead = reader.blocksRead;
    progress(true);
  } catch (e) {
    // Let uploads in flight finish or abort (a failed multipart upload is aborted), then fail.
    await uploader?.flush().catch(() => undefined);
    throw e;
  } finally {
    s3.retries = store.retries;
    s3.requests = store.requests;
    store.destroy();
  }
  result.s3 = s3;
  return result;
}
