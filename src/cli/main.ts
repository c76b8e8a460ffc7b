import { tuneAllocator } from "../native/index.js";
import { keygenCommand } from "./cmd_keygen.js";
import { packCommand } from "./cmd_pack.js";
import { planCommand } from "./cmd_plan.js";
import { unpackCommand } from "./cmd_unpack.js";
import { verifyCommand } from "./cmd_verify.js";
import { type CliIO, type Command, EXIT } from "./io.js";
import { reportError } from "./output.js";

export const VERSION = "0.1.0";

const COMMANDS: Record<string, { run: Command; about: string }> = {
  plan: { run: planCommand, about: "network, drives or both? timelines, costs and the drive layout" },
  keygen: { run: keygenCommand, about: "make an age identity; print its recipient" },
  pack: { run: packCommand, about: "pack a folder onto drives (resumable)" },
  verify: {
    run: verifyCommand,
    about: "check any subset of a set's drives; say what is lost or recoverable",
  },
  unpack: { run: unpackCommand, about: "restore a set from its drives, rebuilding what is missing" },
};

export const HELP = `ferry ${VERSION}: carry tens of terabytes to GPUs on drives, and bring the results back

Usage: ferry <command> [options]   (ferry <command> --help for details)

${Object.entries(COMMANDS)
  .map(([k, v]) => `  ${k.padEnd(8)} ${v.about}`)
  .join("\n")}

Exit codes: 0 ok, 1 error, 2 usage, 3 damaged but recoverable, 4 data would be lost.
`;

/**
 * Runs one ferry command and returns its exit code; never exits the process.
 *
 * @example
 * const code = await runCommand(["verify", "/mnt/a"], { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() });
 */
export async function runCommand(argv: string[], io: CliIO): Promise<number> {
  const [verb, ...rest] = argv;
  if (!verb || verb === "help" || verb === "--help" || verb === "-h") {
    io.stdout.write(HELP);
    return verb ? EXIT.OK : EXIT.USAGE;
  }
  if (verb === "--version" || verb === "version") {
    io.stdout.write(`ferry ${VERSION}\n`);
    return EXIT.OK;
  }
  const cmd = COMMANDS[verb];
  if (!cmd) {
    io.stderr.write(
      `ferry: unknown command ${JSON.stringify(verb)} [E_USAGE]\n  hint: run \`ferry --help\`\n`,
    );
    return EXIT.USAGE;
  }
  try {
    return await cmd.run(rest, io);
  } catch (e) {
    return reportError(io, e, rest.includes("--json"));
  }
}

/** The process entry point: owns process.exitCode. */
export function runMain(argv: string[]): void {
  tuneAllocator();
  const io: CliIO = { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
  runCommand(argv, io).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.exitCode = reportError(io, e, false);
    },
  );
}
