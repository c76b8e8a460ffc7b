import { readFileSync, writeFileSync } from "node:fs";
import { dirname, extname, resolve } from "node:path";
import { parseArgs } from "node:util";
import {
  checkRawPlan,
  FerryError,
  formatBytes,
  layoutFile,
  mergeRawPlans,
  PLAN_FLAGS,
  parsePlanText,
  planToJson,
  planTransfer,
  type RawPlanInput,
  renderPlanHtml,
  renderPlanSvg,
  renderPlanText,
  resolvePlanInput,
  type SourceProfile,
  scanSource,
} from "../index.js";
import { type CliIO, type Command, EXIT } from "./io.js";

/**
 * `ferry plan --help`.
 * @example
 * io.stdout.write(PLAN_HELP);
 */
export const PLAN_HELP = `Usage: ferry plan [PLAN_FILE] [options]

Is it faster to send the data over the network, to fly drives, or both? For each option:
a stage-by-stage timeline until training can start, bytes on the wire, drives and bags,
cost, the parity layout per bag, and the chance a re-ship is needed; the same for bringing
results back; and which option wins, in one sentence.

Write values as people do: 80 TB or 72 TiB, 1 Gbit/s or 100 MB/s, 24 h or 1.5 d, 80%,
$0.09/GB or $500/month. A plan file (YAML or JSON) uses the names in brackets; flags win.

Data
  --size SIZE               data to move [data.size]
  --source DIR              scan DIR: files, bytes by type, compressibility, duplicates [data.source]
  --files N                 file count, when not scanning [data.files]
  --compress-ratio R        packed size ÷ original, e.g. 0.7 [data.compressRatio]
  --duplicates PCT          share of duplicate bytes [data.duplicates]
  --scan-rate N             files/s pack lists at the source (default 10000) [data.scanRate]
  --return SIZE             results to bring back, e.g. 300 GB [return.size]
  --return-bandwidth RATE   link rate for the return (default: --bandwidth) [return.bandwidth]
  --return-ingest RATE      how fast the origin takes the results [return.ingest]
  --return-drives-at-once N drives the destination writes at once [return.drivesAtOnce]
Network
  --bandwidth RATE          link rate, e.g. 1 Gbit/s [network.bandwidth]
  --utilisation PCT         share of the link you get (default 80%) [network.utilisation]
  --rtt TIME                round trip, e.g. 150 ms (TCP window bound) [network.rtt]
  --loss PCT                packet loss, e.g. 0.01% (Mathis bound) [network.loss]
  --streams N               parallel TCP streams (default 1) [network.streams]
  --tcp-window SIZE         largest TCP window (default 6 MiB) [network.window]
  --net-price PRICE         $0.09/GB or $500/month [network.price]
Drives
  --drive-size SIZE         capacity of one drive [drives.capacity]
  --drive-write RATE        sustained write rate of one drive [drives.write]
  --drive-read RATE         sustained read rate (default: the write rate) [drives.read]
  --drives N                drives you have (default: as many as needed) [drives.count]
  --hosts N                 hosts writing drives (default 1) [drives.hosts]
  --drives-per-host N       drives one host writes at once (default 4) [drives.perHost]
  --host-rate RATE          what one host can push in total (default unlimited) [drives.hostRate]
  --drive-price PRICE       price of one drive [drives.price]
  --afr PCT                 annual failure rate (default 1.5%) [drives.afr]
  --reserve PCT             share of each drive kept free (default 2%) [drives.reserve]
  --tolerate N|bag|bag+N    parity policy (default: survive losing any one bag) [tolerate]
Couriers
  --bags N                  bags (default: as few as hold the drives) [couriers.bags]
  --drives-per-bag N        most drives in one bag (default 15) [couriers.drivesPerBag]
  --door-to-door TIME       courier time door to door, e.g. 24 h [couriers.doorToDoor]
  --handling TIME           delay at each end (default 0) [couriers.handling]
  --courier-price PRICE     per bag per trip [couriers.price]
  --bag-loss PCT            chance a bag is lost on a trip (default 0) [couriers.bagLoss]
Destination
  --dest-servers N          servers ingesting [destination.servers]
  --dest-server-rate RATE   ingest rate of one server [destination.perServer]
  --dest-store-rate RATE    or: an object store's aggregate rate [destination.objectStore]
  --dest-drives-at-once N   drives read at once (default: as the origin) [destination.drivesAtOnce]
Output
  --json                    the whole plan as JSON, with the drive layout under "layout"
  --out FILE                write a timeline chart: FILE.html (page) or FILE.svg
  --save-layout FILE        write the drive layout for \`ferry pack --plan FILE\`
  -f, --file FILE           the plan file (or give it as the first argument)
  -h, --help                this help

Example
  ferry plan --size "80 TB" --bandwidth "100 Mbit/s" --utilisation 80% \\
    --drive-size "2 TB" --drive-write "250 MB/s" --drives 60 --bags 4 --drives-per-bag 15 \\
    --door-to-door 24h --return "300 GB" --out plan.html --save-layout plan.json
`;

const FLAG_ALIASES: Record<string, string> = { utilization: "network.utilisation" };

function flagOptions(): Record<string, { type: "string" }> {
  const out: Record<string, { type: "string" }> = {};
  for (const flag of Object.values(PLAN_FLAGS)) out[flag.slice(2)] = { type: "string" };
  for (const alias of Object.keys(FLAG_ALIASES)) out[alias] = { type: "string" };
  return out;
}

