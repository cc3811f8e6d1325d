/**
 * Finding the `quill` executable (pure: the file system is passed in, so it is unit-tested in Node).
 *
 * Order: the `quill.server.path` setting; a virtual environment in a workspace folder (`.venv`,
 * `venv`, `env`); `quill` on PATH. The Neovim plugin searches in the same order.
 */
import * as path from "node:path";

export const VENV_DIRS = [".venv", "venv", "env"] as const;

export interface ResolveInput {
  /** The `quill.server.path` setting ("" or undefined: search). */
  configured?: string;
  /** Absolute paths of the workspace folders, first one first. */
  workspaceFolders: readonly string[];
  /** Environment variables (PATH, PATHEXT). */
  env: Readonly<Record<string, string | undefined>>;
  platform: NodeJS.Platform;
  homeDir: string;
  /** True when `file` exists and may be executed. */
  isExecutable: (file: string) => boolean;
}

export type ServerSource = "setting" | "workspace venv" | "PATH";

export type Resolution =
  | { ok: true; command: string; source: ServerSource }
  | { ok: false; message: string };

function pathFor(platform: NodeJS.Platform): path.PlatformPath {
  return platform === "win32" ? path.win32 : path.posix;
}

function pathVariable(env: ResolveInput["env"], platform: NodeJS.Platform): string {
  // Windows spells it Path; Node keeps the spelling it found.
  const key = Object.keys(env).find((k) => (platform === "win32" ? k.toUpperCase() === "PATH" : k === "PATH"));
  return (key && env[key]) || "";
}

/** Names to try for `name` on this platform (`quill.exe`, `quill.cmd`, ... on Windows). */
export function executableNames(name: string, platform: NodeJS.Platform, env: ResolveInput["env"]): string[] {
  if (platform !== "win32" || path.win32.extname(name) !== "") {
    return [name];
  }
  const exts = (env.PATHEXT || ".COM;.EXE;.BAT;.CMD").split(";").filter(Boolean);
  return exts.map((ext) => name + ext.toLowerCase());
}

/** `~` and `${workspaceFolder}` expanded; a relative path is taken from the first workspace folder. */
export function expandPath(value: string, input: Pick<ResolveInput, "workspaceFolders" | "homeDir" | "platform">): string {
  const p = pathFor(input.platform);
  let out = value.trim();
  const folder = input.workspaceFolders[0];
  if (folder !== undefined) {
    out = out.replace(/\$\{workspaceFolder\}/g, folder);
  }
  if (out === "~" || out.startsWith("~/") || out.startsWith("~\\")) {
    out = p.join(input.homeDir, out.slice(1));
  }
  if (!p.isAbsolute(out) && folder !== undefined && /[\\/]/.test(out)) {
    out = p.join(folder, out);
  }
  return out;
}

/** Search PATH for `name`; the first executable match, or undefined. */
export function searchPath(name: string, input: ResolveInput): string | undefined {
  const p = pathFor(input.platform);
  const dirs = pathVariable(input.env, input.platform).split(p.delimiter).filter(Boolean);
  for (const dir of dirs) {
    for (const candidate of executableNames(name, input.platform, input.env)) {
      const file = p.join(dir, candidate);
      if (input.isExecutable(file)) {
        return file;
      }
    }
  }
  return undefined;
}

/** `quill` in the virtual environments of the workspace folders. */
export function venvCandidates(input: Pick<ResolveInput, "workspaceFolders" | "platform">): string[] {
  const p = pathFor(input.platform);
  const [bin, exe] = input.platform === "win32" ? ["Scripts", "quill.exe"] : ["bin", "quill"];
  return input.workspaceFolders.flatMap((folder) => VENV_DIRS.map((venv) => p.join(folder, venv, bin, exe)));
}

/** Where the server is; a message for the user when it is nowhere. */
export function resolveServer(input: ResolveInput): Resolution {
  const configured = input.configured?.trim();
  if (configured) {
    const p = pathFor(input.platform);
    const expanded = expandPath(configured, input);
    // A bare name ("quill", "quill-dev") is looked up on PATH, as a shell would.
    if (!p.isAbsolute(expanded) && !/[\\/]/.test(expanded)) {
      const found = searchPath(expanded, input);
      return found
        ? { ok: true, command: found, source: "setting" }
        : { ok: false, message: `quill.server.path is "${configured}", which is not on PATH.` };
    }
    return input.isExecutable(expanded)
      ? { ok: true, command: expanded, source: "setting" }
      : { ok: false, message: `quill.server.path is "${configured}", but ${expanded} is not an executable file.` };
  }
  for (const candidate of venvCandidates(input)) {
    if (input.isExecutable(candidate)) {
      return { ok: true, command: candidate, source: "workspace venv" };
    }
  }
  const onPath = searchPath("quill", input);
  if (onPath) {
    return { ok: true, command: onPath, source: "PATH" };
  }
  const where = input.workspaceFolders.length > 0 ? "in the workspace's .venv, venv or env, nor on PATH" : "on PATH";
  return {
    ok: false,
    message:
      `The Quill language server (\`quill\`) was not found ${where}. ` +
      "Install it (`pip install -e .` in a Quill checkout) or set quill.server.path.",
  };
}

/** The command line that starts the server over stdio. */
export function serverArgs(): string[] {
  return ["serve"];
}
