import { FerryError } from "../index.js";
import { type CliIO, EXIT } from "./io.js";

/** Formats bytes for people: 1.5 GB (decimal units, as drive labels use). */
export function human(bytes: number): string {
  const u = ["B", "kB", "MB", "GB", "TB", "PB"];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < u.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v >= 100 || i === 0 ? v.toFixed(0) : v.toFixed(1)} ${u[i]}`;
}

/** "1 file", "2 files". */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** Formats seconds as 1h02m, 3m20s or 12s. */
export function duration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return "--";
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  if (h) return `${h}h${String(m).padStart(2, "0")}m`;
  if (m) return `${m}m${String(sec).padStart(2, "0")}s`;
  return `${sec}s`;
}

/** Pads or cuts a cell to width. */
export function cell(s: string | number, w: number, right = false): string {
  const t = String(s);
  if (t.length > w) return `${t.slice(0, w - 1)}…`;
  return right ? t.padStart(w) : t.padEnd(w);
}

/** Maps an error to its exit code: usage errors 2, everything else 1. */
export function exitCodeFor(err: unknown): number {
  return FerryError.is(err, "E_USAGE") ? EXIT.USAGE : EXIT.ERROR;
}

/**
 * Prints an error as one line (plus its hint), or as a JSON event with --json.
 * Unknown errors are reported as internal, with a pointer to file a bug.
 */
export function reportError(io: CliIO, err: unknown, json: boolean): number {
  const fe = FerryError.is(err)
    ? err
    : new FerryError("E_INTERNAL", (err as Error)?.message ?? String(err), {
        hint: "This is a bug in ferry; please report it with the command you ran",
      });
  if (json) {
    io.stdout.write(
      `${JSON.stringify({ type: "error", code: fe.code, message: fe.message, hint: fe.hint ?? null, detail: fe.detail ?? null })}\n`,
    );
  } else {
    io.stderr.write(`ferry: ${fe.message} [${fe.code}]\n`);
    if (fe.hint) io.stderr.write(`  hint: ${fe.hint}\n`);
    if (fe.code === "E_INTERNAL" && (err as Error)?.stack && io.env.FERRY_DEBUG)
      io.stderr.write(`${(err as Error).stack}\n`);
  }
  return exitCodeFor(fe);
}

/** Emits one JSON event line. */
export function jsonLine(io: CliIO, obj: unknown): void {
  io.stdout.write(`${JSON.stringify(obj)}\n`);
}
