import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";

import { camelToSnake, contributedSettings, needsRestart, serverKey, toServerSettings } from "../src/config";

const packageJson = JSON.parse(fs.readFileSync(path.resolve(__dirname, "../../package.json"), "utf8"));
const settings = contributedSettings(packageJson);

test("camelCase setting names become the server's snake_case keys", () => {
  assert.equal(camelToSnake("maxNewTokens"), "max_new_tokens");
  assert.equal(camelToSnake("enabled"), "enabled");
  assert.equal(camelToSnake("crossFileContext"), "cross_file_context");
});

test("server settings map to (section, key); client-only settings map to nothing", () => {
  assert.deepEqual(serverKey("quill.inline.maxNewTokens"), { section: "inline", key: "max_new_tokens" });
  assert.deepEqual(serverKey("quill.model.bundlePath"), { section: "model", key: "bundle_path" });
  assert.equal(serverKey("quill.server.path"), undefined);
  assert.equal(serverKey("quill.trace.server"), undefined);
  assert.equal(serverKey("quill.inline"), undefined);
});

test("contributed settings are read from package.json", () => {
  assert.ok(settings.includes("quill.inline.enabled"));
  assert.ok(settings.includes("quill.server.path"));
  assert.ok(settings.includes("quill.docstring.style"));
});

test("VS Code settings become the nested JSON the server parses", () => {
  const values: Record<string, unknown> = {
    "inline.enabled": false,
    "inline.maxNewTokens": 32,
    "docstring.style": "numpy",
    "server.path": "/opt/quill/bin/quill",
    "trace.server": "verbose",
    "model.bundlePath": null,
    "model.threads": 2,
  };
  const result = toServerSettings(settings, (name) => values[name]);
  assert.deepEqual(result, {
    inline: { enabled: false, max_new_tokens: 32 },
    docstring: { style: "numpy" },
    model: { threads: 2 },
  });
});

test("unset values and empty strings are left to the server's defaults", () => {
  const result = toServerSettings(["quill.inline.enabled", "quill.model.bundlePath"], (name) =>
    name === "model.bundlePath" ? "" : undefined,
  );
  assert.deepEqual(result, {});
});

test("didChangeConfiguration leaves out the model section", () => {
  const result = toServerSettings(settings, (name) => (name === "model.threads" ? 4 : name === "inline.maxLines" ? 3 : undefined), {
    exclude: ["model"],
  });
  assert.deepEqual(result, { inline: { max_lines: 3 } });
});

test("model and server settings need a restart; the others do not", () => {
  assert.equal(needsRestart((s) => s === "quill.model"), true);
  assert.equal(needsRestart((s) => s === "quill.server"), true);
  assert.equal(needsRestart((s) => s === "quill.inline"), false);
});

test("machine-scoped settings: a workspace cannot choose the executable or the model", () => {
  const props = packageJson.contributes.configuration.properties;
  for (const name of ["quill.server.path", "quill.model.bundlePath", "quill.model.threads"]) {
    assert.equal(props[name].scope, "machine", name);
  }
});

test("every setting has a description", () => {
  const props = packageJson.contributes.configuration.properties;
  for (const [name, prop] of Object.entries<Record<string, unknown>>(props)) {
    assert.ok(String(prop.markdownDescription ?? prop.description ?? "").length > 10, name);
  }
});
