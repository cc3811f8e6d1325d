/**
 * Acceptance statistics from the VS Code side (pure: unit-tested in Node).
 *
 * Every inline item from the server carries `command: {command: "quill.accepted", arguments: [id]}`; VS Code
 * runs it when the whole suggestion is accepted. A partial acceptance (Ctrl+Right: a word, or a line) reaches
 * the provider's `handleDidPartiallyAcceptCompletionItem` instead (inline.ts), and is reported here as
 * `quill.accepted [id, acceptedLength]`. `quill.accepted` and `quill.stats` are the server's commands, which
 * vscode-languageclient registers itself: the extension must not register commands of those names.
 */

export const ACCEPTED_COMMAND = "quill.accepted";
export const STATS_COMMAND = "quill.stats";

/** What VS Code passes as the second argument: a length, or (newer releases) `{kind, acceptedLength}`. */
export type PartialAcceptInfo = number | { acceptedLength: number; kind?: number };

/** The part of an inline item this needs: its command (vscode.Command's shape). */
export interface CommandCarrier {
  command?: { command: string; arguments?: unknown[] };
}

/** The suggestion id in the item's `quill.accepted` command, or undefined. */
export function suggestionId(item: CommandCarrier): string | undefined {
  const command = item.command;
  if (command?.command !== ACCEPTED_COMMAND) {
    return undefined;
  }
  const id = command.arguments?.[0];
  return typeof id === "string" && id ? id : undefined;
}

function acceptedLength(info: PartialAcceptInfo): number | undefined {
  const length = typeof info === "number" ? info : info?.acceptedLength;
  return typeof length === "number" && Number.isInteger(length) && length > 0 ? length : undefined;
}

/**
 * Reports partial acceptances through `execute` (vscode.commands.executeCommand, which reports its own
 * failures). Some VS Code releases
 * call the hook twice for one acceptance (once with the length, once with `{kind, acceptedLength}`): a
 * call that repeats the last length reported for the same item is dropped.
 */
export class PartialAcceptances {
  private readonly reported = new WeakMap<object, number>();

  constructor(private readonly execute: (command: string, ...args: unknown[]) => unknown) {}

  /** The provider's handleDidPartiallyAcceptCompletionItem(item, info). */
  handle(item: CommandCarrier, info: PartialAcceptInfo): void {
    const id = suggestionId(item);
    const length = acceptedLength(info);
    if (id === undefined || length === undefined || this.reported.get(item) === length) {
      return;
    }
    this.reported.set(item, length);
    this.execute(ACCEPTED_COMMAND, id, length);
  }
}

/** `quill.stats`'s answer in one line for a notification; undefined for an answer that is not one. */
export function describeStats(stats: unknown): string | undefined {
  if (stats === null || typeof stats !== "object" || typeof (stats as Record<string, unknown>).shown !== "number") {
    return undefined;
  }
  const s = stats as Record<string, unknown>;
  const rate = typeof s.acceptance_rate === "number" ? `${Math.round(100 * s.acceptance_rate)}%` : "-";
  const latency = typeof s.mean_latency_ms === "number" ? `${Math.round(s.mean_latency_ms)} ms` : "-";
  return (
    `${s.shown} suggestions shown (of ${s.requests} requests), ${s.accepted} accepted (${rate}), ` +
    `${s.partially_accepted} accepted in part (${s.partial_chars} characters); mean latency ${latency}`
  );
}
