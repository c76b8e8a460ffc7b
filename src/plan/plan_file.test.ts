import assert from "node:assert/strict";
import { test } from "node:test";
import { FerryError } from "../errors.js";
import { checkRawPlan, resolvePlanInput } from "./input.js";
import { parsePlanText, parseYaml } from "./plan_file.js";

const EXAMPLE = `# the seed's trip
data:
  size: 80 TB
  return: ignored-by-nobody   # (this key is wrong on purpose in one test)
`;

test("YAML subset: mappings, comments, quotes, numbers, lists", () => {
  const v = parseYaml(
    [
      "---",
      "data:",
      "  size: 80 TB   # total",
      '  source: "/data/a # b"',
      "  name: 'it''s'",
      "network:",
      "  bandwidth: 1 Gbit/s",
      "  utilisation: 0.8",
      "  streams: 8",
      "flags: [a, 2, true]",
      "bags:",
      "- name: bag1",
      "  drives: 15",
      "- name: bag2",
      "  drives: 15",
      "nothing:",
      "items:",
      "  - 1",
      "  - two",
    ].join("\n"),
  );
  assert.deepEqual(v, {
    data: { size: "80 TB", source: "/data/a # b", name: "it's" },
    network: { bandwidth: "1 Gbit/s", utilisation: 0.8, streams: 8 },
    flags: ["a", 2, true],
    bags: [
      { name: "bag1", drives: 15 },
      { name: "bag2", drives: 15 },
    ],
    nothing: null,
    items: [1, "two"],
  });
  assert.deepEqual(parseYaml("# empty\n"), {});
});

test("YAML errors carry the file and line", () => {
  const bad = (text: string, line: number) =>
    assert.throws(
      () => parseYaml(text, "p.yaml"),
      (e) => FerryError.is(e, "E_USAGE") && e.message.startsWith(`plan: p.yaml line ${line}:`),
    );
  bad("data:\n  size: 80 TB\n    extra: 1\n", 3);
  bad("data:\n\tsize: 1\n", 2);
  bad("a: 1\na: 2\n", 2);
  bad("just text\n", 1);
  bad('a: "open\n', 1);
  bad("a: {b: 1}\n", 1);
  bad("a: &x 1\n", 1);
});

test("parsePlanText picks JSON or YAML, and a plan file resolves like flags", () => {
  assert.deepEqual(parsePlanText('{"data":{"size":"1 TB"}}', "plan.json"), { data: { size: "1 TB" } });
  assert.deepEqual(parsePlanText("data:\n  size: 1 TB\n", "plan.yaml"), { data: { size: "1 TB" } });
  assert.throws(
    () => parsePlanText("{oops", "plan.json"),
    (e) => FerryError.is(e, "E_USAGE") && /plan\.json is not valid JSON/.test(e.message),
  );
  const raw = checkRawPlan(
    parsePlanText(
      "data:\n  size: 80 TB\nnetwork:\n  bandwidth: 100 Mbit/s\n  utilization: 80%\ncouriers:\n  doorToDoor: 1 d\ntolerate: bag\n",
      "plan.yaml",
    ),
    "plan.yaml",
  );
  const input = resolvePlanInput(raw);
  assert.equal(input.network?.utilisation, 0.8);
  assert.equal(input.tolerate?.kind, "bag");
  assert.throws(
    () => checkRawPlan(parsePlanText(EXAMPLE, "plan.yaml"), "plan.yaml"),
    (e) => FerryError.is(e, "E_USAGE") && /unknown key "data\.return" in plan\.yaml/.test(e.message),
  );
});
