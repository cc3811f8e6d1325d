/**
 * The `quill.enable` setting: suggestions on or off per language (pure: unit-tested in Node).
 *
 * Like `github.copilot.enable`, an object keyed by language id with `"*"` for every other language:
 * `{"*": true, "python": false}`. A language's own key wins over `"*"`; a missing or malformed value
 * means on. Quill's server answers Python only, so other languages are inactive whatever the setting; a
 * Python document the server reports inactive (`quill/documentStatus`: excluded by `inline.exclude` or a
 * `.quillignore`, ...) is inactive too.
 */

import { DocumentStatus, serverInactivity } from "./documentStatus";

/** Language ids the server answers (the client's document selector). */
export const SERVED_LANGUAGES: readonly string[] = ["python"];

export const ALL_LANGUAGES = "*";

export type EnableSetting = Record<string, boolean>;

function entries(setting: unknown): EnableSetting {
  if (setting === null || typeof setting !== "object" || Array.isArray(setting)) {
    return {};
  }
  const out: EnableSetting = {};
  for (const [key, value] of Object.entries(setting)) {
    if (typeof value === "boolean") {
      out[key] = value;
    }
  }
  return out;
}

/** Whether `quill.enable` turns suggestions on for `languageId`. */
export function isEnabled(setting: unknown, languageId: string): boolean {
  const values = entries(setting);
  return values[languageId] ?? values[ALL_LANGUAGES] ?? true;
}

/** Why Quill makes no suggestions in a document, and whether the toggle command would change that. */
export interface Inactivity {
  reason: string;
  toggles: boolean;
}

/**
 * Why Quill makes no suggestions in a document of `languageId`; undefined when it does. The language and
 * `quill.enable` come first (the client decides those); then the server's answer about the document, if any.
 */
export function inactivity(setting: unknown, languageId: string, server?: DocumentStatus): Inactivity | undefined {
  if (!SERVED_LANGUAGES.includes(languageId)) {
    return { reason: `Quill suggests in Python files only (this file is ${languageId})`, toggles: false };
  }
  if (!isEnabled(setting, languageId)) {
    return { reason: `turned off for ${languageId} (quill.enable)`, toggles: true };
  }
  return serverInactivity(server);
}

/** The key the toggle command flips: the active served language, else `"*"` (every language). */
export function toggleKey(languageId: string | undefined): string {
  return languageId !== undefined && SERVED_LANGUAGES.includes(languageId) ? languageId : ALL_LANGUAGES;
}

/**
 * `quill.enable` with `key` flipped. A language key that ends up equal to `"*"` is dropped, so a
 * toggle on and off again gives the setting back as it was.
 */
export function toggled(setting: unknown, key: string): EnableSetting {
  const values = entries(setting);
  const next = { ...values, [key]: !isEnabled(values, key) };
  if (key !== ALL_LANGUAGES && next[key] === (next[ALL_LANGUAGES] ?? true)) {
    delete next[key];
  }
  return next;
}
