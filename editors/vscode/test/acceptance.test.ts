/**
 * Partial acceptances: the pure reporter (acceptance.ts), and inline.ts's provider, loaded in a child
 * Node against a stand-in `vscode` module that records what the extension registers and runs.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";

import { describeStats, PartialAcceptances, suggestionId } from "../src/acceptance";

/** An inline item as vscode-languageclient converts the server's (its command is a vscode.Command). */
function item(id: unknown, command = "quill.accepted") {
  return { insertText: "name.upper()", command: { title: "Quill: suggestion accepted", command, arguments: [id] } };
}

function recorder() {
  const calls: unknown[][] = [];
  return { calls, execute: (...args: unknown[]) => void calls.push(args) };
}

test("a partial acceptance runs quill.accepted with the suggestion's id and the accepted length", () => {
  const { calls, execute } = recorder();
  const partial = new PartialAcceptances(execute);
  const shown = item("q7");
  partial.handle(shown, 5);
  partial.handle(shown, { kind: 1, acceptedLength: 11 });
  assert.deepEqual(calls, [
    ["quill.accepted", "q7", 5],
    ["quill.accepted", "q7", 11],
  ]);
});

test("one acceptance reported twice (the length, then {kind, acceptedLength}) is sent once", () => {
  const { calls, execute } = recorder();
  const partial = new PartialAcceptances(execute);
  const shown = item("q8");
  partial.handle(shown, 4);
  partial.handle(shown, { kind: 0, acceptedLength: 4 });
  assert.deepEqual(calls, [["quill.accepted", "q8", 4]]);
  partial.handle(item("q8"), 4); // another item object: another suggestion shown
  assert.equal(calls.length, 2);
});

test("items without Quill's command, and lengths that are not positive integers, are not reported", () => {
  const { calls, execute } = recorder();
  const partial = new PartialAcceptances(execute);
  partial.handle(item("q1", "other.command"), 3);
  partial.handle(item(42), 3);
  partial.handle({}, 3);
  partial.handle(item("q1"), 0);
  partial.handle(item("q1"), 2.5);
  partial.handle(item("q1"), { acceptedLength: -1 });
  assert.deepEqual(calls, []);
  assert.equal(suggestionId(item("q9")), "q9");
  assert.equal(suggestionId({ command: { command: "quill.accepted" } }), undefined);
});

test("Quill: Show Acceptance Statistics describes quill.stats in one line", () => {
  const stats = { requests: 12, shown: 8, accepted: 3, partially_accepted: 1, partial_chars: 9, acceptance_rate: 0.375, mean_latency_ms: 41.6 };
  assert.equal(describeStats(stats), "8 suggestions shown (of 12 requests), 3 accepted (38%), 1 accepted in part (9 characters); mean latency 42 ms");
  assert.match(describeStats({ ...stats, shown: 0, acceptance_rate: null, mean_latency_ms: null })!, /\(-\), .*mean latency -$/);
  assert.equal(describeStats({ recorded: true }), undefined);
  assert.equal(describeStats(null), undefined);
});

/** A stand-in `vscode`: every name a callable stub, except what the script below reads back. */
const VSCODE_STUB = `
const handler = {
  get: (target, key) => (key in target ? target[key] : key === "then" || typeof key === "symbol" ? undefined : stub),
  apply: () => stub,
  construct: () => stub,
};
const stub = new Proxy(function () {}, handler);
const partial = (own) => new Proxy(Object.assign(function () {}, own), handler);
const recorded = { providers: [], commands: [] };
module.exports = partial({
  version: "1.91.0",
  recorded,
  languages: partial({
    registerInlineCompletionItemProvider: (selector, provider) => {
      recorded.providers.push({ selector, provider });
      return { dispose() {} };
    },
  }),
  commands: partial({
    executeCommand: (...args) => {
      recorded.commands.push(args);
      return Promise.resolve({ recorded: true });
    },
  }),
});
`;

test("the client's inline provider has handleDidPartiallyAcceptCompletionItem, which runs quill.accepted", { timeout: 60_000 }, () => {
  const stubs = fs.mkdtempSync(path.join(os.tmpdir(), "quill-vscode-stub-"));
  try {
    fs.mkdirSync(path.join(stubs, "vscode"));
    fs.writeFileSync(path.join(stubs, "vscode", "index.js"), VSCODE_STUB);
    const inline = path.resolve(__dirname, "../src/inline.js");
    const script = `
      const vscode = require("vscode");
      const { InlineFeature, QuillLanguageClient } = require(${JSON.stringify(inline)});
      const client = new QuillLanguageClient("quill", "Quill", { command: "quill" }, { documentSelector: [{ language: "python" }] });
      const feature = client.getFeature("textDocument/inlineCompletion");
      // As the server's client/registerCapability (id quill-python-...) registers it.
      feature.register({ id: "quill-python-inline", registerOptions: { documentSelector: [{ language: "python" }] } });
      const { provider } = vscode.recorded.providers[0];
      const shown = { insertText: "x", command: { title: "t", command: "quill.accepted", arguments: ["q7"] } };
      provider.handleDidPartiallyAcceptCompletionItem(shown, 6);
      provider.handleDidPartiallyAcceptCompletionItem(shown, { kind: 0, acceptedLength: 6 });
      console.log(JSON.stringify({
        swapped: feature instanceof InlineFeature,
        providers: vscode.recorded.providers.length,
        methods: Object.keys(provider).sort(),
        commands: vscode.recorded.commands,
      }));
    `;
    const printed = execFileSync(process.execPath, ["-e", script], { env: { ...process.env, NODE_PATH: stubs }, encoding: "utf8" });
    const result = JSON.parse(printed.trim().split("\n").pop()!);
    assert.equal(result.swapped, true, "QuillLanguageClient replaces the built-in inline completion feature");
    assert.equal(result.providers, 1, "one inline provider, not the built-in one as well");
    assert.deepEqual(result.methods, ["handleDidPartiallyAcceptCompletionItem", "provideInlineCompletionItems"]);
    assert.deepEqual(result.commands, [["quill.accepted", "q7", 6]]);
  } finally {
    fs.rmSync(stubs, { recursive: true, force: true });
  }
});

test("the extension registers no command named like the server's quill.accepted / quill.stats", () => {
  const root = path.resolve(__dirname, "../..");
  const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
  const contributed = pkg.contributes.commands.map((c: { command: string }) => c.command);
  const sources = fs.readdirSync(path.join(root, "src")).map((f) => fs.readFileSync(path.join(root, "src", f), "utf8")).join("\n");
  for (const name of ["quill.accepted", "quill.stats"]) {
    assert.ok(!contributed.includes(name), `package.json contributes ${name}`);
    assert.doesNotMatch(sources, new RegExp(`registerCommand\\(\\s*["'\`]${name.replace(".", "\\.")}`), `src registers ${name}`);
  }
});
