import { Blake3Hasher } from "@napi-rs/blake-hash";
import { verifySignature } from "../crypto/index.js";
import { ReedSolomon } from "../erasure/index.js";
import { FerryError } from "../errors.js";
import {
  BLOCK_HEADER_SIZE,
  checkBlock,
  type ManifestBody,
  type SetLayout,
  stripeDataSize,
  validateLabel,
  validateLayout,
} from "../format/index.js";
import { DriveReader } from "./drive_reader.js";
import { deriveSetKeys, type SetKeys, type Unlock, unwrapFromDrive } from "./keys.js";

/** A set opened from some of its drives. */
export interface OpenedSet {
  setId: Buffer;
  setHex: string;
  layout: SetLayout;
  signPub: Buffer;
  /** Readers by drive index; undefined where the drive was not given. */
  drives: (DriveReader | undefined)[];
  manifest: ManifestBody | null;
  /** Why a drive's manifest was not used, per drive path. */
  manifestProblems: { path: string; problem: string }[];
  keys: SetKeys | null;
}

/** Options for {@link openSet}. */
export interface OpenSetOptions {
  unlock?: Unlock | undefined;
  /** Throw E_INCOMPLETE_SET when no drive has a valid manifest (default true). */
  requireManifest?: boolean;
}

const short = (hex: string) => hex.slice(0, 8);

/**
 * Opens a set from drive paths: checks every label's signature, refuses drives of another
 * set and duplicated drives, picks a valid signed manifest, and unlocks the keys when asked.
 *
 * @example
 * const set = await openSet(["/mnt/a", "/mnt/b"], { unlock: { identities: [id] } });
 */
export async function openSet(paths: string[], opts: OpenSetOptions = {}): Promise<OpenedSet> {
  if (paths.length === 0)
    throw new FerryError("E_USAGE", "no drive paths given", { hint: "Pass the drive folders" });
  const readers: DriveReader[] = [];
  try {
    for (const p of paths) readers.push(await DriveReader.open(p));
    return await assemble(readers, opts);
  } catch (e) {
    for (const r of readers) await r.close();
    throw e;
  }
}

async function assemble(readers: DriveReader[], opts: OpenSetOptions): Promise<OpenedSet> {
  // Labels are untrusted (a forger may hold a signing key): check their shape before use.
  for (const r of readers) validateLabel(r.label.body, r.path);
  // The set most drives belong to is the reference; any other is foreign.
  const votes = new Map<string, number>();
  for (const r of readers) votes.set(r.label.body.set, (votes.get(r.label.body.set) ?? 0) + 1);
  const setHex = [...votes.entries()].sort((a, b) => b[1] - a[1])[0]![0];
  for (const r of readers) {
    const b = r.label.body;
    if (b.set !== setHex) {
      throw new FerryError(
        "E_FOREIGN_DRIVE",
        `drive ${r.path} (bag ${b.drive?.bag}) belongs to set ${short(b.set)}, the others to set ${short(setHex)}`,
        { hint: `Set ${r.path} aside, or open set ${short(b.set)} with its own drives` },
      );
    }
  }
  const first = readers[0]!.label.body;
  if (
    typeof first.signPub !== "string" ||
    !/^[0-9a-f]{64}$/.test(first.signPub) ||
    !/^[0-9a-f]{32}$/.test(setHex)
  ) {
    throw new FerryError("E_CORRUPT", `label of ${readers[0]!.path} is malformed`);
  }
  const signPub = Buffer.from(first.signPub, "hex");
  const layoutJson = JSON.stringify(first.layout);
  validateLayout(first.layout);
  const byIndex: (DriveReader | undefined)[] = new Array(first.layout.drives.length).fill(undefined);
  for (const r of readers) {
    const b = r.label.body;
    if (!verifySignature(signPub, r.label.signed, r.label.signature) || b.signPub !== first.signPub) {
      throw new FerryError(
        "E_SIGNATURE",
        `the label of ${r.path} is not signed by set ${short(setHex)}'s key`,
        {
          hint: "The drive was tampered with or damaged; set it aside and verify the others",
        },
      );
    }
    if (JSON.stringify(b.layout) !== layoutJson) {
      throw new FerryError("E_CORRUPT", `drive ${r.path} records a different layout than the other drives`);
    }
    const slot = first.layout.drives[b.drive.index];
    if (!slot || slot.id !== b.drive.id || slot.bag !== b.drive.bag) {
      throw new FerryError(
        "E_CORRUPT",
        `drive ${r.path} claims slot ${b.drive.index}, which the layout disagrees with`,
      );
    }
    const prev = byIndex[b.drive.index];
    if (prev) {
      throw new FerryError(
        "E_DUPLICATE_DRIVE",
        `${prev.path} and ${r.path} are the same drive (drive ${b.drive.index}, bag ${b.drive.bag}) of set ${short(setHex)}`,
        { hint: "Pass each drive once; a copied drive adds no redundancy" },
      );
    }
    byIndex[b.drive.index] = r;
  }

  let keys: SetKeys | null = null;
  if (opts.unlock) {
    let err: unknown = null;
    for (const r of readers) {
      try {
        const bundle = await unwrapFromDrive(r.path, r.label.body.keys ?? [], opts.unlock);
        if (bundle.set !== setHex || bundle.signPub !== first.signPub) {
          throw new FerryError("E_SIGNATURE", `the key file on ${r.path} belongs to another set or signer`, {
            hint: "The drives were re-labelled or tampered with",
          });
        }
        keys = deriveSetKeys(bundle);
        break;
      } catch (e) {
        err = e;
        if (FerryError.is(e, "E_KEY") || FerryError.is(e, "E_SIGNATURE")) break;
      }
    }
    if (!keys) throw err;
  }

  let manifest: ManifestBody | null = null;
  let manifestSigned: Buffer | null = null;
  const manifestProblems: { path: string; problem: string }[] = [];
  for (const r of readers) {
    if (r.manifestError) {
      manifestProblems.push({ path: r.path, problem: r.manifestError.message });
      continue;
    }
    const m = r.manifest;
    if (!m) continue;
    if (!verifySignature(signPub, m.signed, m.signature) || m.body.set !== setHex) {
      manifestProblems.push({
        path: r.path,
        problem: "manifest signature does not verify (tampered or damaged)",
      });
      continue;
    }
    if (!manifest) {
      manifest = m.body;
      manifestSigned = m.signed;
    } else if (!m.signed.equals(manifestSigned!)) {
      manifestProblems.push({
        path: r.path,
        problem: "manifest differs from the other drives' (stale copy)",
      });
    }
  }
  if (manifest) validateManifest(manifest, first.layout);
  if (!manifest && opts.requireManifest !== false) {
    if (manifestProblems.length) {
      throw new FerryError(
        "E_SIGNATURE",
        `no drive carries a valid manifest: ${manifestProblems[0]!.problem}`,
        {
          hint: "Bring another drive of the set; manifests are replicated on every drive",
        },
      );
    }
    throw new FerryError(
      "E_INCOMPLETE_SET",
      `set ${short(setHex)} was never finished: no drive has a manifest`,
      {
        hint: "Rerun the same `ferry pack` command at the origin to finish it",
      },
    );
  }
  return {
    setId: Buffer.from(setHex, "hex"),
    setHex,
    layout: first.layout,
    signPub,
    drives: byIndex,
    manifest,
    manifestProblems,
    keys,
  };
}

