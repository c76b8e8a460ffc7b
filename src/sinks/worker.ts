/**
 * Splitting an ingest across N workers without coordination: every worker walks the set's
 * index in the same order and assigns each object to the bin with the fewest bytes so far
 * (ties to the lowest bin), so all of them compute the same assignment and no object is
 * written by two workers.
 */
import { FerryError } from "../errors.js";

/** This worker's place: `index` in `0..count-1`. */
export interface WorkerSpec {
  index: number;
  count: number;
}

/** Per-object overhead counted in the balance, so many small files spread like a few big ones. */
export const OBJECT_WEIGHT = 64 * 1024;

/**
 * Parses `--worker I/N`, or `--worker env` (index from `JOB_COMPLETION_INDEX`,
 * `SLURM_ARRAY_TASK_ID` or `FERRY_WORKER_INDEX`; count from `--workers N`,
 * `SLURM_ARRAY_TASK_COUNT` or `FERRY_WORKERS`).
 *
 * @example
 * parseWorkerSpec("2/3") // { index: 2, count: 3 }
 */
export function parseWorkerSpec(
  spec: string,
  workers: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): WorkerSpec {
  const bad = (why: string): never => {
    throw new FerryError("E_USAGE", `--worker ${spec}: ${why}`, {
      hint: "Use --worker I/N (0 <= I < N), or --worker env with JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID set",
    });
  };
  let index: string | undefined;
  let count: string | undefined;
  if (spec === "env") {
    index = env.JOB_COMPLETION_INDEX ?? env.SLURM_ARRAY_TASK_ID ?? env.FERRY_WORKER_INDEX;
    count = workers ?? env.SLURM_ARRAY_TASK_COUNT ?? env.FERRY_WORKERS;
    if (index === undefined) bad("no JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID or FERRY_WORKER_INDEX set");
    if (count === undefined) bad("the number of workers is unknown: pass --workers N");
    // Slurm arrays may start at 1 (--array=1-N); SLURM_ARRAY_TASK_MIN says where.
    if (
      env.SLURM_ARRAY_TASK_ID !== undefined &&
      index === env.SLURM_ARRAY_TASK_ID &&
      env.SLURM_ARRAY_TASK_MIN
    ) {
      index = String(Number(index) - Number(env.SLURM_ARRAY_TASK_MIN));
    }
  } else {
    const m = /^(\d+)\/(\d+)$/.exec(spec);
    if (!m) bad("expected I/N or env");
    index = m![1];
    count = m![2];
    if (workers !== undefined && workers !== count) bad(`contradicts --workers ${workers}`);
  }
  const i = Number(index);
  const n = Number(count);
  if (!Number.isInteger(n) || n < 1) bad(`the number of workers (${count}) must be a positive integer`);
  if (!Number.isInteger(i) || i < 0 || i >= n) bad(`worker index ${index} is not in 0..${n - 1}`);
  return { index: i, count: n };
}

/** Greedy balanced split by bytes, deterministic in the order objects are offered. */
export class Splitter {
  private readonly load: number[];

  constructor(readonly count: number) {
    this.load = new Array<number>(count).fill(0);
  }

  /** The bin of the next object of `bytes` bytes. */
  assign(bytes: number): number {
    let best = 0;
    for (let i = 1; i < this.load.length; i++) if (this.load[i]! < this.load[best]!) best = i;
    this.load[best]! += bytes + OBJECT_WEIGHT;
    return best;
  }
}
