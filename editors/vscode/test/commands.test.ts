import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";

import { describeResult, executeParams, SERVER_COMMANDS } from "../src/commands";

test("the commands send the server one {uri, position} argument", () => {
  assert.deepEqual(executeParams("quill.addDocstring", "file:///p/a.py", 3, 7), {
    command: "quill.generateDocstring",
    arguments: [{ uri: "file:///p/a.py", position: { line: 3, character: 7 } }],
  });
  assert.equal(executeParams("quill.generateFunctionBody", "file:///p/a.py", 0, 0).command, "quill.generateBody");
});

test("the server's reason is shown when nothing was applied", () => {
  assert.equal(describeResult({ applied: true }), undefined);
  assert.equal(describeResult({ applied: false, reason: "no function here" }), "no function here");
  assert.equal(describeResult({ applied: false }), "nothing was changed");
  assert.equal(describeResult(null), undefined);
});

test("every extension command is contributed in package.json, and none clashes with a server command", () => {
  const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, "../../package.json"), "utf8"));
  const contributed = pkg.contributes.commands.map((c: { command: string }) => c.command);
  for (const id of Object.keys(SERVER_COMMANDS)) {
    assert.ok(contributed.includes(id), id);
  }
  // vscode-languageclient registers the server's own commands under their ids.
  for (const serverCommand of Object.values(SERVER_COMMANDS)) {
    assert.ok(!contributed.includes(serverCommand), serverCommand);
  }
});
