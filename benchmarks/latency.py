"""Latency of the shipped model: engine time for 24 tokens after a 256-token prompt, and `quill complete`.

    python -m benchmarks.latency [--bundle DIR] [--positions 20] [--seed 0]

Positions are drawn from standard-library files in the corpus *test* split (same path hash as
`quill corpus`), so the model never trained on them.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import numpy as np

from lsp_server.inline.cursor import cursor_context
from lsp_server.runtime.engine import Engine
from lsp_server.syntax.documents import Document
from lsp_server.syntax.positions import Position, PositionEncoding
from model.corpus import iter_python_files, read_source, reject_reason, split_for


def test_split_files() -> list[Path]:
    root = Path(sysconfig.get_paths()["stdlib"])
    files = []
    for path in iter_python_files(root):
        if split_for(f"{root.name}/{path.relative_to(root).as_posix()}") == "test":
            text = read_source(path)
            if text is not None and reject_reason(text) is None and text.count("\n") > 20:
                files.append(path)
    return files


def pick_positions(n: int, seed: int) -> list[tuple[Path, int, int]]:
    """(file, 1-based line, 1-based column): inside a random non-blank line of a test-split file."""
    rng = random.Random(seed)
    files = test_split_files()
    out = []
    while len(out) < n:
        path = rng.choice(files)
        lines = path.read_text(encoding="utf-8").split("\n")
        candidates = [i for i, line in enumerate(lines) if line.strip() and not line.strip().startswith("#")]
        i = rng.choice(candidates)
        indent = len(lines[i]) - len(lines[i].lstrip())
        col = rng.randint(indent + 1, len(lines[i]))
        doc = Document(path.as_uri(), "\n".join(lines))
        if cursor_context(doc, doc.offset_at(Position(i, col), PositionEncoding.UTF32)) is None:
            continue  # inside a string or comment: the server would not run the model there
        out.append((path, i + 1, col + 1))
    return out


def engine_timing(engine: Engine, prompt_tokens: int = 256, new_tokens: int = 24, runs: int = 20) -> dict:
    """Median model time of a prompt of prompt_tokens and new_tokens single-token steps (no early stop)."""
    rng = np.random.default_rng(0)
    totals, prompts, steps = [], [], []
    for r in range(runs + 2):
        ids = rng.integers(20, engine.bundle.model_config["vocab_size"], size=(1, prompt_tokens))
        t0 = time.perf_counter()
        logits, past = engine.step(ids, engine.empty_past())
        t1 = time.perf_counter()
        for _ in range(new_tokens):
            logits, past = engine.step(np.array([[int(logits[0].argmax())]]), past)
        t2 = time.perf_counter()
        if r >= 2:  # warm-up
            prompts.append((t1 - t0) * 1000)
            steps.append((t2 - t1) * 1000 / new_tokens)
            totals.append((t2 - t0) * 1000)
    return {"prompt_ms": statistics.median(prompts), "per_token_ms": statistics.median(steps),
            "total_ms": statistics.median(totals)}


def complete_timing(bundle: str | None, positions) -> list[dict]:
    """Run `quill complete --json` once per position; in-process ms and process wall time."""
    quill = shutil.which("quill") or str(Path(sys.executable).with_name("quill"))
    rows = []
    for path, line, col in positions:
        cmd = [quill, "complete", str(path), str(line), str(col), "--json"] + (["--bundle", bundle] if bundle else [])
        t0 = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        wall = (time.perf_counter() - t0) * 1000
        result = json.loads(out.stdout)
        rows.append({"file": path.name, "line": line, "col": col, "ms": result["ms"], "wall_ms": wall,
                     "tokens": result.get("tokens", 0), "text": result["text"]})
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", default=None)
    parser.add_argument("--positions", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    engine = Engine.load(args.bundle)
    t = engine_timing(engine)
    print(f"engine ({engine.bundle.name}, {engine.bundle.manifest['onnx']['precision']}): "
          f"256-token prompt {t['prompt_ms']:.1f} ms, {t['per_token_ms']:.2f} ms/token, "
          f"prompt + 24 tokens {t['total_ms']:.1f} ms (median of 20)")
    rows = complete_timing(args.bundle, pick_positions(args.positions, args.seed))
    for r in rows:
        print(f"{r['file']}:{r['line']}:{r['col']}  {r['ms']:6.1f} ms  {r['tokens']:2d} tok  {r['text'][:50]!r}")
    ms = [r["ms"] for r in rows]
    wall = [r["wall_ms"] for r in rows]
    print(f"quill complete over {len(rows)} positions: median {statistics.median(ms):.1f} ms in-process "
          f"(max {max(ms):.1f}); median process wall time {statistics.median(wall):.0f} ms (start-up + model load)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
