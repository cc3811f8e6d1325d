"""The workspace index on a real folder: build time, memory, and the cost of one decoding-step lookup.

    python -m benchmarks.index_build --folder /path/to/a/workspace [--max-tokens 1500000]

Builds lsp_server.project.workspace.WorkspaceIndex exactly as the server does (same walk, caps, tokenizer,
index thread) and prints files, lines, tokens, wall time, the index's own bytes (and per token), the process
RSS growth, and the median/p95 time of nested_match at random contexts taken from the indexed files.
"""
from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import time
from pathlib import Path

from lsp_server.project.index import IndexLimits
from lsp_server.project.mixing import MixRule, nested_match
from lsp_server.project.walk import WalkLimits
from lsp_server.project.workspace import WorkspaceIndex
from lsp_server.runtime.engine import Engine


def rss_mb() -> float:
    return float(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize() / 1e6


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, required=True)
    parser.add_argument("--max-tokens", type=int, default=IndexLimits().max_tokens)
    parser.add_argument("--max-files", type=int, default=WalkLimits().max_files)
    parser.add_argument("--lookups", type=int, default=2000)
    args = parser.parse_args(argv)
    engine = Engine.load()
    engine.encode_batch(["warm up the tokenizer"])
    before = rss_mb()
    workspace = WorkspaceIndex(WalkLimits(max_files=args.max_files), IndexLimits(max_tokens=args.max_tokens))
    started = time.perf_counter()
    workspace.start([args.folder.resolve()], engine.encode_batch).result()
    build_s = time.perf_counter() - started
    stats = workspace.stats()
    lines = sum(Path(key).read_text(encoding="utf-8", errors="replace").count("\n") for key in workspace.index.keys())
    rng, rule = random.Random(0), MixRule()
    keys = sorted(workspace.index.keys())
    times = []
    for _ in range(args.lookups):
        tokens = workspace.index.tokens_of(rng.choice(keys))
        if tokens is None or len(tokens) < 8:
            continue
        end = rng.randrange(rule.max_order, len(tokens))
        context = tokens[end - rule.max_order:end].tolist()
        t0 = time.perf_counter()
        nested_match(context, rule, project=workspace.index)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    result = {"folder": str(args.folder), "files": stats["files"], "lines": lines, "tokens": stats["tokens"],
              "build_s": round(build_s, 2), "index_mb": round(stats["bytes"] / 1e6, 1),
              "bytes_per_token": round(stats["bytes"] / max(stats["tokens"], 1), 1),
              "rss_growth_mb": round(rss_mb() - before, 1), "messages": stats["messages"],
              "lookup_ms_median": round(statistics.median(times), 3),
              "lookup_ms_p95": round(times[int(0.95 * (len(times) - 1))], 3)}
    print(json.dumps(result, indent=1))
    workspace.shutdown()


if __name__ == "__main__":
    main()
