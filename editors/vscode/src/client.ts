/**
 * The language client for `quill serve`: what the server reports feeds the status model, and
 * `quill.enable` gates what Quill shows unasked (ghost text, the completion list, hover). Inline
 * completion is inline.ts's feature (it reports partial acceptances).
 */
import { performance } from "node:perf_hooks";
import * as vscode from "vscode";
import {
  LanguageClient,
  LanguageClientOptions,
  LogMessageNotification,
  MessageType,
  ServerOptions,
  ShowMessageNotification,
  State,
  TransportKind,
} from "vscode-languageclient/node";

import { QuillLanguageClient } from "./inline";
import { serverArgs } from "./serverPath";
import { ProgressValue, StatusModel } from "./status";

export interface ClientHooks {
  status: StatusModel;
  /** Draw the status model again. */
  redraw: () => void;
  output: vscode.LogOutputChannel;
  /** `quill.enable` for a language (enable.ts). */
  enabled: (languageId: string) => boolean;
  initializationOptions: unknown;
  /** A document's didOpen went to the server (time to ask for its quill/documentStatus). */
  opened: (document: vscode.TextDocument) => void;
}

function middleware(hooks: ClientHooks): LanguageClientOptions["middleware"] {
  const { status, redraw, enabled } = hooks;
  return {
    didOpen: async (document, next) => {
      await next(document);
      hooks.opened(document);
    },
    provideInlineCompletionItems: async (document, position, context, token, next) => {
      if (!enabled(document.languageId)) {
        return undefined;
      }
      status.requestStarted();
      redraw();
      const started = performance.now();
      let answered: number | undefined;
      try {
        const result = await next(document, position, context, token);
        answered = performance.now() - started;
        return result;
      } finally {
        status.requestFinished(answered);
        redraw();
      }
    },
    provideCompletionItem: (document, position, context, token, next) =>
      enabled(document.languageId) ? next(document, position, context, token) : undefined,
    provideHover: (document, position, token, next) => (enabled(document.languageId) ? next(document, position, token) : undefined),
    // The server's work-done progress (model loading, workspace indexing): the client still shows it
    // in the window's progress area; the status bar item follows it too.
    handleWorkDoneProgress: (token, params, next) => {
      status.progress(token, params as ProgressValue);
      redraw();
      next(token, params);
    },
  };
}

function showMessage(hooks: ClientHooks, type: MessageType, message: string): void {
  hooks.status.message(type, message);
  hooks.redraw();
  if (type === MessageType.Error) {
    void vscode.window.showErrorMessage(message, "Show Output").then((choice) => {
      if (choice) {
        hooks.output.show();
      }
    });
  } else if (type === MessageType.Warning) {
    void vscode.window.showWarningMessage(message);
  } else {
    void vscode.window.showInformationMessage(message);
  }
}

function logMessage(hooks: ClientHooks, type: MessageType, message: string): void {
  const { output } = hooks;
  if (type === MessageType.Error) {
    output.error(message);
  } else if (type === MessageType.Warning) {
    output.warn(message);
  } else if (type === MessageType.Info) {
    output.info(message);
  } else {
    output.debug(message);
  }
  if (type === MessageType.Error || type === MessageType.Warning) {
    hooks.status.message(type, message);
    hooks.redraw();
  }
}

export function createClient(command: string, hooks: ClientHooks): LanguageClient {
  const serverOptions: ServerOptions = { command, args: serverArgs(), transport: TransportKind.stdio };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "python" },
      { scheme: "untitled", language: "python" },
    ],
    outputChannel: hooks.output,
    initializationOptions: hooks.initializationOptions,
    middleware: middleware(hooks),
  };
  const lc = new QuillLanguageClient("quill", "Quill", serverOptions, clientOptions);
  // These replace the client's default handlers, which only show or log the message.
  lc.onNotification(ShowMessageNotification.type, (m) => showMessage(hooks, m.type, m.message));
  lc.onNotification(LogMessageNotification.type, (m) => logMessage(hooks, m.type, m.message));
  lc.onDidChangeState((event) => {
    if (event.newState === State.Running) {
      hooks.status.running(lc.initializeResult?.serverInfo?.version);
    } else if (event.newState === State.Stopped) {
      hooks.status.stopped();
    } else {
      hooks.status.starting();
    }
    hooks.redraw();
  });
  return lc;
}
