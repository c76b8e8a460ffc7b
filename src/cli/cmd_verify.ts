import { parseArgs } from "node:util";
import { FerryError, type VerifyEvent, verify } from "../index.js";
import { abs, parse, unlockFrom } from "./args.js";
import { type CliIO, type Command, EXIT } from "./io.js";
import { cell, jsonLine } from "./output.js";
import { Progress } from "./progress.js";

export const VERIFY_HELP = `Usage: ferry verify PATH... [--full] [--identity FILE | --passphrase-file F] [--json]

Checks any subset of a set's drives and reports, per bag and drive, blocks ok / damaged /
missing, whether every stripe is still recoverable, the files that would be lost (needs the
key), and a repair plan.

  --full                 read and check every block (default: labels, signatures, sizes)
  --identity FILE        age identity: also name lost files and, with --full, decrypt-check every chunk
  --passphrase-file F    the set's passphrase instead of an identity
  --state FILE           where a --full run records progress to resume (default ~/.cache/ferry)
  --restart              ignore recorded progress and check everything again
  --json                 machine-readable report on stdout

Exit: 0 healthy; 3 damaged or missing but fully recoverable; 4 data would be lost; 2 usage; 1 error.
`;

/** `ferry verify`. */
export const verifyCommand: Command = async (argv, io) => {
  const { values, positionals } = parse("verify", () =>
    parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        full: { type: "boolean" },
        identity: { type: "string", multiple: true },
        "passphrase-file": { type: "string" },
        state: { type: "string" },
        restart: { type: "boolean" },
        json: { type: "boolean" },
        quiet: { type: "boolean", short: "q" },
        help: { type: "boolean", short: "h" },
      },
    }),
  );
  if (values.help) {
    io.stdout.write(VERIFY_HELP);
    return EXIT.OK;
  }
  if (!positionals.length) throw new FerryError("E_USAGE", "verify needs at least one drive path");
  const json = !!values.json;
  const progress = new Progress(io, "verify", json || !!values.quiet);
  const bs = { size: 0 };
  const onEvent = (e: VerifyEvent) => {
    if (e.type === "start" && e.resumedBlocks > 0 && !json) {
      io.stderr.write(`Resuming a full check: ${e.resumedBlocks} of ${e.blocks} blocks already checked\n`);
    }
    if (e.type === "progress") {
      progress.update([
        { label: "all drives", done: e.checked * bs.size, total: e.total * bs.size },
        ...e.drives.map((d) => ({
          label: d.path.split("/").pop() ?? d.path,
          done: d.checked * bs.size,
          total: d.total * bs.size,
        })),
      ]);
    }
  };
  const unlock = unlockFrom(io, values.identity, values["passphrase-file"]);
  const r = await verify({
    drives: positionals.map((p) => abs(io, p)),
    full: !!values.full,
    unlock,
    ...(values.state ? { statePath: abs(io, values.state) } : {}),
    restart: !!values.restart,
    onEvent: (e) => {
      if (e.type === "start") bs.size = e.blockSize;
      onEvent(e);
    },
  });
  progress.done();
  if (json) jsonLine(io, { type: "report", ...r });
  else printReport(io, r);
  return r.exitCode === 0 ? EXIT.OK : r.exitCode === 3 ? EXIT.DEGRADED : EXIT.DATA_LOSS;
};

function printReport(io: CliIO, r: Awaited<ReturnType<typeof verify>>): void {
  const w = (s: string) => io.stdout.write(`${s}\n`);
  const l = r.layout;
  w(
    `Set ${r.set.slice(0, 8)}: ${r.drives.length} drives in ${r.bags.length} bags, ${l.k}+${l.m} per stripe in ${l.groups} group(s), tolerates ${l.tolerate}; ${r.mode} check`,
  );
  w("");
  w(
    `${cell("BAG", 10)} ${cell("DRIVE", 5)} ${cell("BLOCKS", 8, true)} ${cell("OK", 8, true)} ${cell("DAMAGED", 8, true)} ${cell("MISSING", 8, true)}  PATH / NOTES`,
  );
  for (const b of r.bags) {
    for (const d of r.drives.filter((x) => x.bag === b.bag)) {
      const ok = r.mode === "quick" ? `${d.unchecked}?` : String(d.ok);
      const note = [d.path ?? "(not at hand)", ...d.problems.slice(0, 3)].join("; ");
      w(
        `${cell(d.bag, 10)} ${cell(d.index, 5)} ${cell(d.blocks, 8, true)} ${cell(ok, 8, true)} ${cell(d.damaged, 8, true)} ${cell(d.missing, 8, true)}  ${note}`,
      );
    }
    w(
      `${cell(b.bag, 10)} ${cell("all", 5)} ${cell(`${b.present}/${b.drives} drv`, 8, true)} ${cell(r.mode === "quick" ? "-" : b.ok, 8, true)} ${cell(b.damaged, 8, true)} ${cell(b.missing, 8, true)}`,
    );
  }
  w("");
  if (r.mode === "quick")
    w("Quick check: labels, signatures, SUMS and sizes only; run with --full to read every block.");
  w(
    `Stripes: ${r.stripes} total, ${r.degradedStripes} degraded, ${r.unrecoverableStripes} unrecoverable -> ${r.recoverable ? "all data recoverable" : "DATA WOULD BE LOST"}`,
  );
  if (r.lostFiles?.length) {
    w(`Files that would be lost (${r.lostFiles.length}):`);
    for (const f of r.lostFiles.slice(0, 50)) w(`  ${f}`);
    if (r.lostFiles.length > 50) w(`  ... and ${r.lostFiles.length - 50} more (see --json)`);
  }
  if (r.decrypt) {
    w(
      `Decryption check: ${r.decrypt.files} files, ${r.decrypt.chunks} chunks, ${r.decrypt.failed.length} failed`,
    );
    for (const f of r.decrypt.failed.slice(0, 20)) w(`  ${f.path}: ${f.reason}`);
  }
  w("Repair plan:");
  for (const p of r.repairPlan) w(`  - ${p}`);
  w(`Status: ${r.status.toUpperCase()} (exit ${r.exitCode})`);
}
