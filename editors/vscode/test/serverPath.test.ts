import * as assert from "node:assert/strict";
import { test } from "node:test";

import { configuredServerPath, executableNames, expandPath, isInside, resolveServer, ResolveInput } from "../src/serverPath";

function input(files: string[], over: Partial<ResolveInput> = {}): ResolveInput {
  const set = new Set(files);
  return {
    workspaceFolders: ["/work/proj"],
    env: { PATH: "/usr/local/bin:/usr/bin" },
    platform: "linux",
    homeDir: "/home/ada",
    isExecutable: (f) => set.has(f),
    trusted: true,
    ...over,
  };
}

test("the workspace's .venv comes before PATH", () => {
  const r = resolveServer(input(["/work/proj/.venv/bin/quill", "/usr/bin/quill"]));
  assert.deepEqual(r, { ok: true, command: "/work/proj/.venv/bin/quill", source: "workspace venv", skipped: [] });
});

test("venv/ and env/ are found too, in every workspace folder", () => {
  const r = resolveServer(input(["/work/other/env/bin/quill"], { workspaceFolders: ["/work/proj", "/work/other"] }));
  assert.deepEqual(r, { ok: true, command: "/work/other/env/bin/quill", source: "workspace venv", skipped: [] });
});

test("without a venv, the first `quill` on PATH", () => {
  const r = resolveServer(input(["/usr/bin/quill"]));
  assert.deepEqual(r, { ok: true, command: "/usr/bin/quill", source: "PATH", skipped: [] });
});

test("the setting wins over venv and PATH, with ~ and ${workspaceFolder} expanded", () => {
  const files = ["/home/ada/quill/.venv/bin/quill", "/work/proj/.venv/bin/quill", "/work/proj/tools/quill"];
  assert.deepEqual(resolveServer(input(files, { configured: "~/quill/.venv/bin/quill" })), {
    ok: true,
    command: "/home/ada/quill/.venv/bin/quill",
    source: "setting",
    skipped: [],
  });
  assert.deepEqual(resolveServer(input(files, { configured: "${workspaceFolder}/tools/quill" })), {
    ok: true,
    command: "/work/proj/tools/quill",
    source: "setting",
    skipped: [],
  });
});

test("a bare name in the setting is looked up on PATH", () => {
  const r = resolveServer(input(["/usr/local/bin/quill-dev"], { configured: "quill-dev" }));
  assert.deepEqual(r, { ok: true, command: "/usr/local/bin/quill-dev", source: "setting", skipped: [] });
});

test("a setting that points nowhere is an error, not a silent fallback", () => {
  const r = resolveServer(input(["/usr/bin/quill"], { configured: "/opt/missing/quill" }));
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.message : "", /\/opt\/missing\/quill is not an executable file/);
});

test("nothing found: the message says where it looked and what to do", () => {
  const r = resolveServer(input([]));
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.message : "", /\.venv, venv or env, nor on PATH.*quill\.server\.path/s);
});

test("Windows: Scripts\\quill.exe in the venv, PATHEXT names on Path", () => {
  const win = { platform: "win32" as const, workspaceFolders: ["C:\\proj"], homeDir: "C:\\Users\\ada" };
  assert.deepEqual(resolveServer(input(["C:\\proj\\.venv\\Scripts\\quill.exe"], win)), {
    ok: true,
    command: "C:\\proj\\.venv\\Scripts\\quill.exe",
    source: "workspace venv",
    skipped: [],
  });
  const onPath = input(["C:\\Python311\\Scripts\\quill.exe"], { ...win, env: { Path: "C:\\Windows;C:\\Python311\\Scripts", PATHEXT: ".EXE;.CMD" } });
  assert.deepEqual(resolveServer(onPath), { ok: true, command: "C:\\Python311\\Scripts\\quill.exe", source: "PATH", skipped: [] });
  assert.deepEqual(executableNames("quill", "win32", { PATHEXT: ".EXE;.CMD" }), ["quill.exe", "quill.cmd"]);
  assert.deepEqual(executableNames("quill", "linux", {}), ["quill"]);
});

