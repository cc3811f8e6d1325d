import * as assert from "node:assert/strict";
import { test } from "node:test";

import { inactivity } from "../src/enable";
import { MESSAGE_ERROR, MESSAGE_WARNING, ProgressValue, StatusModel } from "../src/status";

/** The server's messages as `quill serve` sends them (lsp_server/server/model_loading.py, features/workspace.py). */
const LOAD = "quill-load-1a2b3c4d";
const INDEX = "quill-load-5e6f7a8b";
const loadBegin: ProgressValue = { kind: "begin", title: "Quill: loading model", message: "verifying the shipped model", percentage: 0 };
const indexBegin: ProgressValue = { kind: "begin", title: "Quill: indexing the workspace", message: "reading files", percentage: 0 };

function running(): StatusModel {
  const s = new StatusModel();
  s.starting();
  s.running("0.1.0");
  return s;
}

test("model loading: begin, reports with percentages, end -> ready with the bundle's name", () => {
  const s = running();
  assert.equal(s.view().text, "$(check) Quill");
  s.progress(LOAD, loadBegin);
  assert.equal(s.view().text, "$(loading~spin) Quill 0%");
  assert.match(s.view().tooltip, /^Quill: working\nloading model: verifying the shipped model \(0%\)/);
  s.progress(LOAD, { kind: "report", message: "starting onnxruntime", percentage: 50 });
  assert.equal(s.view().text, "$(loading~spin) Quill 50%");
  assert.match(s.view().tooltip, /loading model: starting onnxruntime \(50%\)/);
  s.progress(LOAD, { kind: "end", message: "tiny-python ready" });
  const view = s.view();
  assert.equal(view.text, "$(check) Quill");
  assert.match(view.tooltip, /^Quill: ready .*\nloading model: tiny-python ready\nquill serve 0\.1\.0$/s);
  assert.equal(view.click, "toggle");
  assert.deepEqual(s.working, []);
});

test("a report keeps what it does not repeat; a report or end for an unknown token is ignored", () => {
  const s = running();
  s.progress(LOAD, loadBegin);
  s.progress(LOAD, { kind: "report", percentage: 75 });
  assert.match(s.view().tooltip, /verifying the shipped model \(75%\)/);
  s.progress("stray", { kind: "report", message: "x", percentage: 10 });
  s.progress("stray", { kind: "end" });
  assert.deepEqual(s.working, ["loading model"]);
});

test("model loading then workspace indexing: busy until both end, the newest shown", () => {
  const s = running();
  s.progress(LOAD, loadBegin);
  s.progress(INDEX, indexBegin);
  s.progress(INDEX, { kind: "report", message: "200/800 files", percentage: 25 });
  assert.equal(s.view().text, "$(loading~spin) Quill 25%");
  assert.deepEqual(s.working, ["loading model", "indexing the workspace"]);
  s.progress(LOAD, { kind: "end", message: "tiny-python ready" });
  assert.match(s.view().text, /loading~spin/);
  s.progress(INDEX, { kind: "end", message: "800 files, 1200000 tokens" });
  assert.equal(s.view().text, "$(check) Quill");
  assert.match(s.view().tooltip, /loading model: tiny-python ready\nindexing the workspace: 800 files, 1200000 tokens/);
});

test("a progress without a percentage shows no number", () => {
  const s = running();
  s.progress(7, { kind: "begin", title: "Quill: indexing the workspace" });
  assert.equal(s.view().text, "$(loading~spin) Quill");
});

test("a bundle that fails: end 'model unavailable', then the error messages -> error until a restart", () => {
  const s = running();
  s.progress(LOAD, loadBegin);
  s.progress(LOAD, { kind: "end", message: "model unavailable" });
  s.message(MESSAGE_ERROR, "Quill: model unavailable: manifest sha256 mismatch");
  s.message(MESSAGE_ERROR, "Quill: the completion model is unavailable (manifest sha256 mismatch). Other features keep working.");
  let view = s.view();
  assert.equal(s.current, "error");
  assert.equal(view.error, true);
  assert.equal(view.text, "$(error) Quill");
  assert.equal(view.click, "showOutput");
  assert.match(view.tooltip, /^Quill: the completion model is unavailable \(manifest sha256 mismatch\)/);
  s.requestStarted();
  s.requestFinished(10);
  assert.equal(s.current, "error", "a suggestion answer does not clear a reported error");
  s.starting();
  view = s.view();
  assert.equal(s.current, "starting");
  assert.equal(view.error, false);
});

test("an error clears when work the server began after it ends (the model reloaded after a fix)", () => {
  const s = running();
  s.progress(INDEX, indexBegin);
  s.message(MESSAGE_ERROR, "Quill: model unavailable: no such bundle");
  s.progress(INDEX, { kind: "end", message: "0 files, 0 tokens" });
  assert.equal(s.current, "error", "work begun before the error does not clear it");
  s.progress(LOAD, loadBegin);
  assert.equal(s.current, "error");
  s.progress(LOAD, { kind: "end", message: "tiny-python ready" });
  assert.equal(s.current, "running");
  assert.equal(s.view().error, false);
});

test("warnings and info do not make an error; the last warning is in the tooltip", () => {
  const s = running();
  s.message(MESSAGE_WARNING, "Quill: ignored invalid settings: inline.max_lines: must be >= 1");
  s.message(3, "Quill: model tiny-python loaded");
  assert.equal(s.current, "running");
  assert.match(s.view().tooltip, /last warning: ignored invalid settings: inline\.max_lines/);
});

test("a disabled language shows inactive, over loading and generating but not over an error", () => {
  const s = running();
  s.progress(LOAD, loadBegin);
  s.requestStarted();
  const off = inactivity({ "*": true, python: false }, "python");
  const view = s.view(off);
  assert.equal(view.text, "$(circle-slash) Quill: inactive");
  assert.match(view.tooltip, /^Quill: inactive, turned off for python \(quill\.enable\) \(click to turn suggestions on\)/);
  assert.equal(view.click, "toggle");
  s.message(MESSAGE_ERROR, "Quill: boom");
  assert.equal(s.view(off).text, "$(error) Quill");
});

test("a file of another language shows inactive; a click there does not toggle Python", () => {
  const s = running();
  const view = s.view(inactivity({ "*": true }, "markdown"));
  assert.equal(view.text, "$(circle-slash) Quill: inactive");
  assert.match(view.tooltip, /Python files only \(this file is markdown\)/);
  assert.equal(view.click, "showOutput");
});

test("generating while a suggestion request is in flight, with the last answer's time", () => {
  const s = running();
  s.requestStarted();
  s.requestStarted();
  assert.equal(s.view().text, "$(sync~spin) Quill");
  s.requestFinished(undefined);
  assert.equal(s.view().text, "$(sync~spin) Quill");
  s.requestFinished(123.4);
  assert.equal(s.view().text, "$(check) Quill");
  assert.match(s.view().tooltip, /last suggestion in 123 ms/);
});

test("stopped, and a restart forgets the old server's progress", () => {
  const s = running();
  s.progress(LOAD, loadBegin);
  s.stopped();
  assert.equal(s.current, "stopped");
  assert.equal(s.view().click, "restartServer");
  assert.deepEqual(s.working, []);
  s.progress(LOAD, { kind: "end", message: "tiny-python ready" });
  s.starting();
  s.running();
  assert.doesNotMatch(s.view().tooltip, /tiny-python/);
  s.stopped("the server did not start: ENOENT");
  assert.equal(s.current, "error");
});
