"""Does the suffix-prefix-middle (SPM) prompt cost quality against prefix-suffix-middle (PSM)?

    python -m benchmarks.fim_order [--bundle DIR] [--cases 200] [--seed 0]

In test-split files (never trained on) a middle is cut out and the model fills it in from the prefix and
the suffix, once per order, with the same token budget. Two kinds of middle, as the editor asks:
- line: the rest of a line, from a random position that is not inside a word;
- block: the body (up to 6 lines) after a line ending with ':' that opens a block.
Per order: mean log-probability per token of the true middle, and what the whole inline pipeline
(lsp_server.inline.pipeline) shows there: how often it suggests anything, and how often the suggestion's first
line is the true one.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
from dataclasses import replace

import numpy as np

from lsp_server.inline.options import SuggestOptions
from lsp_server.inline.pipeline import suggest_all
from lsp_server.inline.prompt import PSM, SPM, PromptBudget, build_fim_prompt
from lsp_server.runtime.engine import Engine
from lsp_server.syntax.documents import Document

from .latency import test_split_files


def _word(c: str) -> bool:
    return c.isalnum() or c == "_"


def _line_case(text: str, starts: list[int], rng: random.Random) -> tuple[int, int] | None:
    i = rng.randrange(len(starts) - 1)
    start, end = starts[i] + rng.randint(0, max(starts[i + 1] - starts[i] - 2, 0)), starts[i + 1] - 1
    if start >= end or (start and _word(text[start - 1]) and _word(text[start])) or not text[start:end].strip():
        return None
    return start, end


def _block_case(text: str, starts: list[int], rng: random.Random) -> tuple[int, int] | None:
    openers = [i for i in range(len(starts) - 2) if text[starts[i]:starts[i + 1] - 1].rstrip().endswith(":")
               and not text[starts[i]:starts[i + 1]].lstrip().startswith("#")]
    if not openers:
        return None
    i = rng.choice(openers)
    head = text[starts[i]:starts[i + 1] - 1]
    indent = len(head) - len(head.lstrip())
    j = i + 1
    while j < min(i + 7, len(starts) - 1):
        line = text[starts[j]:starts[j + 1] - 1]
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        j += 1
    start, end = starts[i] + len(head.rstrip()), starts[j] - 1
    return (start, end) if j > i + 1 and text[start:end].strip() else None


def cases(n: int, seed: int, kind: str) -> list[tuple[str, str, str]]:
    """n (prefix, middle, suffix) triples of one kind ('line' or 'block') from test-split files."""
    rng = random.Random(seed)
    files = [p.read_text(encoding="utf-8") for p in test_split_files()]
    out = []
    while len(out) < n:
        text = rng.choice(files)
        starts = [0] + [k + 1 for k, c in enumerate(text) if c == "\n"]
        found = (_line_case if kind == "line" else _block_case)(text, starts, rng)
        if found is not None and text[found[1]:].strip():
            out.append((text[:found[0]], text[found[0]:found[1]], text[found[1]:]))
    return out


def evaluate(engine: Engine, samples, order: str) -> dict:
    """Mean token log-probability of the true middles; the pipeline's suggestion rate and first-line hits."""
    options = replace(SuggestOptions(), fim_order=order)
    logprobs, shown, first_line = [], [], []
    for prefix, middle, suffix in samples:
        ids = build_fim_prompt(prefix, suffix, engine.encode, engine.special, PromptBudget(), order=order).ids
        target = engine.encode(middle)
        logprobs.append(engine.score(engine.prefill(ids, reserve=len(target)), [target])[0] / len(target))
        found = suggest_all(Document("file:///case.py", prefix + suffix), len(prefix), engine, options)
        text = found[0].text if found else ""
        shown.append(bool(text))
        want = middle.lstrip("\n").split("\n")[0].strip()
        first_line.append(bool(text) and text.lstrip("\n").split("\n")[0].strip() == want)
    return {"logprob": logprobs, "shown": float(np.mean(shown)), "first_line": float(np.mean(first_line))}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", default=None)
    parser.add_argument("--cases", type=int, default=200, help="cases of each kind")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    engine = Engine.load(args.bundle)
    print(f"bundle {engine.bundle.name}; {args.cases} cases of each kind from the test split\n")
    print("| middle | order | mean token log-prob of the true middle | pipeline suggests something | "
          "first line right |")
    print("|---|---|---|---|---|")
    notes = []
    for kind in ("line", "block"):
        samples = cases(args.cases, args.seed, kind)
        results = {order: evaluate(engine, samples, order) for order in (PSM, SPM)}
        for order in (PSM, SPM):
            r = results[order]
            print(f"| {kind} | {order.upper()} | {np.mean(r['logprob']):.3f} | {r['shown']:.0%} | "
                  f"{r['first_line']:.1%} |")
        diffs = [s - p for s, p in zip(results[SPM]["logprob"], results[PSM]["logprob"])]
        err = statistics.stdev(diffs) / len(diffs) ** 0.5
        notes.append(f"{kind}: SPM - PSM log-prob {np.mean(diffs):+.3f} ± {err:.3f} per token (1 s.e., paired)")
    print("\n" + "\n".join(notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