test("relative paths in the setting are taken from the first workspace folder", () => {
  assert.equal(expandPath(".venv/bin/quill", { workspaceFolders: ["/work/proj"], homeDir: "/h", platform: "linux" }), "/work/proj/.venv/bin/quill");
});

// Restricted Mode: a cloned repository can ship a `.venv/bin/quill` that would run as you.

test("untrusted: the workspace's .venv is not run; PATH is used and the skipped file is reported", () => {
  const r = resolveServer(input(["/work/proj/.venv/bin/quill", "/usr/bin/quill"], { trusted: false }));
  assert.deepEqual(r, { ok: true, command: "/usr/bin/quill", source: "PATH", skipped: ["/work/proj/.venv/bin/quill"] });
});

test("untrusted with only a workspace venv: not found, and the message says why and what to do", () => {
  const r = resolveServer(input(["/work/proj/.venv/bin/quill"], { trusted: false }));
  assert.equal(r.ok, false);
  assert.deepEqual(r.skipped, ["/work/proj/.venv/bin/quill"]);
  assert.match(!r.ok ? r.message : "", /\/work\/proj\/\.venv\/bin\/quill was not run: the workspace is not trusted.*trust the workspace/s);
});

test("untrusted: a PATH entry inside the workspace, or a relative one, is skipped", () => {
  const env = { PATH: "/work/proj/tools:node_modules/.bin:/usr/bin" };
  const files = ["/work/proj/tools/quill", "node_modules/.bin/quill", "/usr/bin/quill"];
  const r = resolveServer(input(files, { trusted: false, env }));
  assert.deepEqual(r, { ok: true, command: "/usr/bin/quill", source: "PATH", skipped: ["/work/proj/tools/quill", "node_modules/.bin/quill"] });
  const trusted = resolveServer(input(files, { env }));
  assert.equal(trusted.ok && trusted.command, "/work/proj/tools/quill");
});

test("untrusted: a setting with ${workspaceFolder}, a relative path or a path inside the workspace is refused", () => {
  const files = ["/work/proj/tools/quill", "/work/proj/.venv/bin/quill", "/usr/bin/quill"];
  for (const configured of ["${workspaceFolder}/tools/quill", "tools/quill", "/work/proj/.venv/bin/quill"]) {
    const r = resolveServer(input(files, { trusted: false, configured }));
    assert.equal(r.ok, false, configured);
    assert.match(!r.ok ? r.message : "", /inside the workspace, and the workspace is not trusted/, configured);
    assert.equal(resolveServer(input(files, { configured })).ok, true, `${configured} when trusted`);
  }
});

test("untrusted: an absolute setting outside the workspace and a bare name on PATH still work", () => {
  const files = ["/home/ada/quill/.venv/bin/quill", "/usr/local/bin/quill-dev"];
  const home = resolveServer(input(files, { trusted: false, configured: "~/quill/.venv/bin/quill" }));
  assert.deepEqual(home, { ok: true, command: "/home/ada/quill/.venv/bin/quill", source: "setting", skipped: [] });
  const bare = resolveServer(input(files, { trusted: false, configured: "quill-dev" }));
  assert.deepEqual(bare, { ok: true, command: "/usr/local/bin/quill-dev", source: "setting", skipped: [] });
});

test("untrusted: only the user's own quill.server.path counts, never a workspace's value", () => {
  assert.equal(configuredServerPath({ effective: "/work/proj/evil", user: "/opt/quill/bin/quill" }, false), "/opt/quill/bin/quill");
  assert.equal(configuredServerPath({ effective: "/work/proj/evil" }, false), undefined);
  assert.equal(configuredServerPath({ effective: "/opt/a", user: "/opt/b" }, true), "/opt/a");
});

test("isInside: the folder itself and what lies under it, not a sibling with the same prefix", () => {
  assert.equal(isInside("/work/proj", "/work/proj", "linux"), true);
  assert.equal(isInside("/work/proj/.venv/bin/quill", "/work/proj", "linux"), true);
  assert.equal(isInside("/work/project2/quill", "/work/proj", "linux"), false);
  assert.equal(isInside("C:\\Proj\\.venv\\Scripts\\quill.exe", "c:\\proj", "win32"), true);
});
