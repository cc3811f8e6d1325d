/**
 * Finding the `quill` executable (pure: the file system is passed in, so it is unit-tested in Node).
 *
 * Order: the `quill.server.path` setting; a virtual environment in a workspace folder (`.venv`,
 * `venv`, `env`); `quill` on PATH. The Neovim plugin searches in the same order.
 *
 * Trust: a cloned repository can ship a `.venv/bin/quill` that would run as you. In an untrusted
 * workspace (Restricted Mode) nothing inside a workspace folder is run: no venv, no setting that
 * names `${workspaceFolder}` or a relative path, no PATH entry inside a folder (or relative), and
 * only the user's own value of the setting counts (`configuredServerPath`).
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
  /** `vscode.workspace.isTrusted`: false runs nothing from the workspace. */
  trusted: boolean;
}

export type ServerSource = "setting" | "workspace venv" | "PATH";

/** `skipped`: project-local executables left alone because the workspace is not trusted. */
export type Resolution =
  | { ok: true; command: string; source: ServerSource; skipped: string[] }
  | { ok: false; message: string; skipped: string[] };

/** The `quill.server.path` values VS Code knows (`WorkspaceConfiguration.inspect` and `get`). */
export interface ConfiguredValues {
  /** `get()`: the effective value. */
  effective?: string;
  /** `inspect().globalValue`: the user's own settings. */
  user?: string;
}

/** The setting to honour: in an untrusted workspace, only the user's own value, never a workspace's. */
export function configuredServerPath(values: ConfiguredValues, trusted: boolean): string | undefined {
  return trusted ? values.effective : values.user;
}

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

/** True when `file` is `folder` or lies under it. */
export function isInside(file: string, folder: string, platform: NodeJS.Platform): boolean {
  const p = pathFor(platform);
  const rel = p.relative(folder, file);
  return rel === "" || (!rel.startsWith("..") && !p.isAbsolute(rel));
}

/** True when an untrusted workspace may not run `file`: it is relative or inside a workspace folder. */
function projectLocal(file: string, input: ResolveInput): boolean {
  return !pathFor(input.platform).isAbsolute(file) || input.workspaceFolders.some((f) => isInside(file, f, input.platform));
}

/**
 * Search PATH for `name`; the first executable match, or undefined. Untrusted: matches that are
 * project-local are added to `skipped` instead.
 */
export function searchPath(name: string, input: ResolveInput, skipped: string[] = []): string | undefined {
  const p = pathFor(input.platform);
  const dirs = pathVariable(input.env, input.platform).split(p.delimiter).filter(Boolean);
  for (const dir of dirs) {
    for (const candidate of executableNames(name, input.platform, input.env)) {
      const file = p.join(dir, candidate);
      if (!input.isExecutable(file)) {
        continue;
      }
      if (input.trusted || !projectLocal(file, input)) {
        return file;
      }
      skipped.push(file);
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

const RESTRICTED = "the workspace is not trusted (Restricted Mode), so Quill runs nothing from it";

/** The `quill.server.path` setting, when set: an error rather than a silent fallback when it points nowhere. */
function resolveConfigured(configured: string, input: ResolveInput): Resolution {
  const p = pathFor(input.platform);
  const skipped: string[] = [];
  const expanded = expandPath(configured, input);
  // A bare name ("quill", "quill-dev") is looked up on PATH, as a shell would.
  if (!p.isAbsolute(expanded) && !/[\\/]/.test(expanded)) {
    const found = searchPath(expanded, input, skipped);
    if (found) {
      return { ok: true, command: found, source: "setting", skipped };
    }
    const where = skipped.length > 0 ? ` outside the workspace: ${RESTRICTED}` : "";
    return { ok: false, message: `quill.server.path is "${configured}", which is not on PATH${where}.`, skipped };
  }
  // ${workspaceFolder} and relative paths choose a file by the workspace opened, so they need trust.
  if (!input.trusted && (/\$\{workspaceFolder\}/.test(configured) || projectLocal(expanded, input))) {
    const message =
      `quill.server.path "${configured}" is inside the workspace, and ${RESTRICTED}. ` +
      "Trust the workspace, or set an absolute path outside it.";
    return { ok: false, message, skipped: [expanded] };
  }
  return input.isExecutable(expanded)
    ? { ok: true, command: expanded, source: "setting", skipped }
    : { ok: false, message: `quill.server.path is "${configured}", but ${expanded} is not an executable file.`, skipped };
}

/** Where the server is; a message for the user when it is nowhere. */
export function resolveServer(input: ResolveInput): Resolution {
  const configured = input.configured?.trim();
  if (configured) {
    return resolveConfigured(configured, input);
  }
  const skipped: string[] = [];
  for (const candidate of venvCandidates(input)) {
    if (!input.isExecutable(candidate)) {
      continue;
    }
    if (input.trusted) {
      return { ok: true, command: candidate, source: "workspace venv", skipped };
    }
    skipped.push(candidate);
  }
  const onPath = searchPath("quill", input, skipped);
  if (onPath) {
    return { ok: true, command: onPath, source: "PATH", skipped };
  }
  const where = input.workspaceFolders.length > 0 ? "in the workspace's .venv, venv or env, nor on PATH" : "on PATH";
  const restricted = skipped.length > 0 ? ` ${skipped.join(", ")} was not run: ${RESTRICTED}; trust the workspace to use it.` : "";
  return {
    ok: false,
    message:
      `The Quill language server (\`quill\`) was not found ${where}.${restricted} ` +
      "Install it (`pip install -e .` in a Quill checkout) or set quill.server.path.",
    skipped,
  };
}

/** The command line that starts the server over stdio. */
export function serverArgs(): string[] {
  return ["serve"];
}
