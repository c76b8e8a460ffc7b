import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { FerryError, identitiesFromFile, type Unlock } from "../index.js";
import type { CliIO } from "./io.js";

/** Runs a node:util parseArgs call, turning its errors into ferry usage errors. */
export function parse<T>(verb: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw new FerryError("E_USAGE", `${verb}: ${(e as Error).message}`, {
      hint: `Run \`ferry ${verb} --help\``,
    });
  }
}

/** Reads a small secret or key file given on the command line. */
export function readArgFile(io: CliIO, path: string, what: string): string {
  try {
    return readFileSync(resolve(io.cwd, path), "utf8");
  } catch (e) {
    throw new FerryError(
      "E_USAGE",
      `cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`,
      {
        hint: `Check the ${what} path`,
      },
    );
  }
}

/** A passphrase file holds the passphrase on its first line. */
export function readPassphrase(io: CliIO, path: string): string {
  const text = readArgFile(io, path, "passphrase file");
  const pass = text.split(/\r?\n/)[0] ?? "";
  if (!pass)
    throw new FerryError("E_USAGE", `passphrase file ${path} is empty`, {
      hint: "Put the passphrase on its first line",
    });
  return pass;
}

/** Builds the unlock options from --identity and --passphrase-file. */
export function unlockFrom(
  io: CliIO,
  identity: string[] | undefined,
  passFile: string | undefined,
): Unlock | undefined {
  const ids = (identity ?? []).flatMap((f) => identitiesFromFile(readArgFile(io, f, "identity file")));
  if (!ids.length && passFile === undefined) return undefined;
  return {
    ...(ids.length ? { identities: ids } : {}),
    ...(passFile !== undefined ? { passphrase: readPassphrase(io, passFile) } : {}),
  };
}

/** Resolves paths against the CLI's cwd. */
export function abs(io: CliIO, p: string): string {
  return resolve(io.cwd, p);
}
