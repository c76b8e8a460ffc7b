/** Worker test hook: changes a.bin, always.bin and cold.bin while they are read (see pack_threads.test, direct_read.test). */
import { appendFileSync, closeSync, openSync, writeSync } from "node:fs";
import { basename } from "node:path";

export default function onFileRead(path: string, attempt: number): void {
  if (basename(path) === "a.bin" && attempt === 0)
    appendFileSync(path, "appended while a worker was reading\n");
  if (basename(path) === "always.bin") appendFileSync(path, `change ${attempt}\n`);
  if (basename(path) === "cold.bin" && attempt === 0) {
    // Same size, new bytes at 5 MiB and a new mtime: the worker must read it again.
    const fd = openSync(path, "r+");
    writeSync(fd, Buffer.from("rewritten"), 0, 9, 5 << 20);
    closeSync(fd);
  }
}
