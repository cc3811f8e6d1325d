/**
 * VS Code settings -> the server's settings (pure: no `vscode` import, so it is unit-tested in Node).
 *
 * Every `quill.<section>.<camelCaseKey>` contributed in package.json whose section is one the server
 * reads becomes `<section>.<snake_case_key>` in the JSON sent as initializationOptions and in
 * workspace/didChangeConfiguration. package.json is the one list of settings; the tests check it
 * against lsp_server/config.py.
 */

/** Sections of the server's configuration (lsp_server/config.py: QuillConfig). */
export const SERVER_SECTIONS = ["inline", "completion", "docstring", "codegen", "project", "model"] as const;
export type ServerSection = (typeof SERVER_SECTIONS)[number];

/**
 * Settings the server takes only at start: `model.*` is honoured from initializationOptions only
 * (a workspace must not choose the model), `server.*` is the command line itself.
 */
export const RESTART_SECTIONS = ["model", "server"] as const;

export type ServerSettings = Partial<Record<ServerSection, Record<string, unknown>>>;

/** `maxNewTokens` -> `max_new_tokens`. */
export function camelToSnake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());
}

/** The server's (section, key) for a contributed setting, or undefined for client-only settings. */
export function serverKey(setting: string): { section: ServerSection; key: string } | undefined {
  const parts = setting.replace(/^quill\./, "").split(".");
  if (parts.length !== 2) {
    return undefined;
  }
  const [section, key] = parts;
  if (!(SERVER_SECTIONS as readonly string[]).includes(section)) {
    return undefined;
  }
  return { section: section as ServerSection, key: camelToSnake(key) };
}

interface ContributedConfiguration {
  properties?: Record<string, unknown>;
}

/** The setting names contributed by the extension's package.json. */
export function contributedSettings(packageJson: unknown): string[] {
  const contributes = (packageJson as { contributes?: { configuration?: unknown } }).contributes;
  const configuration = contributes?.configuration;
  const blocks: ContributedConfiguration[] = Array.isArray(configuration)
    ? configuration
    : configuration
      ? [configuration as ContributedConfiguration]
      : [];
  return blocks.flatMap((block) => Object.keys(block.properties ?? {}));
}

/** Reads one setting, given its name without the `quill.` prefix (e.g. `inline.maxNewTokens`). */
export type SettingReader = (name: string) => unknown;

export interface ToServerOptions {
  /** Leave these sections out (didChangeConfiguration leaves out `model`, which needs a restart). */
  exclude?: readonly ServerSection[];
}

/**
 * The server's settings from VS Code's: unset values and empty strings are left out, so the
 * server keeps its own defaults for them.
 */
export function toServerSettings(
  settings: readonly string[],
  read: SettingReader,
  options: ToServerOptions = {},
): ServerSettings {
  const result: ServerSettings = {};
  for (const setting of settings) {
    const target = serverKey(setting);
    if (target === undefined || options.exclude?.includes(target.section)) {
      continue;
    }
    const value = read(setting.replace(/^quill\./, ""));
    if (value === undefined || value === null || value === "") {
      continue;
    }
    (result[target.section] ??= {})[target.key] = value;
  }
  return result;
}

/** Whether a settings change needs a new server process (rather than didChangeConfiguration). */
export function needsRestart(affects: (section: string) => boolean): boolean {
  return RESTART_SECTIONS.some((section) => affects(`quill.${section}`));
}
