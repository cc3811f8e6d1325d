/**
 * The server's word on a document: `quill/documentStatus` answers, kept per URI (pure: unit-tested in Node).
 *
 * The server does not push changes, so the extension asks after `didOpen`, on switching editors, after a
 * settings change and when a `.quillignore` changes (extension.ts). An answer to an older question about
 * the same document is dropped; a failed request (an older server without the method) means "not known".
 */

import type { Inactivity } from "./enable";

export const DOCUMENT_STATUS = "quill/documentStatus";

export type InactiveReason = "language" | "excluded" | "disabled" | "not_open";

export interface DocumentStatus {
  active: boolean;
  reason: InactiveReason | null;
  detail: string;
}

const REASONS: readonly string[] = ["language", "excluded", "disabled", "not_open"];

/** A well-formed answer, or undefined. */
export function parseDocumentStatus(raw: unknown): DocumentStatus | undefined {
  if (raw === null || typeof raw !== "object") {
    return undefined;
  }
  const { active, reason, detail } = raw as Record<string, unknown>;
  if (typeof active !== "boolean") {
    return undefined;
  }
  const known = typeof reason === "string" && REASONS.includes(reason) ? (reason as InactiveReason) : null;
  return { active, reason: active ? null : known, detail: typeof detail === "string" ? detail : "" };
}

const REASON_WORDS: Record<InactiveReason, string> = {
  language: "not a Python document",
  excluded: "excluded",
  disabled: "turned off in the server settings",
  not_open: "the server has not been sent this document",
};

/** Why the server makes no suggestions here (for the status bar item); undefined when it does or is not known. */
export function serverInactivity(status: DocumentStatus | undefined): Inactivity | undefined {
  if (status === undefined || status.active) {
    return undefined;
  }
  const words = status.reason ? REASON_WORDS[status.reason] : "the server says so";
  return { reason: status.detail ? `${words}: ${status.detail}` : words, toggles: false };
}

/** The newest answer per document URI. */
export class DocumentStatuses {
  private readonly answers = new Map<string, DocumentStatus>();
  private readonly asking = new Map<string, number>();
  private sequence = 0;

  /**
   * @param ask sends `quill/documentStatus` for a URI (rejects when the server cannot answer)
   * @param changed called after an answer changed what is known
   */
  constructor(
    private readonly ask: (uri: string) => Promise<unknown>,
    private readonly changed: () => void,
  ) {}

  get(uri: string): DocumentStatus | undefined {
    return this.answers.get(uri);
  }

  /** Ask the server about `uri` again; resolves once the answer (or its failure) is recorded or dropped. */
  async refresh(uri: string): Promise<void> {
    const mine = ++this.sequence;
    this.asking.set(uri, mine);
    let status: DocumentStatus | undefined;
    try {
      status = parseDocumentStatus(await this.ask(uri));
    } catch {
      status = undefined; // no such method (an older server), or the server went away: not known
    }
    if (this.asking.get(uri) !== mine) {
      return; // a newer question about this document is on its way
    }
    this.asking.delete(uri);
    if (status === undefined) {
      this.answers.delete(uri);
    } else {
      this.answers.set(uri, status);
    }
    this.changed();
  }

  /** Forget every answer (the server restarted). */
  clear(): void {
    this.answers.clear();
    this.asking.clear();
  }
}
