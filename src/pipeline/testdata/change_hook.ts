/** Worker test hook: appends to every file named a.bin after its first read (see pack_threads.test). */
import { appendFileSync } from "node:fs";
import { basename } from "node:path";

export default function onFileRead(path: string, attempt: number): void {
  if (basename(path) === "a.bin" && attempt === 0)
    appendFileSync(path, "appended while a worker was reading\n");
  if (basename(path) === "always.bin") appendFileSync(path, `change ${attempt}\n`);
}
