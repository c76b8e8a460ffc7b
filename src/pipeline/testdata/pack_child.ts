/** Test helper: packs argv[2] onto two folder-drives under argv[3]; prints skipped files and counts as JSON. */
import { join } from "node:path";
import { pack } from "../pack.js";

const [src, work, recipient] = process.argv.slice(2) as [string, string, string];
const r = await pack({
  source: src,
  drives: [
    { bag: "a", path: join(work, "d1") },
    { bag: "b", path: join(work, "d2") },
  ],
  tolerate: "1",
  recipients: [recipient],
  catalog: join(work, "cat.db"),
  blockSize: 4096,
  fsync: false,
});
process.stdout.write(JSON.stringify({ skipped: r.skipped, files: r.stats.files }));