function validateManifest(m: ManifestBody, layout: SetLayout): void {
  const isInt = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
  const G = layout.groups.length;
  const ok =
    m.format === 1 &&
    isInt(m.stripes) &&
    // Bounded so that nothing sized by the stripe count can be made huge by a forged manifest.
    m.stripes <= Math.min(2 ** 32, Math.floor(2 ** 50 / stripeDataSize(layout))) &&
    isInt(m.logLength) &&
    m.logLength <= m.stripes * stripeDataSize(layout) &&
    Array.isArray(m.index?.pieces) &&
    m.index.pieces.every(
      (p) =>
        Array.isArray(p) && p.length === 4 && p.every(isInt) && p[0] + p[1] <= m.logLength && p[2] <= 1 << 24,
    ) &&
    (m.index.replicas === undefined ||
      (Array.isArray(m.index.replicas) &&
        m.index.replicas.every((d) => isInt(d) && d < layout.drives.length) &&
        typeof m.index.replicaHash === "string")) &&
    Array.isArray(m.drives) &&
    m.drives.length === layout.drives.length &&
    m.drives.every(
      (d, i) =>
        typeof d === "object" &&
        d !== null &&
        d.index === i &&
        d.blocks === Math.floor(m.stripes / G) + (layout.drives[i]!.group < m.stripes % G ? 1 : 0) &&
        typeof d.sums === "string" &&
        /^[0-9a-f]{64}$/.test(d.sums),
    ) &&
    typeof m.stats === "object" &&
    m.stats !== null;
  if (!ok)
    throw new FerryError("E_CORRUPT", "the manifest is malformed", { hint: "Try another drive of the set" });
}

/** One block found bad while reading. */
export interface BadBlock {
  drive: number;
  block: number;
  stripe: number;
  reason: string;
}

/**
 * Reads stripes of the data log from whatever drives are present, checking every block
 * (header, checksum, SUMS) and rebuilding missing or damaged shards from parity.
 *
 * @example
 * const r = new StripeReader(set);
 * const bytes = await r.readLog(offset, length);
 */
export class StripeReader {
  private readonly rs: ReedSolomon;
  private readonly cache = new Map<number, Buffer>();
  private readonly trust = new Map<number, Promise<boolean>>();
  readonly bad: BadBlock[] = [];
  repairedStripes = 0;

