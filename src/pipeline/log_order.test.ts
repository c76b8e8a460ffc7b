import assert from "node:assert/strict";
import { test } from "node:test";
import type { ChunkRef } from "../format/index.js";
import { type Lane, LogOrder } from "./log_order.js";

/** Chunks at these log offsets (1 KiB each). */
function refs(...offsets: number[]): ChunkRef[] {
  return offsets.map((offset) => ({
    id: Buffer.alloc(32),
    offset,
    storedLength: 1024,
    plainLength: 1000,
    flags: 0,
  }));
}

/** Reads every open lane to its end; returns "file:chunk" in the order taken. */
function drain(order: LogOrder<string>): string[] {
  const taken: string[] = [];
  for (let l: Lane<string> | null = order.pick(); l; l = order.pick()) {
    taken.push(`${l.file}:${l.next}`);
    if (++l.next === l.chunks.length) order.close(l);
  }
  return taken;
}

test("interleaved files are read in log order, each file's chunks in file order", () => {
  const order = new LogOrder<string>({ maxOpen: 4, lookahead: 1 << 20 });
  // Two files packed side by side: runs of A and B alternate in the log.
  order.open("A", refs(0, 1024, 4096, 5120));
  order.open("B", refs(2048, 3072, 6144));
  assert.deepEqual(drain(order), ["A:0", "A:1", "B:0", "B:1", "A:2", "A:3", "B:2"]);
  assert.equal(order.size, 0);
});

test("a deduplicated chunk far back is taken first, and a file's order is never broken", () => {
  const order = new LogOrder<string>({ maxOpen: 4, lookahead: 1 << 20 });
  order.open("A", refs(10_000, 11_024));
  // B's second chunk lies before A's first (a duplicate of older data): it still waits for B's first.
  order.open("B", refs(12_048, 100));
  assert.deepEqual(drain(order), ["A:0", "A:1", "B:0", "B:1"]);
  const o2 = new LogOrder<string>({ maxOpen: 4, lookahead: 1 << 20 });
  o2.open("A", refs(10_000, 11_024));
  o2.open("C", refs(100, 12_048));
  assert.deepEqual(drain(o2), ["C:0", "A:0", "A:1", "C:1"]);
});

test("a file opens only when there is room and it starts within the lookahead", () => {
  const order = new LogOrder<string>({ maxOpen: 2, lookahead: 4096 });
  assert.equal(order.canOpen(refs(1 << 30)), true, "nothing open: any file may open");
  const a = order.open("A", refs(0, 1024));
  assert.equal(order.lowWater(), 0);
  assert.equal(order.canOpen(refs(4096)), true);
  assert.equal(order.canOpen(refs(4097)), false, "starts past the lookahead");
  assert.equal(order.canOpen([]), true, "a file without chunks reads nothing");
  order.open("B", refs(2048));
  assert.equal(order.canOpen(refs(0)), false, "no room");
  assert.equal(order.canOpen([]), false, "no room, even for an empty file");
  a.next = 2;
  order.close(a);
  assert.equal(order.lowWater(), 2048);
  assert.equal(order.canOpen(refs(6144)), true);
  assert.deepEqual(
    order.lanes.map((l) => l.file),
    ["B"],
  );
});

test("ties go to the file opened first", () => {
  const order = new LogOrder<string>({ maxOpen: 3, lookahead: 1 << 20 });
  order.open("A", refs(0));
  order.open("B", refs(0));
  assert.equal(order.pick()!.file, "A");
});

test("a file that starts behind what was read and goes on past it raises the limit, up to the cap; the lookahead grows with it", () => {
  const order = new LogOrder<string>({ maxOpen: 1, maxOpenCap: 4, lookahead: 1000 });
  assert.equal(order.maxOpen, 1);
  order.open("A", refs(0, 10_000));
  assert.deepEqual(drain(order), ["A:0", "A:1"]); // read up to 10_000
  // B starts at 5000, behind what was read: it was packed side by side with A.
  order.open("B", refs(5000, 20_000));
  assert.equal(order.maxOpen, 2);
  assert.equal(order.grown, 1);
  // With the limit at 2, the lookahead is 2000 past the low water (5000).
  assert.equal(order.canOpen(refs(7000)), true);
  assert.equal(order.canOpen(refs(7001)), false);
  // C lies wholly behind what was read (a copy of older data): no growth.
  order.open("C", refs(100, 200));
  assert.equal(order.maxOpen, 2);
  order.open("D", refs(100, 30_000));
  assert.equal(order.maxOpen, 4);
  order.open("E", refs(50, 30_000));
  order.open("F", refs(10, 30_000));
  assert.equal(order.maxOpen, 4, "capped");
  assert.equal(order.grown, 2);
  // A file that starts ahead of what was read never raises it; one within the slack neither.
  const fixed = new LogOrder<string>({ maxOpen: 1, maxOpenCap: 8, lookahead: 1 << 20, growSlack: 4096 });
  fixed.open("A", refs(10_000));
  assert.deepEqual(drain(fixed), ["A:0"]);
  fixed.close(fixed.open("B", refs(20_000)));
  fixed.close(fixed.open("C", refs(10_000 - 4096, 30_000)));
  assert.equal(fixed.maxOpen, 1);
  fixed.close(fixed.open("D", refs(10_000 - 4097, 30_000)));
  assert.equal(fixed.maxOpen, 2);
  // Nor one further back than the window: deduplicated data, not a file packed side by side.
  const windowed = new LogOrder<string>({ maxOpen: 1, maxOpenCap: 8, lookahead: 1 << 20, growWindow: 1000 });
  windowed.open("A", refs(10_000));
  assert.deepEqual(drain(windowed), ["A:0"]);
  windowed.close(windowed.open("B", refs(8999, 30_000)));
  assert.equal(windowed.maxOpen, 1);
  windowed.open("C", refs(9000, 30_000));
  assert.equal(windowed.maxOpen, 2);
});
