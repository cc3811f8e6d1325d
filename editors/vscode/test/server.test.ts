/**
 * The extension's logic against the real `quill serve` over stdio (no VS Code): the settings it
 * sends are accepted without a warning, and its commands' arguments work.
 */
import * as assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";

import { describeStats, STATS_COMMAND } from "../src/acceptance";
import { describeResult, executeParams, SERVER_COMMANDS } from "../src/commands";
import { contributedSettings, toServerSettings } from "../src/config";
import { DOCUMENT_STATUS, DocumentStatuses } from "../src/documentStatus";
import { inactivity } from "../src/enable";
import { serverArgs } from "../src/serverPath";
import { StatusModel } from "../src/status";
import { findPython, repo, SKIP_WITHOUT_PYTHON } from "./python";

type Message = { id?: number; method?: string; params?: any; result?: any; error?: any };

/** A minimal LSP client: Content-Length framing over the server's stdin/stdout. */
class Connection {
  private buffer = Buffer.alloc(0);
  private waiters: { match: (m: Message) => boolean; resolve: (m: Message) => void }[] = [];
  readonly received: Message[] = [];
  private nextId = 1;
  onRequest: (m: Message) => unknown = () => null;

  constructor(private readonly proc: ChildProcess) {
    proc.stdout!.on("data", (chunk: Buffer) => this.feed(chunk));
  }

  private feed(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const headerEnd = this.buffer.indexOf("\r\n\r\n");
      if (headerEnd < 0) return;
      const length = Number(/Content-Length: (\d+)/i.exec(this.buffer.subarray(0, headerEnd).toString())![1]);
      if (this.buffer.length < headerEnd + 4 + length) return;
      const message: Message = JSON.parse(this.buffer.subarray(headerEnd + 4, headerEnd + 4 + length).toString("utf8"));
      this.buffer = this.buffer.subarray(headerEnd + 4 + length);
      this.received.push(message);
      if (message.method !== undefined && message.id !== undefined) {
        this.write({ id: message.id, result: this.onRequest(message) }); // a server -> client request
      }
      this.waiters = this.waiters.filter((w) => (w.match(message) ? (w.resolve(message), false) : true));
    }
  }

  private write(message: object): void {
    const body = Buffer.from(JSON.stringify({ jsonrpc: "2.0", ...message }), "utf8");
    this.proc.stdin!.write(`Content-Length: ${body.length}\r\n\r\n`);
    this.proc.stdin!.write(body);
  }

  notify(method: string, params: unknown): void {
    this.write({ method, params });
  }

  request(method: string, params: unknown, timeoutMs = 60_000): Promise<Message> {
    const id = this.nextId++;
    const answer = new Promise<Message>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${method}: no answer in ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ match: (m) => m.id === id && m.method === undefined, resolve: (m) => (clearTimeout(timer), resolve(m)) });
    });
    this.write({ id, method, params });
    return answer;
  }

  /** The first message (already received or still to come) that matches. */
  next(match: (m: Message) => boolean, timeoutMs = 60_000): Promise<Message> {
    const seen = this.received.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise<Message>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching message in ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ match, resolve: (m) => (clearTimeout(timer), resolve(m)) });
    });
  }
}

const packageJson = JSON.parse(fs.readFileSync(path.resolve(__dirname, "../../package.json"), "utf8"));
const props: Record<string, { default?: unknown }> = packageJson.contributes.configuration.properties;
const settings = contributedSettings(packageJson);
const defaults = (name: string) => props[`quill.${name}`]?.default;

