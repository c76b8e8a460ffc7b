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
