/**
 * package.json's settings against the server's own configuration (lsp_server/config.py): same keys,
 * types, defaults, limits and choices. Needs the project's Python: $QUILL_PYTHON or <repo>/.venv.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";

import { contributedSettings, serverKey } from "../src/config";
import { findPython, repo, SKIP_WITHOUT_PYTHON } from "./python";

const packageJson = JSON.parse(fs.readFileSync(path.resolve(__dirname, "../../package.json"), "utf8"));
const props: Record<string, Record<string, unknown>> = packageJson.contributes.configuration.properties;

const DUMP = `
import dataclasses, json, typing
from lsp_server.config import QuillConfig
out = {}
for f in dataclasses.fields(QuillConfig):
    section = f.default_factory()
    hints = typing.get_type_hints(type(section))
    limits = section.limits() if hasattr(section, "limits") else {}
    choices = section.choices() if hasattr(section, "choices") else {}
    for g in dataclasses.fields(section):
        hint = hints[g.name]
        kind = {bool: "boolean", int: "integer", float: "number", str: "string"}.get(hint)
        if kind is None:
            args = [a for a in typing.get_args(hint) if a is not type(None)]
            kind = [{bool: "boolean", int: "integer", float: "number", str: "string"}[args[0]], "null"]
        out[f"{f.name}.{g.name}"] = {"type": kind, "default": getattr(section, g.name),
                                     "limits": limits.get(g.name), "choices": choices.get(g.name)}
print(json.dumps(out))
`;

const python = findPython();

test("package.json contributes every server setting with its type, default, limits and choices", { skip: SKIP_WITHOUT_PYTHON }, () => {
  const server: Record<string, { type: unknown; default: unknown; limits: [number, number] | null; choices: string[] | null }> =
    JSON.parse(execFileSync(python!, ["-c", DUMP], { cwd: repo, encoding: "utf8" }));
  const contributed = new Map<string, string>();
  for (const name of contributedSettings(packageJson)) {
    const target = serverKey(name);
    if (target) {
      contributed.set(`${target.section}.${target.key}`, name);
    }
  }
  const missing = Object.keys(server).filter((key) => !contributed.has(key));
  assert.deepEqual(missing, [], "server settings without a VS Code setting in editors/vscode/package.json");
  const stale = [...contributed.keys()].filter((key) => !(key in server));
  assert.deepEqual(stale, [], "VS Code settings the server does not know");
  for (const [key, spec] of Object.entries(server)) {
    const prop = props[contributed.get(key)!];
    const where = `${contributed.get(key)} (server ${key})`;
    assert.deepEqual(prop.type, spec.type, `${where}: type`);
    assert.deepEqual(prop.default, spec.default, `${where}: default`);
    assert.deepEqual(spec.limits ? [prop.minimum, prop.maximum] : null, spec.limits, `${where}: minimum/maximum`);
    assert.deepEqual(prop.enum ?? null, spec.choices, `${where}: enum`);
  }
});
