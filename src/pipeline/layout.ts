import { randomBytes } from "node:crypto";
import { FerryError } from "../errors.js";
import { BLOCK_HEADER_SIZE, type DriveSlot, type SetLayout } from "../format/index.js";
import { chooseGeometry, type Geometry, parseTolerance } from "../plan/geometry.js";

/** A drive as given on the command line: `--drive BAG=PATH`. */
export interface DriveSpec {
  bag: string;
  path: string;
}

/**
 * Parses `BAG=PATH`. A bare PATH is refused: bags are what make parity courier-aware.
 *
 * @example
 * parseDriveSpec("bag1=/mnt/a") // { bag: "bag1", path: "/mnt/a" }
 */
export function parseDriveSpec(s: string): DriveSpec {
  const eq = s.indexOf("=");
  if (eq <= 0 || eq === s.length - 1) {
    throw new FerryError("E_USAGE", `--drive ${s}: expected BAG=PATH`, {
      hint: "Name the bag each drive travels in, e.g. --drive alice=/mnt/d1",
    });
  }
  return { bag: s.slice(0, eq), path: s.slice(eq + 1) };
}

/**
 * Default block payload size: 1 MiB less the 72-byte block header, so that each block record is
 * exactly 1 MiB and every record starts on a 4 KiB boundary of its segment file, which lets pack
 * write records with O_DIRECT (see {@link DriveWriter}). Any size from 512 B to 64 MiB is valid.
 *
 * @example
 * buildLayout(drives, "bag", DEFAULT_BLOCK_SIZE);
 */
export const DEFAULT_BLOCK_SIZE = (1 << 20) - BLOCK_HEADER_SIZE;

/**
 * Lays out a new set: chooses the stripe geometry for the policy (the same rule as
 * `ferry plan`), gives each drive a random id, and assigns drives to groups and shards.
 *
 * @example
 * const { layout, geometry } = buildLayout(drives, "bag", 1 << 20);
 */
export function buildLayout(
  drives: DriveSpec[],
  tolerate: string,
  blockSize: number,
): { layout: SetLayout; geometry: Geometry } {
  if (!Number.isInteger(blockSize) || blockSize < 512 || blockSize > 64 << 20) {
    throw new FerryError("E_USAGE", `block size ${blockSize} is out of range (512 bytes to 64 MiB)`, {
      hint: "Leave --block-size at its default (1 MiB less the 72-byte header) unless you measured a reason",
    });
  }
  if (drives.length === 0) {
    throw new FerryError("E_USAGE", "no drives given", { hint: "Pass --drive BAG=PATH once per drive" });
  }
  const paths = new Set<string>();
  for (const d of drives) {
    if (paths.has(d.path)) throw new FerryError("E_USAGE", `drive path ${d.path} is given twice`);
    paths.add(d.path);
  }
  const bagOrder: string[] = [];
  const perBag = new Map<string, number[]>();
  drives.forEach((d, i) => {
    if (!perBag.has(d.bag)) {
      bagOrder.push(d.bag);
      perBag.set(d.bag, []);
    }
    perBag.get(d.bag)!.push(i);
  });
  const geometry = chooseGeometry(
    bagOrder.map((name) => ({ name, drives: perBag.get(name)!.length })),
    parseTolerance(tolerate),
  );
  const slots: DriveSlot[] = drives.map((d, i) => ({
    index: i,
    id: randomBytes(16).toString("hex"),
    bag: d.bag,
    group: -1,
    shard: -1,
  }));
  const first = geometry.groups[0]!;
  const groups = geometry.groups.map((g, gi) => {
    if (g.k !== first.k || g.m !== first.m) throw new FerryError("E_INTERNAL", "groups with different k/m");
    return {
      drives: g.drives.map((ref, shard) => {
        const idx = perBag.get(ref.bag)![ref.index]!;
        slots[idx]!.group = gi;
        slots[idx]!.shard = shard;
        return idx;
      }),
    };
  });
  if (slots.some((s) => s.group < 0)) throw new FerryError("E_INTERNAL", "geometry left a drive unassigned");
  return {
    layout: { tolerate: geometry.tolerate, blockSize, k: first.k, m: first.m, groups, drives: slots },
    geometry,
  };
}