  constructor(
    readonly set: OpenedSet,
    private readonly cacheSize = 8,
  ) {
    this.rs = new ReedSolomon(set.layout.k, set.layout.m);
  }

  /** Whether drive `d`'s SUMS file hashes to what the signed manifest records (computed once). */
  private sumsTrusted(d: number): Promise<boolean> {
    let p = this.trust.get(d);
    if (!p) {
      p = (async () => {
        const drive = this.set.drives[d];
        const want = this.set.manifest?.drives[d];
        if (!drive || !want) return true;
        const h = new Blake3Hasher();
        const step = 1 << 16;
        let total = 0;
        for (let n = 0; ; n += step) {
          const part = await drive.readSums(n, step);
          h.update(part);
          total += part.length;
          if (part.length < step * 32) break;
        }
        return total === want.blocks * 32 && h.digestBuffer().toString("hex") === want.sums;
      })();
      this.trust.set(d, p);
    }
    return p;
  }

  /** Reads and checks one block; returns its payload or null (recording why). */
  async readShard(stripe: number, shard: number): Promise<Buffer | null> {
    const { layout } = this.set;
    const G = layout.groups.length;
    const group = stripe % G;
    const n = Math.floor(stripe / G);
    const driveIdx = layout.groups[group]!.drives[shard]!;
    const d = this.set.drives[driveIdx];
    if (!d) return null;
    const rec = await d.readBlock(n, layout.blockSize);
    if (!rec) {
      this.bad.push({ drive: driveIdx, block: n, stripe, reason: "block missing or unreadable" });
      return null;
    }
    const sums = await d.readSums(n, 1);
    const why = checkBlock(rec, {
      setId: this.set.setId,
      stripe,
      shard,
      group,
      blockSize: layout.blockSize,
      sum: sums.length === 32 ? sums : undefined,
    });
    if (why) {
      this.bad.push({ drive: driveIdx, block: n, stripe, reason: why });
      return null;
    }
    return rec.subarray(BLOCK_HEADER_SIZE);
  }

  /** The k·blockSize data bytes of global stripe `s`; throws E_UNRECOVERABLE. */
  async readStripe(s: number): Promise<Buffer> {
    const hit = this.cache.get(s);
    if (hit) {
      this.cache.delete(s);
      this.cache.set(s, hit);
      return hit;
    }
    const { k, m } = this.set.layout;
    const shards: (Buffer | null)[] = new Array(k + m).fill(null);
    const tried: boolean[] = new Array(k + m).fill(false);
    const members = this.set.layout.groups[s % this.set.layout.groups.length]!.drives;
    let good = 0;
    // Data shards first, then parity. Blocks of drives whose SUMS file does not match the
    // signed manifest are read last: their SUMS entries cannot vouch for them, so a block
    // rewritten together with its SUMS entry would pass the checks and fail decryption.
    // Reads run in parallel across drives, in waves of exactly as many blocks as still needed.
    for (const wantTrusted of [true, false]) {
      const candidates: number[] = [];
      for (let i = 0; i < k + m; i++) {
        if (!tried[i] && (await this.sumsTrusted(members[i]!)) === wantTrusted) candidates.push(i);
      }
      while (good < k && candidates.length) {
        const wave = candidates.splice(0, k - good);
        const got = await Promise.all(
          wave.map((i) => {
            tried[i] = true;
            return this.readShard(s, i);
          }),
        );
        got.forEach((b, j) => {
          shards[wave[j]!] = b;
          if (b) good++;
        });
      }
    }
    if (good < k) {
      throw new FerryError(
        "E_UNRECOVERABLE",
        `stripe ${s} has only ${good} of the ${k} good blocks it needs`,
        {
          hint: "Bring more drives of the set (see `ferry verify` for which)",
          detail: { stripe: s },
        },
      );
    }
    if (shards.slice(0, k).some((x) => !x)) {
      this.rs.reconstruct(shards, { dataOnly: true });
      this.repairedStripes++;
    }
    const data = Buffer.concat(shards.slice(0, k) as Buffer[]);
    this.cache.set(s, data);
    if (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value as number);
    return data;
  }

  /** Reads `length` bytes of the data log at `offset`. */
  async readLog(offset: number, length: number): Promise<Buffer> {
    const size = stripeDataSize(this.set.layout);
    const parts: Buffer[] = [];
    let pos = offset;
    const end = offset + length;
    while (pos < end) {
      const s = Math.floor(pos / size);
      const data = await this.readStripe(s);
      const from = pos - s * size;
      const to = Math.min(size, end - s * size);
      parts.push(data.subarray(from, to));
      pos += to - from;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  async close(): Promise<void> {
    for (const d of this.set.drives) await d?.close();
  }
}
