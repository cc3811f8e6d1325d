/**
 * Quill for VS Code: starts `quill serve` with vscode-languageclient for Python documents.
 *
 * Inline suggestions, completion, hover and code actions are the client's standard LSP features
 * (client.ts); this file adds the server lookup, the settings, the status bar item and the commands.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as vscode from "vscode";
import { ExecuteCommandRequest, LanguageClient, State } from "vscode-languageclient/node";

import { describeStats, STATS_COMMAND } from "./acceptance";
import { createClient } from "./client";
import { describeResult, executeParams, ExtensionCommand, SERVER_COMMANDS } from "./commands";
import { contributedSettings, needsRestart, SERVER_SECTIONS, toServerSettings } from "./config";
import { DOCUMENT_STATUS, DocumentStatuses } from "./documentStatus";
import { inactivity, isEnabled, toggled, toggleKey } from "./enable";
import { configuredServerPath, resolveServer, serverArgs } from "./serverPath";
import { StatusModel, StatusView } from "./status";

let client: LanguageClient | undefined;
const status = new StatusModel();
let statusItem: vscode.StatusBarItem;
let output: vscode.LogOutputChannel;
let settingNames: string[] = [];
// The server's quill/documentStatus answers (excluded by inline.exclude or a .quillignore, ...).
const documentStatuses = new DocumentStatuses(
  (uri) =>
    client?.state === State.Running
      ? client.sendRequest(DOCUMENT_STATUS, { textDocument: { uri } })
      : Promise.reject(new Error("the server is not running")),
  () => redraw(),
);

const CLICK: Record<StatusView["click"], string> = {
  showOutput: "quill.showOutput",
  restartServer: "quill.restartServer",
  toggle: "quill.toggle",
};

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
  const editor = vscode.window.activeTextEditor;
  const document = editor?.document;
  const server = document ? documentStatuses.get(document.uri.toString()) : undefined;
  const view = status.view(document ? inactivity(readSetting("enable"), document.languageId, server) : undefined);
  statusItem.text = view.text;
  statusItem.tooltip = view.tooltip;
  statusItem.backgroundColor = view.error ? new vscode.ThemeColor("statusBarItem.errorBackground") : undefined;
  statusItem.command = CLICK[view.click];
}

/** Ask the server again whether it answers in the active editor's document (it pushes no changes). */
function refreshDocumentStatus(): void {
  const document = vscode.window.activeTextEditor?.document;
  if (document && client?.state === State.Running) {
    void documentStatuses.refresh(document.uri.toString());
  }
}

function onActiveEditorChanged(): void {
  redraw();
  refreshDocumentStatus();
}

/** Flip `quill.enable` for the active editor's language (or "*"), where the value now in force lives. */
async function toggle(): Promise<void> {
  const key = toggleKey(vscode.window.activeTextEditor?.document.languageId);
  const config = vscode.workspace.getConfiguration("quill");
  const inspected = config.inspect("enable");
  const target =
    inspected?.workspaceFolderValue !== undefined
      ? vscode.ConfigurationTarget.WorkspaceFolder
      : inspected?.workspaceValue !== undefined
        ? vscode.ConfigurationTarget.Workspace
        : vscode.ConfigurationTarget.Global;
  const next = toggled(config.get("enable"), key);
  await config.update("enable", next, target);
  const which = key === "*" ? "all languages" : key;
  output.info(`quill.enable: suggestions ${isEnabled(next, key) ? "on" : "off"} for ${which}`);
  redraw();
}

/** The server executable for this workspace; in Restricted Mode nothing from the workspace (serverPath.ts). */
function findServer(): ReturnType<typeof resolveServer> {
  const trusted = vscode.workspace.isTrusted;
  const folders = (vscode.workspace.workspaceFolders ?? [])
    .filter((f) => f.uri.scheme === "file")
    .map((f) => f.uri.fsPath);
  const config = vscode.workspace.getConfiguration("quill");
  const configured = configuredServerPath(
    { effective: config.get<string>("server.path"), user: config.inspect<string>("server.path")?.globalValue },
    trusted,
  );
  const resolution = resolveServer({
    configured,
    workspaceFolders: folders,
    env: process.env,
    platform: process.platform,
    homeDir: os.homedir(),
    isExecutable,
    trusted,
  });
  for (const file of resolution.skipped) {
    output.warn(`Restricted Mode: not running ${file} from the untrusted workspace; trust the workspace to use it.`);
  }
  return resolution;
}

async function start(): Promise<void> {
  const resolution = findServer();
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
  client = createClient(resolution.command, {
    status,
    redraw,
    output,
    enabled: (languageId) => isEnabled(readSetting("enable"), languageId),
    initializationOptions: toServerSettings(settingNames, readSetting),
    opened: (document) => void documentStatuses.refresh(document.uri.toString()),
  });
  documentStatuses.clear();
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

/** This session's acceptance statistics: the server's `quill.stats` (which the extension must not register). */
async function showStats(): Promise<void> {
  if (!client || client.state !== State.Running) {
    void vscode.window.showWarningMessage("Quill: the server is not running.");
    return;
  }
  const stats = await client.sendRequest(ExecuteCommandRequest.type, { command: STATS_COMMAND, arguments: [] });
  void vscode.window.showInformationMessage(`Quill: ${describeStats(stats) ?? "the server sent no statistics"}`);
}

async function onConfigurationChanged(event: vscode.ConfigurationChangeEvent): Promise<void> {
  if (!event.affectsConfiguration("quill")) {
    return;
  }
  redraw(); // quill.enable, which only the client reads
  if (needsRestart((section) => event.affectsConfiguration(section))) {
    await restart();
  } else if (client?.state === State.Running && SERVER_SECTIONS.some((s) => event.affectsConfiguration(`quill.${s}`))) {
    const settings = toServerSettings(settingNames, readSetting, { exclude: ["model"] });
    await client.sendNotification("workspace/didChangeConfiguration", { settings: { quill: settings } });
    refreshDocumentStatus(); // inline.exclude or inline.enabled may have changed the answer
  }
}

/** An edited, added or deleted `.quillignore` counts from the server's next answer: ask again. */
function watchQuillignore(): vscode.Disposable[] {
  const watcher = vscode.workspace.createFileSystemWatcher("**/.quillignore");
  return [watcher, watcher.onDidChange(refreshDocumentStatus), watcher.onDidCreate(refreshDocumentStatus), watcher.onDidDelete(refreshDocumentStatus)];
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
    vscode.commands.registerCommand("quill.toggle", toggle),
    vscode.commands.registerCommand("quill.showStats", showStats),
    vscode.window.onDidChangeActiveTextEditor(onActiveEditorChanged),
    vscode.workspace.onDidChangeConfiguration(onConfigurationChanged),
    ...watchQuillignore(),
    // Trusted now: the workspace's own `quill` may run (Restricted Mode skipped it).
    vscode.workspace.onDidGrantWorkspaceTrust(restart),
    { dispose: () => void stop() },
  );
  await start();
}

export async function deactivate(): Promise<void> {
  await stop();
}
