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
SIMPLE = {bool: "boolean", int: "integer", float: "number", str: "string"}
def kind_of(hint):
    """(JSON schema type, type of the items of an array or None)."""
    if hint in SIMPLE:
        return SIMPLE[hint], None
    if typing.get_origin(hint) is list:  # list[str]
        return "array", SIMPLE[typing.get_args(hint)[0]]
    args = [a for a in typing.get_args(hint) if a is not type(None)]  # str | None
    return [SIMPLE[args[0]], "null"], None
out = {}
for f in dataclasses.fields(QuillConfig):
    section = f.default_factory()
    hints = typing.get_type_hints(type(section))
    limits = section.limits() if hasattr(section, "limits") else {}
    choices = section.choices() if hasattr(section, "choices") else {}
    for g in dataclasses.fields(section):
        kind, items = kind_of(hints[g.name])
        out[f"{f.name}.{g.name}"] = {"type": kind, "items": items, "default": getattr(section, g.name),
                                     "limits": limits.get(g.name), "choices": choices.get(g.name)}
print(json.dumps(out))
`;

const python = findPython();

test("package.json contributes every server setting with its type, default, limits and choices", { skip: SKIP_WITHOUT_PYTHON }, () => {
  type Spec = { type: unknown; items: string | null; default: unknown; limits: [number, number] | null; choices: string[] | null };
  const server: Record<string, Spec> =
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
    assert.deepEqual((prop.items as { type?: string } | undefined)?.type ?? null, spec.items, `${where}: items`);
    assert.deepEqual(spec.limits ? [prop.minimum, prop.maximum] : null, spec.limits, `${where}: minimum/maximum`);
    assert.deepEqual(prop.enum ?? null, spec.choices, `${where}: enum`);
  }
});
