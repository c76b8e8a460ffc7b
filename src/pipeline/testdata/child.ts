/**
 * Test-only child process for the crash tests: runs one pack, unpack or verify described by
 * the JSON in argv[2] and prints progress lines the parent waits for before killing it.
 *
 * - `{"op":"pack","opts":{...PackOptions}, "killAtCheckpoint": N}`: after the Nth checkpoint
 *   the process SIGKILLs itself (from inside pack's onCheckpoint hook).
 * - `{"op":"unpack","opts":{...UnpackOptions}}`
 * - `{"op":"verify","opts":{...VerifyOptions}, "readDelayMs": N}`: every block read waits
 *   N ms, so that a full scan lasts long enough to be killed after its first state save.
 *
 * Prints `start` when the operation has begun, `checkpoint N` after pack checkpoints, and
 * `done {json}` at the end.
 */
import { DriveReader } from "../drive_reader.js";
import { pack, unpack, verify } from "../index.js";

interface Job {
  op: "pack" | "unpack" | "verify";
  opts: Record<string, unknown>;
  killAtCheckpoint?: number;
  readDelayMs?: number;
}

const job = JSON.parse(process.argv[2] ?? "{}") as Job;
const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  if (job.op === "pack") {
    let checkpoints = 0;
    const r = await pack({
      ...(job.opts as unknown as Parameters<typeof pack>[0]),
      onEvent: (e) => {
        if (e.type === "start") say(`start ${e.resumed}`);
      },
      onCheckpoint: (stripes) => {
        checkpoints++;
        say(`checkpoint ${checkpoints} ${stripes}`);
        if (job.killAtCheckpoint !== undefined && checkpoints >= job.killAtCheckpoint) {
          process.kill(process.pid, "SIGKILL");
        }
      },
    });
    say(`done ${JSON.stringify({ resumed: r.resumed, alreadyComplete: r.alreadyComplete })}`);
  } else if (job.op === "unpack") {
    const r = await unpack({
      ...(job.opts as unknown as Parameters<typeof unpack>[0]),
      onEvent: (e) => {
        if (e.type === "start") say("start");
      },
    });
    say(`done ${JSON.stringify({ resumed: r.resumed, files: r.files })}`);
  } else if (job.op === "verify") {
    const delay = job.readDelayMs ?? 0;
    if (delay > 0) {
      const orig = DriveReader.prototype.readBlock;
      DriveReader.prototype.readBlock = async function (this: DriveReader, ...args) {
        await new Promise((r) => setTimeout(r, delay));
        return orig.apply(this, args);
      };
    }
    const r = await verify({
      ...(job.opts as unknown as Parameters<typeof verify>[0]),
      onEvent: (e) => {
        if (e.type === "start") say(`start ${e.resumedBlocks}`);
      },
    });
    say(`done ${JSON.stringify({ exitCode: r.exitCode })}`);
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error)?.stack ?? e}\n`);
  process.exit(1);
});