function rawFromFlags(values: Record<string, unknown>): RawPlanInput {
  const raw: Record<string, Record<string, unknown> | unknown> = {};
  const set = (field: string, v: unknown) => {
    const [section, key] = field.split(".");
    if (key === undefined) {
      raw[section!] = v;
      return;
    }
    const sec = (raw[section!] as Record<string, unknown> | undefined) ?? {};
    sec[key] = v;
    raw[section!] = sec;
  };
  for (const [field, flag] of Object.entries(PLAN_FLAGS)) {
    const v = values[flag.slice(2)];
    if (typeof v === "string") set(field, v);
  }
  for (const [alias, field] of Object.entries(FLAG_ALIASES)) {
    const v = values[alias];
    if (typeof v === "string") set(field, v);
  }
  return raw as RawPlanInput;
}

function readPlanFile(io: CliIO, path: string): { raw: RawPlanInput; dir: string } {
  const abs = resolve(io.cwd, path);
  let text: string;
  try {
    text = readFileSync(abs, "utf8");
  } catch (e) {
    throw new FerryError(
      "E_USAGE",
      `plan: cannot read plan file ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`,
      {
        hint: "check the plan file path",
      },
    );
  }
  return { raw: checkRawPlan(parsePlanText(text, path), path), dir: dirname(abs) };
}

function writeOut(io: CliIO, path: string, text: string, what: string): string {
  const abs = resolve(io.cwd, path);
  try {
    writeFileSync(abs, text);
  } catch (e) {
    throw new FerryError(
      "E_USAGE",
      `plan: cannot write ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`,
      {
        hint: "check that the folder exists and is writable",
      },
    );
  }
  return abs;
}

/**
 * `ferry plan`: network vs drives vs both, in both directions, with the timeline.
 *
 * @example
 * const code = await planCommand(["--size", "80 TB", "--bandwidth", "1 Gbit/s"], io);
 */
export const planCommand: Command = async (argv, io) => {
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        ...flagOptions(),
        file: { type: "string", short: "f" },
        json: { type: "boolean" },
        out: { type: "string", short: "o" },
        "save-layout": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    throw new FerryError("E_USAGE", `plan: ${(e as Error).message}`, { hint: "run `ferry plan --help`" });
  }
  const values = parsed.values;
  if (values.help) {
    io.stdout.write(PLAN_HELP);
    return EXIT.OK;
  }
  if (parsed.positionals.length > 1 || (parsed.positionals.length === 1 && values.file !== undefined)) {
    throw new FerryError(
      "E_USAGE",
      `plan: give one plan file (got ${[...parsed.positionals, values.file].filter(Boolean).join(", ")})`,
      {
        hint: "ferry plan plan.yaml [options]",
      },
    );
  }
  const out = typeof values.out === "string" ? values.out : undefined;
  if (out !== undefined && ![".html", ".htm", ".svg"].includes(extname(out).toLowerCase())) {
    throw new FerryError("E_USAGE", `plan: --out ${out} must end in .html or .svg`, {
      hint: "use --out plan.html for a page, --out plan.svg for the chart alone, --json for data",
    });
  }

  // Inputs: the plan file, then flags on top.
  const fileArg = (typeof values.file === "string" ? values.file : undefined) ?? parsed.positionals[0];
  const layers: RawPlanInput[] = [];
  let sourceBase = io.cwd;
  if (fileArg) {
    const f = readPlanFile(io, fileArg);
    layers.push(f.raw);
    if (f.raw.data?.source) sourceBase = f.dir;
  }
  const flags = rawFromFlags(values);
  if (flags.data?.source) sourceBase = io.cwd;
  layers.push(flags);
  const raw = mergeRawPlans(...layers);

  let scan: SourceProfile | undefined;
  if (raw.data?.source) {
    const dir = resolve(sourceBase, raw.data.source);
    const tty = Boolean(io.stderr.isTTY);
    if (tty) io.stderr.write(`ferry plan: scanning ${dir}…\n`);
    scan = await scanSource(dir, {
      onProgress: tty
        ? (p) => io.stderr.write(`\r  ${p.files.toLocaleString("en-US")} files, ${formatBytes(p.bytes)}   `)
        : undefined,
    });
    if (tty) io.stderr.write("\r\x1b[K");
  }

  const plan = planTransfer(resolvePlanInput(raw, scan));

  const notes: string[] = [];
  if (out !== undefined) {
    const svg = extname(out).toLowerCase() === ".svg";
    writeOut(io, out, svg ? renderPlanSvg(plan) : renderPlanHtml(plan), "chart");
    notes.push(`Wrote the timeline chart to ${out}${svg ? "" : " (open it in a browser)"}.`);
  }
  const saveLayout = typeof values["save-layout"] === "string" ? values["save-layout"] : undefined;
  if (saveLayout !== undefined) {
    writeOut(io, saveLayout, `${JSON.stringify(layoutFile(plan), null, 2)}\n`, "layout");
    notes.push(`Wrote the drive layout to ${saveLayout}: pack it with ferry pack --plan ${saveLayout}.`);
  }

  if (values.json) {
    io.stdout.write(`${JSON.stringify(planToJson(plan), null, 2)}\n`);
    for (const n of notes) io.stderr.write(`${n}\n`);
  } else {
    const width = Math.min(140, Math.max(80, io.stdout.columns ?? 100));
    io.stdout.write(renderPlanText(plan, { width }));
    if (notes.length) io.stdout.write(`\n${notes.join("\n")}\n`);
  }
  return EXIT.OK;
};
