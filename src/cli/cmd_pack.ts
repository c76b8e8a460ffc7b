import { parseArgs } from "node:util";
import { FerryError, isS3Url, type PackEvent, pack, parseDriveSpec } from "../index.js";
import { abs, parse, readArgFile, readPassphrase } from "./args.js";
import { S3_HELP, S3_OPTIONS, s3SettingsFrom } from "./cmd_s3_options.js";
import { type Command, EXIT } from "./io.js";
import { human, jsonLine, plural } from "./output.js";
import { Progress } from "./progress.js";

export const PACK_HELP = `Usage: ferry pack SRC --drive BAG=PATH... --tolerate POLICY (--recipient age1... | --passphrase-file F) [options]

Packs folder SRC (or bucket prefix s3://BUCKET/PREFIX) onto the drives of a new set, or resumes the unfinished set the drives
already hold (run the same command again after a crash or a full drive).

  --drive BAG=PATH        a drive (mounted folder) and the bag/courier it travels in; repeat per drive
  --tolerate POLICY       N (any N drives lost), bag (any one whole bag), bag+N (a bag and N more)
  --recipient age1...     age recipient that may open the set; repeatable (see ferry keygen)
  --passphrase-file F     passphrase (first line of F) that may open the set
  --plan FILE             take --tolerate from a layout saved by \`ferry plan\`
  --catalog FILE          origin catalog (default $FERRY_HOME/catalog.db or ~/.local/share/ferry/catalog.db)
  --block-size BYTES      block payload size (default 1MiB-72: 1 MiB blocks with their header,
                          written with O_DIRECT; 1MiB with FERRY_DIRECT=0)
  --unsafe-no-fsync       do not fsync drives (benchmarks only: a crash can lose data)
  --threads N             worker threads that read, chunk and seal (default: one per core; 0: none)
  --json                  machine-readable events and summary on stdout
  --quiet                 no progress output

Source files of 1 MiB and more that are not already in memory are read with O_DIRECT, and
blocks are written with O_DIRECT; FERRY_DIRECT=0 goes through the page cache for both.

${S3_HELP}
Exit: 0 done; 3 done but some files could not be packed (listed); 2 usage; 1 error.
`;

function parseThreads(s: string): number {
  const n = Number(s);
  if (!/^\d+$/.test(s.trim()) || n > 256) {
    throw new FerryError(
      "E_USAGE",
      `--threads ${JSON.stringify(s)} is not a number of threads from 0 to 256`,
      {
        hint: "Pass e.g. --threads 4, or leave it out for one per core",
      },
    );
  }
  return n;
}

function parseSize(s: string): number {
  const m = /^(\d+)\s*(|b|k|kib|kb|m|mib|mb)$/i.exec(s.trim());
  if (!m) throw new FerryError("E_USAGE", `--block-size ${s}: expected bytes, e.g. 1048576 or 1MiB`);
  const unit = m[2]!.toLowerCase();
  const mult = unit.startsWith("k")
    ? unit === "kb"
      ? 1000
      : 1024
    : unit.startsWith("m")
      ? unit === "mb"
        ? 1e6
        : 1 << 20
      : 1;
  return Number(m[1]) * mult;
}

/**
 * Checks the drives given against the bags a plan laid out: by bag name when the command uses
 * the plan's names, otherwise by the number and sizes of the bags.
 */
function checkPlanBags(
  planBags: { name: string; drives: number }[],
  drives: { bag: string }[],
  file: string,
): void {
  const given = new Map<string, number>();
  for (const d of drives) given.set(d.bag, (given.get(d.bag) ?? 0) + 1);
  const byName = planBags.every((b) => given.has(b.name));
  const fail = (what: string) => {
    throw new FerryError("E_USAGE", `the drives do not match plan ${file}: ${what}`, {
      hint: "Pass --drive BAG=PATH as the plan lays out, or re-plan",
    });
  };
  if (byName) {
    for (const b of planBags) {
      if (given.get(b.name) !== b.drives)
        fail(`bag ${b.name} has ${given.get(b.name)} drive(s), the plan ${b.drives}`);
    }
    if (given.size !== planBags.length) fail(`${given.size} bags given, the plan has ${planBags.length}`);
    return;
  }
  const a = planBags.map((b) => b.drives).sort((x, y) => x - y);
  const g = [...given.values()].sort((x, y) => x - y);
  if (a.join(",") !== g.join(",")) fail(`bags of ${g.join("/")} drives given, the plan has ${a.join("/")}`);
}

