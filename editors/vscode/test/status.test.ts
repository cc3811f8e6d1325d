import * as assert from "node:assert/strict";
import { test } from "node:test";

import { StatusModel } from "../src/status";

test("starting, then loading until the first answer, then model loaded", () => {
  const s = new StatusModel();
  assert.equal(s.current, "stopped");
  s.starting();
  assert.equal(s.current, "starting");
  s.running("0.1.0");
  assert.equal(s.current, "loading");
  assert.match(s.view().tooltip, /model loading \(quill serve 0\.1\.0\)/);
  s.requestStarted();
  assert.equal(s.current, "generating");
  assert.match(s.view().text, /sync~spin/);
  s.requestFinished(123.4);
  assert.equal(s.current, "ready");
  assert.match(s.view().tooltip, /model loaded, last suggestion in 123 ms/);
});

test("generating lasts while any request is in flight; a failed request does not mean loaded", () => {
  const s = new StatusModel();
  s.starting();
  s.running();
  s.requestStarted();
  s.requestStarted();
  s.requestFinished(undefined);
  assert.equal(s.current, "generating");
  s.requestFinished(undefined);
  assert.equal(s.current, "loading");
});

test("an error from the server sticks until a restart, and is drawn as one", () => {
  const s = new StatusModel();
  s.starting();
  s.running();
  s.error("the completion model is unavailable (bundle corrupt)");
  s.requestStarted();
  s.requestFinished(10);
  assert.equal(s.current, "error");
  const view = s.view();
  assert.equal(view.error, true);
  assert.match(view.tooltip, /bundle corrupt/);
  s.starting();
  assert.equal(s.current, "starting");
});

test("a stop with a message is an error; a plain stop is stopped", () => {
  const s = new StatusModel();
  s.starting();
  s.stopped();
  assert.equal(s.current, "stopped");
  s.stopped("the server did not start: ENOENT");
  assert.equal(s.current, "error");
});
