"""didChange cost on a large file: what the server does per keystroke, and the deferred parse after it.

    python -m benchmarks.didchange [--lines 10000] [--keystrokes 300]

The document is real code (standard-library modules joined until --lines lines). The replay types a new
line into a function body in the middle of it, one character per didChange, as the server receives them:
each keystroke goes through the server's own didChange handler (incremental change, UTF-16 positions).
It reports the handler's time per keystroke (wall and the thread's CPU time: on a busy machine the
difference is preemption) and, separately, the first tree read after a keystroke (the parse that a
feature pays, deferred out of didChange).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import sysconfig
import time
from pathlib import Path

from lsprotocol import types

TYPED = "        result = self.compute(value, strict=True)  # (\n"


def big_document(lines: int) -> str:
    """Standard-library modules, whole (so the text parses without errors), joined until >= `lines` lines."""
    root = Path(sysconfig.get_paths()["stdlib"])
    parts, count = [], 0
    for path in sorted(root.glob("*.py")):
        text = path.read_text(encoding="utf-8", errors="replace")
        parts.append(text if text.endswith("\n") else text + "\n")
        count += text.count("\n")
        if count >= lines:
            break
    return "".join(parts)


def typing_line(text: str) -> int:
    """A line in the middle of the text right after an indented `return` (inside a method body)."""
    lines = text.split("\n")
    middle = len(lines) // 2
    for i in range(middle, len(lines)):
        if lines[i].startswith("        return"):
            return i + 1
    return middle


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of values, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def run(lines: int, keystrokes: int, read_every: int) -> dict:
    """Replay keystrokes through the server's didChange handler; per-keystroke ms and tree-read ms."""
    from lsp_server.app import create_server
    server = create_server()
    handlers = server.protocol.fm.features
    did_open, did_change = handlers[types.TEXT_DOCUMENT_DID_OPEN], handlers[types.TEXT_DOCUMENT_DID_CHANGE]
    text = big_document(lines)
    uri = "file:///bench/big.py"
    did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, text)))
    doc = server.store.get(uri)
    assert doc.tree is not None  # the initial parse is not part of a keystroke
    line, col, version = typing_line(text), 0, 1
    change_ms, change_cpu_ms, read_ms = [], [], []
    for k in range(keystrokes):
        ch = TYPED[k % len(TYPED)]
        version += 1
        pos = types.Position(line, col)
        params = types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=version, uri=uri),
            [types.TextDocumentContentChangePartial(range=types.Range(pos, pos), text=ch)])
        t0, c0 = time.perf_counter(), time.thread_time()
        did_change(params)
        change_ms.append((time.perf_counter() - t0) * 1000)
        change_cpu_ms.append((time.thread_time() - c0) * 1000)
        line, col = (line + 1, 0) if ch == "\n" else (line, col + 1)
        if read_every and k % read_every == 0:
            t0 = time.perf_counter()
            doc.tree.root_node.has_error
            read_ms.append((time.perf_counter() - t0) * 1000)
    return {"lines": text.count("\n"), "bytes": len(text.encode()), "keystrokes": keystrokes,
            "didchange_ms": change_ms, "didchange_cpu_ms": change_cpu_ms, "tree_read_ms": read_ms}


def summary(values: list[float]) -> str:
    """p50 / p95 / max of a list of milliseconds."""
    if not values:
        return "n/a"
    return (f"p50 {statistics.median(values):.3f} ms, p95 {percentile(values, 0.95):.3f} ms, "
            f"max {max(values):.3f} ms")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--keystrokes", type=int, default=300)
    parser.add_argument("--read-every", type=int, default=5, help="read the tree after every Nth keystroke (0: never)")
    args = parser.parse_args(argv)
    result = run(args.lines, args.keystrokes, args.read_every)
    print(f"document: {result['lines']} lines, {result['bytes']} bytes; {result['keystrokes']} keystrokes")
    print(f"didChange handler, wall time:  {summary(result['didchange_ms'])}")
    print(f"didChange handler, CPU time:   {summary(result['didchange_cpu_ms'])} (wall minus preemption)")
    print(f"first tree read after an edit: {summary(result['tree_read_ms'])} (deferred parse, paid by features)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
