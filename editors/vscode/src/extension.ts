/**
 * Quill for VS Code: starts `quill serve` with vscode-languageclient for Python documents.
 *
 * Inline suggestions, completion, hover and code actions are the client's standard LSP features;
 * this file adds the server lookup, the settings, the status bar item and the two commands.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import { performance } from "node:perf_hooks";
import * as vscode from "vscode";
import {
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  MessageType,
  ServerOptions,
  ShowMessageNotification,
  State,
  TransportKind,
} from "vscode-languageclient/node";

import { describeResult, executeParams, ExtensionCommand, SERVER_COMMANDS } from "./commands";
import { contributedSettings, needsRestart, toServerSettings } from "./config";
import { resolveServer, serverArgs } from "./serverPath";
import { StatusModel } from "./status";

let client: LanguageClient | undefined;
const status = new StatusModel();
let statusItem: vscode.StatusBarItem;
let output: vscode.LogOutputChannel;
let settingNames: string[] = [];

function isExecutable(file: string): boolean {
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile()) {
      return false;
    }
    if (process.platform !== "win32") {
      fs.accessSync(file, fs.constants.X_OK);
    }
    return true;
  } catch {
    return false;
  }
}

function readSetting(name: string): unknown {
  return vscode.workspace.getConfiguration("quill").get(name);
}

function redraw(): void {
  const view = status.view();
  statusItem.text = view.text;
  statusItem.tooltip = view.tooltip;
  statusItem.backgroundColor = view.error ? new vscode.ThemeColor("statusBarItem.errorBackground") : undefined;
  statusItem.command = view.error ? "quill.showOutput" : status.current === "stopped" ? "quill.restartServer" : "quill.showOutput";
}

function createClient(command: string): LanguageClient {
  const serverOptions: ServerOptions = { command, args: serverArgs(), transport: TransportKind.stdio };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "python" },
      { scheme: "untitled", language: "python" },
    ],
    outputChannel: output,
    initializationOptions: toServerSettings(settingNames, readSetting),
    middleware: {
      // Inline suggestions drive the status bar's "generating" and "model loaded" states.
      provideInlineCompletionItems: async (document, position, context, token, next) => {
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
    },
  };
  const lc = new LanguageClient("quill", "Quill", serverOptions, clientOptions);
  // Replaces the client's default handler: show the message as it does, and mark errors in the status bar.
  lc.onNotification(ShowMessageNotification.type, (message) => {
    if (message.type === MessageType.Error) {
      status.error(message.message.replace(/^Quill: /, ""));
      redraw();
      void vscode.window.showErrorMessage(message.message, "Show Output").then((choice) => {
        if (choice) {
          output.show();
        }
      });
    } else if (message.type === MessageType.Warning) {
      void vscode.window.showWarningMessage(message.message);
    } else {
      void vscode.window.showInformationMessage(message.message);
    }
  });
  lc.onDidChangeState((event) => {
    if (event.newState === State.Running) {
      status.running(lc.initializeResult?.serverInfo?.version);
    } else if (event.newState === State.Stopped) {
      status.stopped();
    } else {
      status.starting();
    }
    redraw();
  });
  return lc;
}

async function start(): Promise<void> {
  const folders = (vscode.workspace.workspaceFolders ?? [])
    .filter((f) => f.uri.scheme === "file")
    .map((f) => f.uri.fsPath);
  const resolution = resolveServer({
    configured: vscode.workspace.getConfiguration("quill").get<string>("server.path"),
    workspaceFolders: folders,
    env: process.env,
    platform: process.platform,
    homeDir: os.homedir(),
    isExecutable,
  });
  if (!resolution.ok) {
    status.error("server not found");
    redraw();
    output.error(resolution.message);
    const choice = await vscode.window.showErrorMessage(resolution.message, "Open Settings");
    if (choice) {
      await vscode.commands.executeCommand("workbench.action.openSettings", "quill.server.path");
    }
    return;
  }
  output.info(`starting ${resolution.command} ${serverArgs().join(" ")} (found in ${resolution.source})`);
  status.starting();
  redraw();
  client = createClient(resolution.command);
  try {
    await client.start();
  } catch (err) {
    status.stopped(`the server did not start: ${String(err)}`);
    redraw();
    void vscode.window.showErrorMessage(`Quill: the server did not start (${String(err)}).`, "Show Output").then((c) => {
      if (c) {
        output.show();
      }
    });
  }
}

async function stop(): Promise<void> {
  const old = client;
  client = undefined;
  if (old) {
    await old.stop().catch(() => undefined);
    await old.dispose().catch(() => undefined);
  }
}

async function restart(): Promise<void> {
  await stop();
  await start();
}

async function runOnCursor(command: ExtensionCommand): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.document.languageId !== "python") {
    void vscode.window.showInformationMessage("Quill: open a Python file and put the cursor on a function.");
    return;
  }
  if (!client || client.state !== State.Running) {
    void vscode.window.showWarningMessage("Quill: the server is not running.");
    return;
  }
  const { line, character } = editor.selection.active;
  const params = executeParams(command, editor.document.uri.toString(), line, character);
  const title = command === "quill.addDocstring" ? "Writing a docstring" : "Generating the body";
  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Window, title: `Quill: ${title}…` },
    () => client!.sendRequest(ExecuteCommandRequest.type, params),
  );
  const message = describeResult(result);
  if (message) {
    void vscode.window.showInformationMessage(`Quill: ${message}`);
  }
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel("Quill", { log: true });
  statusItem = vscode.window.createStatusBarItem("quill.status", vscode.StatusBarAlignment.Right, 100);
  statusItem.name = "Quill";
  settingNames = contributedSettings(context.extension.packageJSON);
  redraw();
  statusItem.show();

  context.subscriptions.push(
    output,
    statusItem,
    ...(Object.keys(SERVER_COMMANDS) as ExtensionCommand[]).map((id) =>
      vscode.commands.registerCommand(id, () => runOnCursor(id)),
    ),
    vscode.commands.registerCommand("quill.restartServer", restart),
    vscode.commands.registerCommand("quill.showOutput", () => output.show()),
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (!event.affectsConfiguration("quill")) {
        return;
      }
      if (needsRestart((section) => event.affectsConfiguration(section))) {
        await restart();
      } else if (client?.state === State.Running) {
        const settings = toServerSettings(settingNames, readSetting, { exclude: ["model"] });
        await client.sendNotification("workspace/didChangeConfiguration", { settings: { quill: settings } });
      }
    }),
    { dispose: () => void stop() },
  );
  await start();
}

export async function deactivate(): Promise<void> {
  await stop();
}
