"""The typing replay without the LSP and without a clock: a suggestion at every keystroke, in process.

`benchmarks.typing` measures what an editor sees (cancellations, the typed-through cache, the index built
while typing), so its quality numbers move with the machine's load. This replays the same keystrokes
(the body of a function near the middle of --file deleted and typed back, Enter bringing the next line's
indentation) straight through the inline pipeline with the document's reuse state and the project index
of --workspace already built (the file itself left out), so two builds can be compared on equal terms:
share of keystrokes with a suggestion, precision of shown first lines, useful share (the first line is
exactly what is typed next), mean useful length, and pipeline time per keystroke. Run an older build with
PYTHONPATH=<its checkout> (the script adds nothing of this tree to the path before importing lsp_server).

    python benchmarks/replay_inprocess.py --workspace DIR --file REL [--settings JSON]
"""
from __future__ import annotations

import os
import sys

# Run as a script, benchmarks/ would come first on sys.path and its typing.py shadow the standard library's.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse
import json
import statistics
import time
from pathlib import Path

from lsp_server.config import QuillConfig, parse_config
from lsp_server.inline.pipeline import suggest_all
from lsp_server.inline.typing_state import DocumentReuse
from lsp_server.project.index import IndexLimits, ProjectIndex
from lsp_server.project.mixing import ProjectContext
from lsp_server.runtime.engine import Engine
from lsp_server.syntax.documents import Document

HERE = Path(__file__).resolve().parent.parent


def first_line(suggestion: str) -> str:
    return "\n" + suggestion[1:].split("\n")[0] if suggestion.startswith("\n") else suggestion.split("\n")[0]


def replay(workspace: Path, path: Path, config: QuillConfig, engine: Engine) -> dict:
    sys.path.insert(0, str(HERE))  # benchmarks.typing, after lsp_server was imported from wherever it is
    from benchmarks.typing import chunks, find_function
    items = [(str(p), p.read_text(errors="ignore")) for p in sorted(workspace.rglob("*.py")) if p != path]
    index = ProjectIndex(engine.encode_batch, IndexLimits(max_order=6, max_tokens=8_000_000))
    index.update(items)
    text = path.read_text()
    start, end = find_function(Document(path.as_uri(), text), None, 250, 700)
    options, project, reuse = config.inline.suggest_options(), ProjectContext(index, config.project.mix_rule()), \
        DocumentReuse()
    current, offset = text[:start] + text[end:], start
    shown, useful, ms = 0, [], []
    keys = chunks(text[start:end])
    for chunk in keys:
        current, offset = current[:offset] + chunk + current[offset:], offset + len(chunk)
        t0 = time.perf_counter()
        found = suggest_all(Document(path.as_uri(), current), offset, engine, options, reuse=reuse, project=project)
        ms.append((time.perf_counter() - t0) * 1000)
        line = first_line(found[0].text) if found else ""
        if line.strip():
            shown += 1
            if text[offset:end].startswith(line):
                useful.append(len(line.strip()))
    n = len(keys)
    return {"file": str(path), "keys": n, "shown": round(shown / n, 3), "precision": round(len(useful) / max(shown, 1), 3),
            "useful": round(len(useful) / n, 3), "useful_chars": round(statistics.fmean(useful), 2) if useful else 0.0,
            "ms_p50": round(statistics.median(ms), 1), "ms_p95": round(sorted(ms)[int(0.95 * len(ms))], 1)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", required=True, help="the project folder (indexed, the file left out)")
    parser.add_argument("--file", required=True, help="a file of it, relative to --workspace")
    parser.add_argument("--settings", default=None, help="server settings (JSON), e.g. '{\"inline\": {...}}'")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    config, problems = parse_config(json.loads(args.settings)) if args.settings else (QuillConfig(), [])
    if problems:
        parser.error("; ".join(problems))
    workspace = Path(args.workspace).resolve()
    print(json.dumps(replay(workspace, workspace / args.file, config, Engine.load(None, threads=args.threads))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
