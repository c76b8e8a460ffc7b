import assert from "node:assert/strict";
import { test } from "node:test";
import { ERROR_CODES, FerryError } from "./errors.js";

test("FerryError carries code and hint, and is() matches by code", () => {
  const e = new FerryError("E_FOREIGN_DRIVE", "Drive 7 belongs to set 3f2a", { hint: "Set it aside" });
  assert.equal(e.code, "E_FOREIGN_DRIVE");
  assert.equal(e.hint, "Set it aside");
  assert.ok(FerryError.is(e));
  assert.ok(FerryError.is(e, "E_FOREIGN_DRIVE"));
  assert.ok(!FerryError.is(e, "E_KEY"));
  assert.ok(!FerryError.is(new Error("x")));
  assert.ok(Object.keys(ERROR_CODES).every((c) => c.startsWith("E_")));
});
