/** The project's Python (with lsp_server installed) for the tests that talk to the real server. */
import * as fs from "node:fs";
import * as path from "node:path";

export const repo = path.resolve(__dirname, "../../../..");

export function findPython(): string | undefined {
  const candidates = [
    process.env.QUILL_PYTHON,
    path.join(repo, ".venv", "bin", "python"),
    path.join(repo, ".venv", "Scripts", "python.exe"),
  ];
  return candidates.find((p): p is string => !!p && fs.existsSync(p));
}

export const SKIP_WITHOUT_PYTHON = findPython() ? false : "no Python with lsp_server (set QUILL_PYTHON)";
