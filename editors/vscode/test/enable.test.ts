import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";

import { inactivity, isEnabled, toggled, toggleKey } from "../src/enable";

test("a language's own key wins over \"*\"; nothing set means on", () => {
  assert.equal(isEnabled({ "*": true }, "python"), true);
  assert.equal(isEnabled({ "*": true, python: false }, "python"), false);
  assert.equal(isEnabled({ "*": false }, "python"), false);
  assert.equal(isEnabled({ "*": false, python: true }, "python"), true);
  assert.equal(isEnabled({}, "python"), true);
  assert.equal(isEnabled(undefined, "python"), true);
});

test("malformed values are ignored, not taken as off", () => {
  assert.equal(isEnabled({ python: "no", "*": 0 }, "python"), true);
  assert.equal(isEnabled([false], "python"), true);
  assert.equal(isEnabled(false, "python"), true);
  assert.equal(isEnabled(null, "python"), true);
});

test("inactive: a language turned off (the toggle turns it on), or one the server does not answer", () => {
  assert.equal(inactivity({ "*": true }, "python"), undefined);
  assert.deepEqual(inactivity({ "*": true, python: false }, "python"), { reason: "turned off for python (quill.enable)", toggles: true });
  assert.match(inactivity({ "*": false }, "python")!.reason, /turned off for python/);
  assert.deepEqual(inactivity({ "*": true }, "markdown"), { reason: "Quill suggests in Python files only (this file is markdown)", toggles: false });
});

test("the toggle flips the active Python file's language, else every language", () => {
  assert.equal(toggleKey("python"), "python");
  assert.equal(toggleKey("markdown"), "*");
  assert.equal(toggleKey(undefined), "*");
});

test("toggling twice gives the setting back as it was", () => {
  const start = { "*": true };
  const off = toggled(start, "python");
  assert.deepEqual(off, { "*": true, python: false });
  assert.equal(isEnabled(off, "python"), false);
  assert.deepEqual(toggled(off, "python"), start);
  assert.deepEqual(toggled(toggled(start, "*"), "*"), { "*": true });
  assert.deepEqual(toggled({ "*": false }, "python"), { "*": false, python: true });
  assert.deepEqual(toggled({ "*": true, go: false }, "python"), { "*": true, go: false, python: false });
});

test("package.json contributes quill.enable like github.copilot.enable, and the toggle command", () => {
  const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, "../../package.json"), "utf8"));
  const enable = pkg.contributes.configuration.properties["quill.enable"];
  assert.equal(enable.type, "object");
  assert.deepEqual(enable.default, { "*": true });
  assert.deepEqual(enable.additionalProperties, { type: "boolean" });
  assert.ok(pkg.contributes.commands.some((c: { command: string }) => c.command === "quill.toggle"));
});
