/**
 * Runs s3rver (a real S3-protocol server) on 127.0.0.1 for the tests, in its own process
 * (started with --openssl-legacy-provider: s3rver encrypts listing continuation tokens with
 * DES). Prints `PORT <n>` when listening; stops on SIGTERM.
 */
import { createRequire } from "node:module";

const S3rver = createRequire(import.meta.url)("s3rver") as new (
  o: Record<string, unknown>,
) => {
  run(): Promise<{ port: number }>;
};
const dir = process.argv[2];
if (!dir) throw new Error("usage: s3rver_main.js DIR");
const server = new S3rver({ port: 0, address: "127.0.0.1", silent: true, directory: dir });
const { port } = await server.run();
process.stdout.write(`PORT ${port}\n`);
// Stop at once: a graceful close would wait for every open connection, and a request whose
// client went away mid-body (the fault proxy makes such) can hold one open for minutes. The
// store's files are the test's scratch data; nothing needs flushing.
process.on("SIGTERM", () => process.exit(0));
