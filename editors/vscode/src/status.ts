/**
 * What the status bar item says (pure: unit-tested in Node; extension.ts draws it).
 *
 * The server sends no "model loaded" message, so the item says "loading" until the first answer
 * to a suggestion request, and shows an error when the server reports one (window/showMessage
 * of type Error, e.g. the model bundle is unusable) or stops.
 */

export type Phase = "stopped" | "starting" | "loading" | "ready" | "generating" | "error";

export interface StatusView {
  text: string;
  tooltip: string;
  error: boolean;
}

export class StatusModel {
  private phase: Phase = "stopped";
  private inflight = 0;
  private detail = "";
  private lastMs: number | undefined;
  private modelAnswered = false;

  get current(): Phase {
    return this.phase;
  }

  starting(): void {
    this.phase = "starting";
    this.inflight = 0;
    this.modelAnswered = false;
    this.detail = "";
  }

  /** The client is running (initialize answered); the model loads in the background. */
  running(serverVersion?: string): void {
    this.detail = serverVersion ? `quill serve ${serverVersion}` : "";
    if (this.phase !== "error") {
      this.phase = this.modelAnswered ? "ready" : "loading";
    }
  }

  requestStarted(): void {
    this.inflight += 1;
    if (this.phase !== "error" && this.phase !== "stopped") {
      this.phase = "generating";
    }
  }

  /** A suggestion request ended; `ms` when the server answered, undefined when it failed or was cancelled. */
  requestFinished(ms?: number): void {
    this.inflight = Math.max(0, this.inflight - 1);
    if (ms !== undefined) {
      this.modelAnswered = true;
      this.lastMs = ms;
    }
    if (this.phase === "generating" && this.inflight === 0) {
      this.phase = this.modelAnswered ? "ready" : "loading";
    }
  }

  error(message: string): void {
    this.phase = "error";
    this.detail = message;
  }

  stopped(message?: string): void {
    this.inflight = 0;
    if (message) {
      this.error(message);
    } else if (this.phase !== "error") {
      this.phase = "stopped";
    }
  }

  view(): StatusView {
    const suffix = this.detail ? ` (${this.detail})` : "";
    switch (this.phase) {
      case "starting":
        return { text: "$(loading~spin) Quill", tooltip: "Quill: starting the server", error: false };
      case "loading":
        return { text: "$(loading~spin) Quill", tooltip: `Quill: server running, model loading${suffix}`, error: false };
      case "ready": {
        const ms = this.lastMs !== undefined ? `, last suggestion in ${Math.round(this.lastMs)} ms` : "";
        return { text: "$(check) Quill", tooltip: `Quill: model loaded${ms}${suffix}`, error: false };
      }
      case "generating":
        return { text: "$(sync~spin) Quill", tooltip: "Quill: generating a suggestion", error: false };
      case "error":
        return { text: "$(error) Quill", tooltip: `Quill: ${this.detail || "error"} (click for the output)`, error: true };
      default:
        return { text: "$(circle-slash) Quill", tooltip: "Quill: server stopped (click to restart)", error: false };
    }
  }
}
