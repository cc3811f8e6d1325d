import * as assert from "node:assert/strict";
import { test } from "node:test";

import { DocumentStatuses, parseDocumentStatus, serverInactivity } from "../src/documentStatus";
import { inactivity } from "../src/enable";
import { MESSAGE_ERROR, StatusModel } from "../src/status";

/** quill/documentStatus answers as `quill serve` sends them (lsp_server/features/status.py). */
const ACTIVE = { active: true, reason: null, detail: "" };
const EXCLUDED = { active: false, reason: "excluded", detail: "generated/api.py matches inline.exclude glob 'generated/'" };
const QUILLIGNORE = { active: false, reason: "excluded", detail: "legacy/old.py is ignored by a .quillignore file of /w" };
const DISABLED = { active: false, reason: "disabled", detail: "inline suggestions are off (inline.enabled)" };
const NOT_OPEN = { active: false, reason: "not_open", detail: "the document is not open" };

function running(): StatusModel {
  const s = new StatusModel();
  s.starting();
  s.running("0.1.0");
  return s;
}

/** The status bar item for a Python file with `quill.enable` on and the server's `answer`. */
function viewFor(answer: unknown, s = running()) {
  return s.view(inactivity({ "*": true }, "python", parseDocumentStatus(answer)));
}

test("a Python file the server reports active shows ready", () => {
  const view = viewFor(ACTIVE);
  assert.equal(view.text, "$(check) Quill");
  assert.equal(view.click, "toggle");
});

test("a file excluded by inline.exclude shows inactive with the server's detail in the tooltip", () => {
  const view = viewFor(EXCLUDED);
  assert.equal(view.text, "$(circle-slash) Quill: inactive");
  assert.match(view.tooltip, /^Quill: inactive, excluded: generated\/api\.py matches inline\.exclude glob 'generated\/'/);
  assert.equal(view.click, "showOutput", "quill.enable would not change an exclusion");
  assert.doesNotMatch(view.tooltip, /click to turn suggestions on/);
});

test("a file ignored by a .quillignore, inline.enabled off, and a document the server was not sent", () => {
  assert.match(viewFor(QUILLIGNORE).tooltip, /^Quill: inactive, excluded: legacy\/old\.py is ignored by a \.quillignore file/);
  assert.match(viewFor(DISABLED).tooltip, /^Quill: inactive, turned off in the server settings: inline suggestions are off \(inline\.enabled\)/);
  assert.match(viewFor(NOT_OPEN).tooltip, /^Quill: inactive, the server has not been sent this document: the document is not open/);
  for (const answer of [QUILLIGNORE, DISABLED, NOT_OPEN]) {
    assert.equal(viewFor(answer).text, "$(circle-slash) Quill: inactive");
  }
});

test("quill.enable off comes before the server's answer (a click turns it on); another language before both", () => {
  const off = running().view(inactivity({ "*": true, python: false }, "python", parseDocumentStatus(EXCLUDED)));
  assert.match(off.tooltip, /turned off for python \(quill\.enable\)/);
  assert.equal(off.click, "toggle");
  const other = running().view(inactivity({ "*": true }, "markdown", parseDocumentStatus(ACTIVE)));
  assert.match(other.tooltip, /Python files only \(this file is markdown\)/);
});

test("an excluded file shows inactive over loading, not over an error", () => {
  const s = running();
  s.progress("load", { kind: "begin", title: "Quill: loading model", percentage: 0 });
  assert.equal(viewFor(EXCLUDED, s).text, "$(circle-slash) Quill: inactive");
  s.message(MESSAGE_ERROR, "Quill: boom");
  assert.equal(viewFor(EXCLUDED, s).text, "$(error) Quill");
});

test("malformed answers are not known (no inactivity); an unknown reason keeps the detail", () => {
  assert.equal(parseDocumentStatus(null), undefined);
  assert.equal(parseDocumentStatus({ reason: "excluded" }), undefined);
  assert.equal(parseDocumentStatus("inactive"), undefined);
  assert.equal(serverInactivity(undefined), undefined);
  assert.equal(viewFor({ active: "no" }).text, "$(check) Quill");
  assert.deepEqual(parseDocumentStatus({ active: false, reason: "quota", detail: "why" }), { active: false, reason: null, detail: "why" });
  assert.deepEqual(serverInactivity(parseDocumentStatus({ active: false, reason: "quota", detail: "why" })), { reason: "the server says so: why", toggles: false });
  assert.deepEqual(parseDocumentStatus({ active: true, reason: "excluded" }), { active: true, reason: null, detail: "" });
});

/** A request the test answers by hand. */
function pending() {
  const asked: { uri: string; resolve: (v: unknown) => void; reject: (e: unknown) => void }[] = [];
  const ask = (uri: string) => new Promise<unknown>((resolve, reject) => asked.push({ uri, resolve, reject }));
  return { asked, ask };
}

test("DocumentStatuses keeps the newest answer per document and redraws on each", async () => {
  const { asked, ask } = pending();
  let redraws = 0;
  const statuses = new DocumentStatuses(ask, () => (redraws += 1));
  const uri = "file:///w/generated/api.py";
  const first = statuses.refresh(uri);
  asked[0].resolve(EXCLUDED);
  await first;
  assert.equal(statuses.get(uri)?.reason, "excluded");
  assert.equal(redraws, 1);
  // Two questions in flight (the .quillignore changed): the older answer arrives last and is dropped.
  const older = statuses.refresh(uri);
  const newer = statuses.refresh(uri);
  asked[2].resolve(ACTIVE);
  await newer;
  asked[1].resolve(EXCLUDED);
  await older;
  assert.equal(statuses.get(uri)?.active, true);
  assert.equal(redraws, 2);
  assert.deepEqual(asked.map((a) => a.uri), [uri, uri, uri]);
});

test("a failed request (an older server without quill/documentStatus) forgets the answer; clear() forgets all", async () => {
  const { asked, ask } = pending();
  const statuses = new DocumentStatuses(ask, () => undefined);
  const uri = "file:///w/a.py";
  const first = statuses.refresh(uri);
  asked[0].resolve(EXCLUDED);
  await first;
  const second = statuses.refresh(uri);
  asked[1].reject(new Error("Unhandled method quill/documentStatus"));
  await second;
  assert.equal(statuses.get(uri), undefined);
  const third = statuses.refresh(uri);
  asked[2].resolve(DISABLED);
  await third;
  statuses.clear();
  assert.equal(statuses.get(uri), undefined);
});
