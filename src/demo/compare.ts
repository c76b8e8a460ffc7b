import { lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { blake3 } from "@napi-rs/blake-hash";

/** One line per entry: type, path, mode, mtime (ms), and content hash or link target. */
export function describeTree(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const visit = (rel: string) => {
    const abs = rel ? join(root, rel) : root;
    for (const name of readdirSync(abs).sort()) {
      if (name.startsWith(".ferry-")) continue;
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, r));
      const meta = `mode=${(st.mode & 0o7777).toString(8)} mtime=${Math.floor(st.mtimeMs)}`;
      if (st.isSymbolicLink()) out.set(r, `link -> ${readlinkSync(join(root, r))}`);
      else if (st.isDirectory()) {
        out.set(r, `dir ${meta}`);
        visit(r);
      } else
        out.set(
          r,
          `file ${meta} size=${st.size} blake3=${blake3(readFileSync(join(root, r))).toString("hex")}`,
        );
    }
  };
  visit("");
  return out;
}

/**
 * Compares two trees by content, mode, mtime and link target; returns the differences
 * (empty when identical).
 *
 * @example
 * const diffs = compareTrees("src", "restored"); // [] when byte-exact
 */
export function compareTrees(a: string, b: string): string[] {
  const da = describeTree(a);
  const db = describeTree(b);
  const diffs: string[] = [];
  for (const [k, v] of da) {
    const w = db.get(k);
    if (w === undefined) diffs.push(`missing: ${k}`);
    else if (w !== v) diffs.push(`differs: ${k}: ${v} vs ${w}`);
  }
  for (const k of db.keys()) if (!da.has(k)) diffs.push(`extra: ${k}`);
  return diffs;
}
