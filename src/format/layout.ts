import { FerryError } from "../errors.js";

/** One drive's place in a set. */
export interface DriveSlot {
  /** Position of the drive in the set, 0-based. */
  index: number;
  /** Random id written on the drive (hex, 16 bytes). */
  id: string;
  /** Bag (courier) the drive travels in. */
  bag: string;
  /** Stripe group the drive belongs to. */
  group: number;
  /** Shard position the drive holds in every stripe of its group. */
  shard: number;
}

/** The whole set's geometry, written on every drive. */
export interface SetLayout {
  /** The loss policy the set was packed for, as given (`2`, `bag`, `bag+1`). */
  tolerate: string;
  /** Payload bytes per block. */
  blockSize: number;
  /** Data shards per stripe (same in every group). */
  k: number;
  /** Parity shards per stripe (same in every group). */
  m: number;
  /** Stripe groups; group g holds global stripes s with s mod groups.length == g. */
  groups: { drives: number[] }[];
  drives: DriveSlot[];
}

/** Body of a drive's LABEL envelope. */
export interface LabelBody {
  format: 1;
  set: string;
  created: string;
  tool: string;
  drive: DriveSlot;
  layout: SetLayout;
  /** Ed25519 public key (hex) that signs this set's labels and manifests. */
  signPub: string;
  /** Wrapped key files, relative to the ferry/ folder. */
  keys: string[];
}

/** Body of a drive's MANIFEST envelope. */
export interface ManifestBody {
  format: 1;
  set: string;
  state: "complete";
  finished: string;
  /** Global stripes written. */
  stripes: number;
  /** Bytes of the data log (the rest of the last stripe is zero padding). */
  logLength: number;
  index: {
    /** Sealed index pieces in order: [log offset, stored length, plain length, flags]. */
    pieces: [number, number, number, number][];
    entries: number;
    /** Drives that also hold every sealed piece, back to back, in `ferry/INDEX`. */
    replicas: number[];
    /** BLAKE3-256 (hex) of that INDEX file, so copies can be checked without the key. */
    replicaHash: string;
  };
  /** Per drive: blocks written and BLAKE3 (hex) of its SUMS file. */
  drives: { index: number; blocks: number; sums: string }[];
  stats: PackStats;
}

/** Totals recorded in the manifest and returned by pack. */
export interface PackStats {
  files: number;
  dirs: number;
  symlinks: number;
  skipped: number;
  bytes: number;
  chunks: number;
  dedupChunks: number;
  storedBytes: number;
  compressedChunks: number;
}

/** Number of blocks the drive at `slot` holds when `stripes` global stripes exist. */
export function blocksOnDrive(layout: SetLayout, group: number, stripes: number): number {
  const g = layout.groups.length;
  return Math.floor(stripes / g) + (group < stripes % g ? 1 : 0);
}

/** Global stripe number of the `n`th block held by a drive of `group`. */
export function stripeOfBlock(layout: SetLayout, group: number, n: number): number {
  return n * layout.groups.length + group;
}

/** Data bytes carried by one stripe. */
export function stripeDataSize(layout: SetLayout): number {
  return layout.k * layout.blockSize;
}

function bad(what: string): never {
  throw new FerryError("E_CORRUPT", `drive label: ${what}`, {
    hint: "The label is damaged or forged; try another drive of the set",
  });
}

const isInt = (v: unknown, min: number, max: number): v is number =>
  typeof v === "number" && Number.isInteger(v) && v >= min && v <= max;

/**
 * Checks a layout read from a drive (untrusted) for internal consistency.
 *
 * @example
 * validateLayout(label.layout);
 */
export function validateLayout(l: SetLayout): void {
  if (typeof l !== "object" || l === null) bad("layout missing");
  if (!isInt(l.k, 1, 255) || !isInt(l.m, 0, 255) || l.k + l.m > 256) bad("bad k/m");
  if (!isInt(l.blockSize, 512, 64 << 20)) bad("bad block size");
  if (!Array.isArray(l.groups) || l.groups.length < 1 || l.groups.length > 256) bad("bad groups");
  if (!Array.isArray(l.drives) || l.drives.length < 1 || l.drives.length > 4096) bad("bad drives");
  const seen = new Set<number>();
  l.groups.forEach((g, gi) => {
    if (typeof g !== "object" || g === null || !Array.isArray(g.drives) || g.drives.length !== l.k + l.m)
      bad(`group ${gi} has the wrong width`);
    g.drives.forEach((d, shard) => {
      if (!isInt(d, 0, l.drives.length - 1) || seen.has(d)) bad(`group ${gi} lists drive ${d} wrongly`);
      seen.add(d);
      const slot = l.drives[d];
      if (!slot || slot.group !== gi || slot.shard !== shard)
        bad(`drive ${d} is not at group ${gi} shard ${shard}`);
    });
  });
  l.drives.forEach((d, i) => {
    if (
      typeof d !== "object" ||
      d === null ||
      d.index !== i ||
      typeof d.id !== "string" ||
      typeof d.bag !== "string"
    )
      bad(`drive ${i} malformed`);
  });
  if (seen.size !== l.drives.length) bad("a drive belongs to no stripe group");
}

/**
 * Checks a label body read from a drive (untrusted, even when validly signed) before any
 * field is used: format version, set id, signing key, the drive's own slot and the layout.
 * Throws E_FORMAT_VERSION for another format, E_CORRUPT for anything malformed.
 *
 * @example
 * validateLabel(decodeEnvelope<LabelBody>(bytes, KIND_LABEL, "label").body, "/mnt/a");
 */
export function validateLabel(b: LabelBody, path: string): void {
  if (b.format !== 1) {
    throw new FerryError(
      "E_FORMAT_VERSION",
      `the label of ${path} says format ${JSON.stringify(b.format)}; this ferry reads format 1`,
      { hint: "Use a ferry release that supports this format version" },
    );
  }
  const hex = (v: unknown, n: number) => typeof v === "string" && v.length === n && /^[0-9a-f]+$/.test(v);
  const where = `label of ${path}`;
  if (!hex(b.set, 32)) bad(`${where}: set id malformed`);
  if (!hex(b.signPub, 64)) bad(`${where}: signing key malformed`);
  const d = b.drive as unknown;
  if (typeof d !== "object" || d === null) bad(`${where}: drive slot missing`);
  const slot = d as DriveSlot;
  if (!isInt(slot.index, 0, 4095) || typeof slot.id !== "string" || typeof slot.bag !== "string")
    bad(`${where}: drive slot malformed`);
  if (b.keys !== undefined && (!Array.isArray(b.keys) || !b.keys.every((k) => typeof k === "string")))
    bad(`${where}: key file list malformed`);
  validateLayout(b.layout);
}
