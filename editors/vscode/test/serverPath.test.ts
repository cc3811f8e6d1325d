import * as assert from "node:assert/strict";
import { test } from "node:test";

import { executableNames, expandPath, resolveServer, ResolveInput } from "../src/serverPath";

function input(files: string[], over: Partial<ResolveInput> = {}): ResolveInput {
  const set = new Set(files);
  return {
    workspaceFolders: ["/work/proj"],
    env: { PATH: "/usr/local/bin:/usr/bin" },
    platform: "linux",
    homeDir: "/home/ada",
    isExecutable: (f) => set.has(f),
    ...over,
  };
}

test("the workspace's .venv comes before PATH", () => {
  const r = resolveServer(input(["/work/proj/.venv/bin/quill", "/usr/bin/quill"]));
  assert.deepEqual(r, { ok: true, command: "/work/proj/.venv/bin/quill", source: "workspace venv" });
});

test("venv/ and env/ are found too, in every workspace folder", () => {
  const r = resolveServer(input(["/work/other/env/bin/quill"], { workspaceFolders: ["/work/proj", "/work/other"] }));
  assert.deepEqual(r, { ok: true, command: "/work/other/env/bin/quill", source: "workspace venv" });
});

test("without a venv, the first `quill` on PATH", () => {
  const r = resolveServer(input(["/usr/bin/quill"]));
  assert.deepEqual(r, { ok: true, command: "/usr/bin/quill", source: "PATH" });
});

test("the setting wins over venv and PATH, with ~ and ${workspaceFolder} expanded", () => {
  const files = ["/home/ada/quill/.venv/bin/quill", "/work/proj/.venv/bin/quill", "/work/proj/tools/quill"];
  assert.deepEqual(resolveServer(input(files, { configured: "~/quill/.venv/bin/quill" })), {
    ok: true,
    command: "/home/ada/quill/.venv/bin/quill",
    source: "setting",
  });
  assert.deepEqual(resolveServer(input(files, { configured: "${workspaceFolder}/tools/quill" })), {
    ok: true,
    command: "/work/proj/tools/quill",
    source: "setting",
  });
});

test("a bare name in the setting is looked up on PATH", () => {
  const r = resolveServer(input(["/usr/local/bin/quill-dev"], { configured: "quill-dev" }));
  assert.deepEqual(r, { ok: true, command: "/usr/local/bin/quill-dev", source: "setting" });
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
  });
  const onPath = input(["C:\\Python311\\Scripts\\quill.exe"], { ...win, env: { Path: "C:\\Windows;C:\\Python311\\Scripts", PATHEXT: ".EXE;.CMD" } });
  assert.deepEqual(resolveServer(onPath), { ok: true, command: "C:\\Python311\\Scripts\\quill.exe", source: "PATH" });
  assert.deepEqual(executableNames("quill", "win32", { PATHEXT: ".EXE;.CMD" }), ["quill.exe", "quill.cmd"]);
  assert.deepEqual(executableNames("quill", "linux", {}), ["quill"]);
});

test("relative paths in the setting are taken from the first workspace folder", () => {
  assert.equal(expandPath(".venv/bin/quill", { workspaceFolders: ["/work/proj"], homeDir: "/h", platform: "linux" }), "/work/proj/.venv/bin/quill");
});