/** `ferry pack`. */
export const packCommand: Command = async (argv, io) => {
  const { values, positionals } = parse("pack", () =>
    parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        drive: { type: "string", multiple: true },
        tolerate: { type: "string" },
        recipient: { type: "string", multiple: true },
        "passphrase-file": { type: "string" },
        plan: { type: "string" },
        catalog: { type: "string" },
        "block-size": { type: "string" },
        "unsafe-no-fsync": { type: "boolean" },
        threads: { type: "string" },
        ...S3_OPTIONS,
        json: { type: "boolean" },
        quiet: { type: "boolean", short: "q" },
        help: { type: "boolean", short: "h" },
      },
    }),
  );
  if (values.help) {
    io.stdout.write(PACK_HELP);
    return EXIT.OK;
  }
  if (positionals.length !== 1) {
    throw new FerryError("E_USAGE", "pack takes exactly one source folder", {
      hint: "ferry pack SRC --drive BAG=PATH ...",
    });
  }
  const drives = (values.drive ?? []).map(parseDriveSpec).map((d) => ({ bag: d.bag, path: abs(io, d.path) }));
  let tolerate = values.tolerate;
  if (values.plan) {
    let plan: { layout?: { tolerate?: unknown; bags?: { name: string; drives: number }[] } };
    try {
      plan = JSON.parse(readArgFile(io, values.plan, "plan file"));
    } catch (e) {
      if (FerryError.is(e)) throw e;
      throw new FerryError("E_USAGE", `plan file ${values.plan} is not valid JSON`);
    }
    const t = plan.layout?.tolerate;
    if (typeof t !== "string") {
      throw new FerryError("E_USAGE", `plan file ${values.plan} has no layout.tolerate`, {
        hint: "Save one with `ferry plan ... --save-layout FILE`",
      });
    }
    if (tolerate && tolerate !== t) {
      throw new FerryError("E_USAGE", `--tolerate ${tolerate} contradicts the plan's ${t}`);
    }
    tolerate = t;
    checkPlanBags(plan.layout?.bags ?? [], drives, values.plan);
  }
  if (!tolerate) {
    throw new FerryError("E_USAGE", "pack needs --tolerate (e.g. 2, bag or bag+1)", {
      hint: "Say how many drives, or which bag, the set must survive losing",
    });
  }
  const json = !!values.json;
  const progress = new Progress(io, "pack", json || !!values.quiet);
  let total = 0;
  let perDrive = 0;
  let layout: { k: number; blockSize: number; groups: unknown[] } | null = null;
  const onEvent = (e: PackEvent) => {
    if (json) {
      jsonLine(io, e);
      return;
    }
    if (e.type === "start") {
      layout = e.layout;
      if (values.quiet) return;
      io.stderr.write(
        `${e.resumed ? "Resuming" : "Packing"} set ${e.set.slice(0, 8)}: ${e.description}\n` +
          `  parity overhead ${(e.overhead * 100).toFixed(0)}%, ${e.layout.drives.length} drives, block ${human(e.layout.blockSize)}\n`,
      );
    } else if (e.type === "scan") {
      total = e.bytes;
      if (values.quiet) return;
      // Each drive of a group gets one block per stripe of its group: its share of the source.
      if (layout) perDrive = (e.bytes / (layout.k * layout.groups.length)) * (1 + 72 / layout.blockSize);
      io.stderr.write(`  source: ${e.files} files, ${human(e.bytes)}\n`);
    } else if (e.type === "skip") {
      io.stderr.write(`  skipped ${e.path}: ${e.reason}\n`);
    } else if (e.type === "retry") {
      io.stderr.write(`  retry ${e.op} ${e.key} (attempt ${e.attempt}, in ${e.delayMs} ms): ${e.error}\n`);
    } else if (e.type === "warning") {
      io.stderr.write(`  warning: ${e.message}\n`);
    } else if (e.type === "progress") {
      progress.update([
        { label: `source (${e.files} files)`, done: e.bytes, total },
        ...e.drives.map((d) => ({
          label: `${d.bag}:${d.path.split("/").pop()}`,
          done: d.bytes,
          total: perDrive,
        })),
      ]);
    }
  };
  const start = Date.now();
  const r = await pack({
    source: isS3Url(positionals[0]!) ? positionals[0]! : abs(io, positionals[0]!),
    ...(isS3Url(positionals[0]!) ? { s3: s3SettingsFrom(io, values) } : {}),
    drives,
    tolerate,
    ...(values.recipient ? { recipients: values.recipient } : {}),
    ...(values["passphrase-file"] ? { passphrase: readPassphrase(io, values["passphrase-file"]) } : {}),
    ...(values.catalog ? { catalog: abs(io, values.catalog) } : {}),
    ...(values["block-size"] ? { blockSize: parseSize(values["block-size"]) } : {}),
    fsync: !values["unsafe-no-fsync"],
    ...(values.threads !== undefined ? { threads: parseThreads(values.threads) } : {}),
    scan: !json && !values.quiet,
    onEvent,
  });
  progress.done();
  const secs = (Date.now() - start) / 1000;
  const bad = r.skipped.filter((s) => !s.reason.startsWith("special file"));
  if (json) {
    jsonLine(io, { type: "summary", ...r, seconds: secs });
  } else if (values.quiet) {
    // only warnings and skipped files
  } else if (r.alreadyComplete) {
    io.stderr.write(`Set ${r.set.slice(0, 8)} is already complete on these drives; nothing to do.\n`);
  } else {
    const s = r.stats;
    io.stderr.write(
      `Packed ${plural(s.files, "file")}, ${plural(s.dirs, "folder")}, ${plural(s.symlinks, "symlink")}: ${human(s.bytes)} in ${secs.toFixed(1)}s (${human(s.bytes / Math.max(secs, 0.001))}/s)\n` +
        `  stored ${human(s.storedBytes)} after dedup (${s.dedupChunks} of ${s.chunks} chunks) and compression (${s.compressedChunks} chunks)\n` +
        `  every drive carries a signed manifest; set id ${r.set}\n` +
        `  next: carry the drives; at arrival run \`ferry verify --full DRIVE...\` then \`ferry unpack DRIVE... --to DIR --identity KEY\`\n`,
    );
    if (r.skipped.length) io.stderr.write(`  ${r.skipped.length} path(s) skipped (listed above)\n`);
  }
  return bad.length ? EXIT.DEGRADED : EXIT.OK;
};
