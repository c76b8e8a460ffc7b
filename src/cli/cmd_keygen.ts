import { parseArgs } from "node:util";
import { writeFileSync } from "node:fs";
import { FerryError, keygen } from "../index.js";
import { abs, parse } from "./args.js";
import { type Command, EXIT } from "./io.js";
import { jsonLine } from "./output.js";

export const KEYGEN_HELP = `Usage: ferry keygen --out FILE [--json]

Writes a new age X25519 identity to FILE (mode 0600, usable by the age tool) and prints
its recipient (age1…). Give the recipient to \`ferry pack --recipient\`; keep FILE at the
destination (never on the drives) and pass it to \`ferry unpack --identity FILE\`.
`;

/** `ferry keygen`. */
export const keygenCommand: Command = async (argv, io) => {
  const { values, positionals } = parse("keygen", () =>
    parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        out: { type: "string", short: "o" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }),
  );
  if (values.help) {
    io.stdout.write(KEYGEN_HELP);
    return EXIT.OK;
  }
  if (positionals.length) {
    throw new FerryError("E_USAGE", `keygen takes no arguments (got ${positionals.join(" ")})`, {
      hint: "ferry keygen --out key.txt",
    });
  }
  if (!values.out)
    throw new FerryError("E_USAGE", "keygen needs --out FILE", { hint: "ferry keygen --out key.txt" });
  const k = keygen();
  const path = abs(io, values.out);
  try {
    writeFileSync(path, k.fileText, { mode: 0o600, flag: "wx" });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new FerryError(
      "E_USAGE",
      `cannot write ${values.out}: ${code === "EEXIST" ? "it already exists" : code}`,
      {
        hint: code === "EEXIST" ? "ferry never overwrites a key; choose another path" : "Check the path",
      },
    );
  }
  if (values.json) jsonLine(io, { type: "keygen", recipient: k.recipient, identityFile: path });
  else {
    io.stderr.write(`Public key (give it to ferry pack --recipient): \n`);
    io.stdout.write(`${k.recipient}\n`);
  }
  return EXIT.OK;
};