test("the real server accepts the extension's settings and commands, and its $/progress drives the status", { skip: SKIP_WITHOUT_PYTHON, timeout: 120_000 }, async () => {
  const proc = spawn(findPython()!, ["-m", "lsp_server", ...serverArgs()], {
    cwd: repo,
    env: { ...process.env, OMP_NUM_THREADS: "1" },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  proc.stderr!.on("data", (d) => (stderr += d));
  const conn = new Connection(proc);
  const edits: any[] = [];
  conn.onRequest = (m) => {
    if (m.method === "workspace/applyEdit") {
      edits.push(m.params.edit);
      return { applied: true };
    }
    return null;
  };
  try {
    // Every contributed setting at its default, as VS Code sends them on a fresh install.
    const init = await conn.request("initialize", {
      processId: process.pid,
      rootUri: null,
      capabilities: { workspace: { applyEdit: true }, window: { workDoneProgress: true } },
      initializationOptions: toServerSettings(settings, defaults),
    });
    assert.equal(init.error, undefined, JSON.stringify(init.error));
    const caps = init.result.capabilities;
    assert.ok(caps.inlineCompletionProvider, "inlineCompletionProvider");
    for (const command of Object.values(SERVER_COMMANDS)) {
      assert.ok(caps.executeCommandProvider?.commands?.includes(command), command);
    }
    conn.notify("initialized", {});
    const values: Record<string, unknown> = {
      "docstring.style": "numpy",
      "inline.maxLines": 3,
      "model.threads": 2,
      "inline.exclude": ["generated/"],
    };
    conn.notify("workspace/didChangeConfiguration", {
      settings: { quill: toServerSettings(settings, (n) => values[n] ?? defaults(n), { exclude: ["model"] }) },
    });
    const uri = "file:///quill-vscode-test/shapes.py";
    const text = "def area_of_circle(radius):\n    return 3.14159 * radius * radius\n";
    conn.notify("textDocument/didOpen", { textDocument: { uri, languageId: "python", version: 1, text } });
    // quill/documentStatus drives the status bar item: the excluded file is inactive, with the server's reason.
    const excluded = "file:///quill-vscode-test/generated/api.py";
    conn.notify("textDocument/didOpen", { textDocument: { uri: excluded, languageId: "python", version: 1, text } });
    const statuses = new DocumentStatuses((u) => conn.request(DOCUMENT_STATUS, { textDocument: { uri: u } }).then((m) => m.result), () => undefined);
    await Promise.all([statuses.refresh(uri), statuses.refresh(excluded)]);
    assert.deepEqual(statuses.get(uri), { active: true, reason: null, detail: "" });
    assert.equal(statuses.get(excluded)?.reason, "excluded", JSON.stringify(statuses.get(excluded)));
    const running = (u: string) => {
      const model = new StatusModel();
      model.running();
      return model.view(inactivity({ "*": true }, "python", statuses.get(u)));
    };
    assert.equal(running(uri).text, "$(check) Quill");
    assert.equal(running(excluded).text, "$(circle-slash) Quill: inactive");
    assert.match(running(excluded).tooltip, /^Quill: inactive, excluded: \S*generated\/api\.py matches inline\.exclude glob 'generated\/'/);
    const stats = await conn.request("workspace/executeCommand", { command: STATS_COMMAND, arguments: [] });
    assert.match(describeStats(stats.result) ?? JSON.stringify(stats), /^0 suggestions shown \(of 0 requests\), 0 accepted/);
    const answer = await conn.request("workspace/executeCommand", executeParams("quill.addDocstring", uri, 0, 6));
    assert.equal(answer.error, undefined, JSON.stringify(answer.error));
    assert.equal(describeResult(answer.result), undefined, JSON.stringify(answer.result));
    const inserted = JSON.stringify(edits);
    assert.match(inserted, /\\"\\"\\"/, "the applied edit holds a docstring");
    assert.match(inserted, /Parameters/, "numpy style from didChangeConfiguration");
    // The model load's $/progress, as the status bar item reads it: loading, then ready with the bundle's name.
    await conn.next((m) => m.method === "$/progress" && m.params.value.kind === "end");
    const status = new StatusModel();
    status.starting();
    status.running(init.result.serverInfo?.version);
    const kinds: string[] = [];
    for (const m of conn.received.filter((m) => m.method === "$/progress")) {
      status.progress(m.params.token, m.params.value);
      kinds.push(`${m.params.value.kind} ${status.view().text}`);
    }
    assert.match(kinds.join("; "), /^begin \$\(loading~spin\) Quill 0%; (report \$\(loading~spin\) Quill \d+%; )+end \$\(check\) Quill$/);
    assert.match(status.view().tooltip, /^Quill: ready .*\nloading model: \S+ ready/s);
    const complaints = conn.received.filter((m) => m.method === "window/showMessage" && m.params.type <= 2);
    assert.deepEqual(complaints, [], "the server warned about the settings");
    await conn.request("shutdown", null);
    conn.notify("exit", null);
  } catch (err) {
    throw new Error(`${err}\n--- server stderr\n${stderr}`);
  } finally {
    setTimeout(() => proc.kill(), 2000).unref();
  }
});
