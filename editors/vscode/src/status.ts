/**
 * What the status bar item says (pure: unit-tested in Node; extension.ts draws it).
 *
 * Driven by what the server reports, not by guesses: its work-done progress (`$/progress` begin /
 * report / end: "Quill: loading model", "Quill: indexing the workspace"), its error messages
 * (`window/logMessage` and `window/showMessage` of type Error), the client's state, and the suggestion
 * requests in flight. A language turned off in `quill.enable` (or not served) shows "inactive".
 */

import type { Inactivity } from "./enable";

export type Phase = "stopped" | "starting" | "running" | "error";

/** LSP MessageType: Error 1, Warning 2, Info 3, Log 4, Debug 5. */
export const MESSAGE_ERROR = 1;
export const MESSAGE_WARNING = 2;

/** A `$/progress` value (LSP WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd). */
export type ProgressValue =
  | { kind: "begin"; title: string; message?: string; percentage?: number }
  | { kind: "report"; message?: string; percentage?: number }
  | { kind: "end"; message?: string };

export type ProgressToken = string | number;

interface Task {
  title: string;
  message?: string;
  percentage?: number;
  /** Begun after the error now shown: its end means the server finished new work since. */
  afterError: boolean;
}

export interface StatusView {
  text: string;
  tooltip: string;
  error: boolean;
  /** What a click does. */
  click: "showOutput" | "restartServer" | "toggle";
}

/** `Quill: loading model` -> `loading model`. */
function shortTitle(title: string): string {
  return title.replace(/^Quill: /, "");
}

function describeTask(task: { title: string; message?: string; percentage?: number }): string {
  const message = task.message ? `: ${task.message}` : "";
  const percentage = task.percentage !== undefined ? ` (${Math.round(task.percentage)}%)` : "";
  return `${shortTitle(task.title)}${message}${percentage}`;
}

export class StatusModel {
  private phase: Phase = "stopped";
  private errorText = "";
  private version = "";
  private tasks = new Map<ProgressToken, Task>();
  private finished: string[] = [];
  private warning = "";
  private inflight = 0;
  private lastMs: number | undefined;

  get current(): Phase {
    return this.phase;
  }

  /** Titles of the server's work in progress, oldest first. */
  get working(): string[] {
    return [...this.tasks.values()].map((t) => shortTitle(t.title));
  }

  starting(): void {
    this.phase = "starting";
    this.errorText = this.warning = "";
    this.tasks.clear();
    this.finished = [];
    this.inflight = 0;
  }

  /** The client is running (initialize answered). */
  running(serverVersion?: string): void {
    this.version = serverVersion ?? "";
    if (this.phase !== "error") {
      this.phase = "running";
    }
  }

  /** The server process ended; with a message it is an error. */
  stopped(message?: string): void {
    this.tasks.clear();
    this.inflight = 0;
    if (message) {
      this.error(message);
    } else if (this.phase !== "error") {
      this.phase = "stopped";
    }
  }

  error(message: string): void {
    this.phase = "error";
    this.errorText = message.replace(/^Quill: /, "");
    for (const task of this.tasks.values()) {
      task.afterError = false;
    }
  }

  /** A window/logMessage or window/showMessage: errors stick, the last warning goes in the tooltip. */
  message(type: number, text: string): void {
    if (type === MESSAGE_ERROR) {
      this.error(text);
    } else if (type === MESSAGE_WARNING) {
      this.warning = text.replace(/^Quill: /, "");
    }
  }

  /**
   * One `$/progress` notification. An error sticks until a restart or until work that the server
   * began after it ends (e.g. a model reloaded after the setting was fixed).
   */
  progress(token: ProgressToken, value: ProgressValue): void {
    if (value.kind === "begin") {
      const afterError = this.phase === "error";
      this.tasks.set(token, { title: value.title, message: value.message, percentage: value.percentage, afterError });
      return;
    }
    const task = this.tasks.get(token);
    if (task === undefined) {
      return; // a report or end without a begin (or after a restart)
    }
    if (value.kind === "report") {
      task.message = value.message ?? task.message;
      task.percentage = value.percentage ?? task.percentage;
      return;
    }
    this.tasks.delete(token);
    // One line per kind of work: the last model load, the last indexing.
    const others = this.finished.filter((f) => !f.startsWith(shortTitle(task.title)));
    this.finished = [...others, describeTask({ title: task.title, message: value.message })];
    if (task.afterError && this.phase === "error") {
      this.phase = "running";
      this.errorText = "";
    }
  }

  requestStarted(): void {
    this.inflight += 1;
  }

  /** A suggestion request ended; `ms` when the server answered, undefined when it failed or was cancelled. */
  requestFinished(ms?: number): void {
    this.inflight = Math.max(0, this.inflight - 1);
    if (ms !== undefined) {
      this.lastMs = ms;
    }
  }

  private details(): string[] {
    const lines = [...this.tasks.values()].map(describeTask);
    lines.push(...this.finished);
    if (this.lastMs !== undefined) {
      lines.push(`last suggestion in ${Math.round(this.lastMs)} ms`);
    }
    if (this.warning) {
      lines.push(`last warning: ${this.warning}`);
    }
    if (this.version) {
      lines.push(`quill serve ${this.version}`);
    }
    return lines;
  }

  /** The item for the active editor; `inactive`: why Quill makes no suggestions there (enable.ts). */
  view(inactive?: Inactivity): StatusView {
    const details = this.details().map((line) => `\n${line}`).join("");
    switch (this.phase) {
      case "stopped":
        return { text: "$(debug-disconnect) Quill", tooltip: "Quill: server stopped (click to restart)", error: false, click: "restartServer" };
      case "starting":
        return { text: "$(loading~spin) Quill", tooltip: "Quill: starting the server", error: false, click: "showOutput" };
      case "error":
        return { text: "$(error) Quill", tooltip: `Quill: ${this.errorText || "error"} (click for the output)${details}`, error: true, click: "showOutput" };
    }
    if (inactive !== undefined) {
      const click = inactive.toggles ? "toggle" : "showOutput";
      const hint = inactive.toggles ? " (click to turn suggestions on)" : "";
      return { text: "$(circle-slash) Quill: inactive", tooltip: `Quill: inactive, ${inactive.reason}${hint}${details}`, error: false, click };
    }
    const task = [...this.tasks.values()].pop();
    if (task !== undefined) {
      const pct = task.percentage !== undefined ? ` ${Math.round(task.percentage)}%` : "";
      return { text: `$(loading~spin) Quill${pct}`, tooltip: `Quill: working${details}`, error: false, click: "showOutput" };
    }
    const icon = this.inflight > 0 ? "$(sync~spin)" : "$(check)";
    const state = this.inflight > 0 ? "generating a suggestion" : "ready";
    return { text: `${icon} Quill`, tooltip: `Quill: ${state} (click to turn suggestions off)${details}`, error: false, click: "toggle" };
  }
}
