import { parseArgs } from "node:util";
import { FerryError, isS3Url, parseS3Url, type UnpackEvent, unpack } from "../index.js";
import { abs, parse, unlockFrom } from "./args.js";
import { S3_HELP, S3_OPTIONS, s3SettingsFrom, workerFrom } from "./cmd_s3_options.js";
import { type Command, EXIT } from "./io.js";
import { human, jsonLine, plural } from "./output.js";
import { Progress } from "./progress.js";

export const UNPACK_HELP = `Usage: ferry unpack PATH... --to DIR|s3://BUCKET/PREFIX (--identity FILE | --passphrase-file F) [--only GLOB]... [--json]

Restores the set into DIR from the drives at hand, rebuilding missing or damaged blocks from
parity and checking every chunk and file hash. Rerun the same command to resume.

  --to DIR               target folder (created if missing)
  --to s3://BUCKET/PFX   or an S3-compatible bucket: one object per file, checksummed, with
                         ferry-blake3/-mtime-ns/-mode metadata; reruns upload only what is missing
  --worker I/N           (s3) take share I of N (0-based), so N hosts ingest in parallel
  --worker env           (s3) I from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID
  --workers N            (s3) N for --worker env (default SLURM_ARRAY_TASK_COUNT)
  --identity FILE        age identity whose recipient was given to pack (repeatable)
  --passphrase-file F    the set's passphrase
  --only GLOB            restore only matching paths (*, **, ?); repeatable
  --json                 machine-readable events and summary on stdout

${S3_HELP}
Files of 256 KiB and more are written with O_DIRECT (straight to the drive, no page-cache copy);
FERRY_DIRECT=0 writes everything through the page cache.

Exit: 0 restored; 4 some files could not be restored (listed); 2 usage; 1 error.
`;

/** `ferry unpack`. */
export const unpackCommand: Command = async (argv, io) => {
  const { values, positionals } = parse("unpack", () =>
    parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        to: { type: "string" },
        identity: { type: "string", multiple: true },
        "passphrase-file": { type: "string" },
        only: { type: "string", multiple: true },
        worker: { type: "string" },
        workers: { type: "string" },
        ...S3_OPTIONS,
        json: { type: "boolean" },
        quiet: { type: "boolean", short: "q" },
        help: { type: "boolean", short: "h" },
      },
    }),
  );
  if (values.help) {
    io.stdout.write(UNPACK_HELP);
    return EXIT.OK;
  }
  if (!positionals.length) throw new FerryError("E_USAGE", "unpack needs at least one drive path");
  if (!values.to) throw new FerryError("E_USAGE", "unpack needs --to DIR");
  const unlock = unlockFrom(io, values.identity, values["passphrase-file"]);
  if (!unlock) {
    throw new FerryError("E_KEY", "unpack needs the set's key", {
      hint: "Pass --identity FILE (from ferry keygen) or --passphrase-file FILE",
    });
  }
  const toS3 = isS3Url(values.to);
  if (toS3) parseS3Url(values.to);
  const worker = workerFrom(io, values.worker, values.workers);
  if (worker && !toS3) throw new FerryError("E_USAGE", "--worker works with --to s3://… only");
  const json = !!values.json;
  const progress = new Progress(io, "unpack", json || !!values.quiet);
  const onEvent = (e: UnpackEvent) => {
    if (json) return jsonLine(io, e);
    if (e.type === "start") {
      if (values.quiet) return;
      io.stderr.write(
        `Unpacking set ${e.set.slice(0, 8)}: ${e.files} files, ${human(e.bytes)} from ${e.drivesPresent} of ${e.drivesTotal} drives\n`,
      );
    } else if (e.type === "progress") {
      progress.update([{ label: `${e.files} files`, done: e.bytes, total: e.totalBytes }]);
    } else if (e.type === "lost") {
      io.stderr.write(`  LOST ${e.path}: ${e.reason}\n`);
    } else if (e.type === "retry") {
      io.stderr.write(`  retry ${e.op} ${e.key} (attempt ${e.attempt}, in ${e.delayMs} ms): ${e.error}\n`);
    } else if (e.type === "warning") {
      io.stderr.write(`  warning: ${e.message}\n`);
    }
  };
  const start = Date.now();
  const r = await unpack({
    drives: positionals.map((p) => abs(io, p)),
    to: toS3 ? values.to : abs(io, values.to),
    ...(toS3 ? { s3: s3SettingsFrom(io, values) } : {}),
    ...(worker ? { worker } : {}),
    unlock,
    ...(values.only ? { only: values.only } : {}),
    onEvent,
  });
  progress.done();
  const secs = (Date.now() - start) / 1000;
  if (json) jsonLine(io, { type: "summary", ...r, seconds: secs });
  else if (!values.quiet || r.lost.length) {
    io.stderr.write(
      `Restored ${plural(r.files, "file")}, ${plural(r.dirs, "folder")}, ${plural(r.symlinks, "symlink")}: ${human(r.bytes)} in ${secs.toFixed(1)}s${r.resumed ? " (resumed)" : ""}\n` +
        `  every chunk and file hash checked; ${r.repairedStripes} stripe(s) rebuilt from parity, ${r.badBlocks} bad or missing block(s) bypassed\n`,
    );
    if (r.s3) {
      io.stderr.write(
        `  ${values.to}${worker ? ` (worker ${worker.index}/${worker.count})` : ""}: ${r.s3.objects} object(s) here, ${r.s3.uploaded} uploaded (${human(r.s3.bytesUploaded)}), ${r.s3.alreadyThere} already there; ${r.s3.retries} retried request(s)\n`,
      );
    }
    if (r.lost.length) io.stderr.write(`  ${r.lost.length} file(s) could not be restored (listed above)\n`);
  }
  return r.lost.length ? EXIT.DATA_LOSS : EXIT.OK;
};
