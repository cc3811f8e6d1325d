/**
 * `npm run package` (esbuild bundle + vsce) builds a .vsix that holds the one bundled file and the
 * Marketplace files, and the bundle loads (against a stand-in `vscode` module) with its entry points.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";

const root = path.resolve(__dirname, "../..");

interface ZipEntry {
  name: string;
  size: number;
}

/** The entries of a zip file, from its central directory. */
function zipEntries(zip: Buffer): ZipEntry[] {
  let end = zip.length - 22;
  while (end >= 0 && zip.readUInt32LE(end) !== 0x06054b50) {
    end -= 1; // the end record is followed by a comment of up to 64 KB
  }
  assert.ok(end >= 0, "no end of central directory record");
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    assert.equal(zip.readUInt32LE(at), 0x02014b50, "central directory header");
    const nameLength = zip.readUInt16LE(at + 28);
    const extra = zip.readUInt16LE(at + 30);
    const comment = zip.readUInt16LE(at + 32);
    entries.push({ name: zip.toString("utf8", at + 46, at + 46 + nameLength), size: zip.readUInt32LE(at + 24) });
    at += 46 + nameLength + extra + comment;
  }
  return entries;
}

const npm = process.platform === "win32" ? "npm.cmd" : "npm";

test("npm run package builds a small .vsix: the bundle, package.json, README, LICENSE and the icon", { timeout: 120_000 }, (t) => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "quill-vsix-"));
  try {
    const vsix = path.join(out, "quill.vsix");
    execFileSync(npm, ["run", "package", "--", "--out", vsix], { cwd: root, stdio: "pipe", shell: process.platform === "win32" });
    const bytes = fs.readFileSync(vsix);
    const entries = zipEntries(bytes);
    const names = entries.map((e) => e.name);
    const line = `${path.basename(vsix)}: ${(bytes.length / 1024).toFixed(1)} KB, ${entries.length} files (${names.join(", ")})`;
    t.diagnostic(line);
    for (const name of ["extension/dist/extension.js", "extension/package.json", "extension/readme.md", "extension/LICENSE.txt", "extension/media/icon.png"]) {
      assert.ok(names.some((n) => n.toLowerCase() === name.toLowerCase()), `${name} in ${names.join(", ")}`);
    }
    const leaked = names.filter((n) => /(^|\/)(node_modules|src|test|out)\/|\.ts$|\.map$/.test(n));
    assert.deepEqual(leaked, [], "sources, tests, maps or node_modules in the .vsix");
    assert.ok(bytes.length < 1024 * 1024, `the .vsix is ${bytes.length} bytes`);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

/**
 * A stand-in for the `vscode` module, which only exists inside VS Code: the names @types/vscode
 * exports, each a callable, constructible stand-in whose properties are stand-ins again, so that the
 * bundle's module-level code runs.
 */
function vscodeStub(): string {
  const dts = fs.readFileSync(path.join(root, "node_modules", "@types", "vscode", "index.d.ts"), "utf8");
  const names = [...new Set([...dts.matchAll(/^\s*export (?:class|enum|namespace|const|function|let) (\w+)/gm)].map((m) => m[1]))];
  return `
const handler = {
  get: (target, key) => (key === "then" || typeof key === "symbol" ? undefined : stub),
  apply: () => stub,
  construct: () => stub,
};
const stub = new Proxy(function () {}, handler);
for (const name of ${JSON.stringify(names)}) exports[name] = stub;
`;
}

test("the bundle loads and exports activate and deactivate", { timeout: 60_000 }, () => {
  const bundle = path.join(root, "dist", "extension.js");
  if (!fs.existsSync(bundle)) {
    execFileSync(npm, ["run", "bundle"], { cwd: root, stdio: "pipe", shell: process.platform === "win32" });
  }
  const stubs = fs.mkdtempSync(path.join(os.tmpdir(), "quill-vscode-stub-"));
  try {
    fs.mkdirSync(path.join(stubs, "vscode"));
    fs.writeFileSync(path.join(stubs, "vscode", "index.js"), vscodeStub());
    const script = `const m = require(${JSON.stringify(bundle)}); console.log(typeof m.activate, typeof m.deactivate);`;
    const printed = execFileSync(process.execPath, ["-e", script], { env: { ...process.env, NODE_PATH: stubs }, encoding: "utf8" });
    assert.equal(printed.trim(), "function function");
  } finally {
    fs.rmSync(stubs, { recursive: true, force: true });
  }
});
