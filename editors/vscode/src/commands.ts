/** The server's executeCommand commands behind the extension's commands (pure: unit-tested in Node). */

/** Extension command id -> the server command it runs on the function at the cursor. */
export const SERVER_COMMANDS = {
  "quill.addDocstring": "quill.generateDocstring",
  "quill.generateFunctionBody": "quill.generateBody",
} as const;

export type ExtensionCommand = keyof typeof SERVER_COMMANDS;

export interface ExecuteCommandParams {
  command: string;
  arguments: [{ uri: string; position: { line: number; character: number } }];
}

/** workspace/executeCommand parameters: one `{uri, position}` object (UTF-16 position, as VS Code's). */
export function executeParams(command: ExtensionCommand, uri: string, line: number, character: number): ExecuteCommandParams {
  return { command: SERVER_COMMANDS[command], arguments: [{ uri, position: { line, character } }] };
}

/**
 * What to tell the user about the server's answer: undefined when the edit was applied
 * (the server sent it with workspace/applyEdit), else its reason.
 */
export function describeResult(result: unknown): string | undefined {
  if (result !== null && typeof result === "object" && "applied" in result) {
    const { applied, reason } = result as { applied: unknown; reason?: unknown };
    if (applied === true) {
      return undefined;
    }
    return typeof reason === "string" && reason ? reason : "nothing was changed";
  }
  return undefined;
}
