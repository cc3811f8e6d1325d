"""`quill demo`: start the real server over stdio, open a sample file, ask for inline completions."""
from __future__ import annotations

import asyncio
import statistics
import sys
import time
from importlib import resources
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

# (text before the cursor on its line, as it appears in the sample) -> the cursor goes right after it;
# what followed on that line is deleted, as if the user had not typed it yet.
POSITIONS = [
    "        self.",
    "        self.items = ",
    "        if item.name in ",
    "    def __len__(self):",
    "        with open(path, ",
    "        for name, price in ",
    "    inventory = ",
    "    for arg in ",
]


def sample_text() -> str:
    return (resources.files("quill") / "data" / "sample.py").read_text(encoding="utf-8")


def cursor_cases(text: str) -> list[tuple[str, int, int, str]]:
    """(document text with the rest of the line removed, line, column, the removed rest) per position."""
    lines = text.split("\n")
    cases = []
    for before in POSITIONS:
        for i, line in enumerate(lines):
            if line.startswith(before):
                edited = lines[:i] + [before] + lines[i + 1:]
                cases.append(("\n".join(edited), i, len(before), line[len(before):]))
                break
    return cases


async def run_demo(bundle: str | None, file: str | None) -> int:
    text = Path(file).read_text(encoding="utf-8") if file else sample_text()
    cmd = [sys.executable, "-m", "lsp_server", "serve"] + (["--bundle", bundle] if bundle else [])
    client = LanguageClient("quill-demo", "0.1")

    @client.feature(types.WINDOW_LOG_MESSAGE)
    def on_log(params: types.LogMessageParams) -> None:
        pass  # timings and load details; `quill serve --log-level INFO` shows them on stderr

    @client.feature(types.WINDOW_SHOW_MESSAGE)
    def on_show(params: types.ShowMessageParams) -> None:
        print(f"server says: {params.message}")

    started = time.perf_counter()
    await client.start_io(*cmd)
    await client.initialize_async(types.InitializeParams(capabilities=types.ClientCapabilities(), process_id=None))
    client.initialized(types.InitializedParams())
    print(f"server initialized in {(time.perf_counter() - started) * 1000:.0f} ms ({' '.join(cmd)})\n")
    latencies = []
    for n, (doc_text, line, col, removed) in enumerate(cursor_cases(text)):
        uri = f"file:///quill-demo/sample_{n}.py"
        client.text_document_did_open(types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri, "python", 1, doc_text)))
        t0 = time.perf_counter()
        result = await client.text_document_inline_completion_async(types.InlineCompletionParams(
            context=types.InlineCompletionContext(types.InlineCompletionTriggerKind.Automatic),
            text_document=types.TextDocumentIdentifier(uri), position=types.Position(line, col)))
        ms = (time.perf_counter() - t0) * 1000
        latencies.append(ms)
        items = result.items if isinstance(result, types.InlineCompletionList) else (result or [])
        suggestion = items[0].insert_text if items else ""
        suggestion = suggestion if isinstance(suggestion, str) else suggestion.value
        prefix = doc_text.split("\n")[line]
        print(f"[{ms:6.1f} ms] line {line + 1}: {prefix.strip()}\u2502")
        for k, sug_line in enumerate((suggestion or "(no suggestion)").split("\n")):
            print(f"    {'model ' if k == 0 else '      '}\u2192 {sug_line}")
        print(f"    actual \u2192 {removed}\n")
        client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri)))
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    if latencies:
        print(f"{len(latencies)} requests: median {statistics.median(latencies):.1f} ms, "
              f"max {max(latencies):.1f} ms (client-side, through LSP over stdio; the first includes warm-up)")
    return 0


def main(bundle: str | None = None, file: str | None = None) -> int:
    """Entry point of `quill demo`."""
    return asyncio.run(run_demo(bundle, file))
