"""Fewer model passes per suggestion: early stop (lsp_server.inline.early_stop) and prompt-lookup decoding.

Completes random line cuts of each project of --corpus (each top-level folder one project, with project
context as `quill eval` does: the project's other files indexed, the file's own text before the cut as the
dynamic cache) with the server's default options three ways, in rotating order: `plain` (decode every
branch to its end, one token per pass), `early_stop` (end a branch where the doubt cut or the gate would cut
it), and `early_stop+speculate` (also check the caches' drafted tokens several per pass). Reports
per-suggestion wall time (median, p90), model passes, drafted and accepted tokens, and the share of answers
identical to `plain` (int8's per-tensor activation scales make a several-token pass differ from single steps
in the last bits, so a few speculated ones may differ).

    python -m benchmarks.speculation --corpus DIR --samples 300 --max-files 200 --out benchmarks/results
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
from pathlib import Path

import numpy as np

from lsp_server.config import InlineConfig
from lsp_server.errors import QuillError
from lsp_server.inline.pipeline import suggest_all
from lsp_server.runtime.engine import Engine
from quill.evaluation.projects import ProjectSetup
from quill.evaluation.samples import cut_document, python_files, sample_line_cuts, select_files
from quill.evaluation.tasks import EVAL_TIMEOUT_MS, Progress


def run_once(engine: Engine, source, cut, options, context) -> dict:
    doc = cut_document(source, cut)
    t0 = time.perf_counter()
    try:
        found = suggest_all(doc, cut.offset, engine, options, project=context)
    except QuillError:
        found = []
    ms = (time.perf_counter() - t0) * 1000
    gen = found[0].generation if found else None
    timings = gen.timings if gen is not None else {}
    return {"ms": ms, "text": found[0].text if found else "", "model_calls": timings.get("model_calls"),
            "drafted": timings.get("drafted"), "accepted": timings.get("draft_accepted"),
            "tokens": len(gen.token_ids) if gen is not None else 0}


def summarize(rows: list[dict]) -> dict:
    ms = [r["ms"] for r in rows]
    shown = [r for r in rows if r["model_calls"] is not None]
    drafted = sum(r["drafted"] or 0 for r in shown)
    return {"n": len(rows), "ms_median": round(statistics.median(ms), 2),
            "ms_p90": round(float(np.percentile(ms, 90)), 2), "ms_mean": round(statistics.fmean(ms), 2),
            "shown": len(shown),
            "model_calls_per_shown": round(statistics.fmean([r["model_calls"] for r in shown]), 2) if shown else 0,
            "tokens_per_shown": round(statistics.fmean([r["tokens"] for r in shown]), 2) if shown else 0,
            "drafted": drafted, "draft_accepted": sum(r["accepted"] or 0 for r in shown),
            "acceptance": round(sum(r["accepted"] or 0 for r in shown) / max(drafted, 1), 3)}


def measure(engine: Engine, root: Path, samples: int, max_files: int, seed: int = 3) -> dict:
    files = select_files(root, python_files(root), max_files, seed).files
    project = ProjectSetup.build(root, engine)
    base = dataclasses.replace(InlineConfig().suggest_options(), timeout_ms=EVAL_TIMEOUT_MS)
    variants = {"plain": dataclasses.replace(base, speculate=False, early_stop=False),
                "early_stop": dataclasses.replace(base, speculate=False, early_stop=True),
                "early_stop+speculate": dataclasses.replace(base, speculate=True, early_stop=True)}
    names = list(variants)
    rows: dict[str, list[dict]] = {name: [] for name in names}
    progress = Progress(f"{root.name} speculation", samples)
    for k, (source, cut) in enumerate(sample_line_cuts(files, seed, 5, samples)):
        context = project.context_for(source, source.text[:cut.offset], engine.encode)
        for name in names[k % 3:] + names[:k % 3]:
            rows[name].append(run_once(engine, source, cut, variants[name], context))
        progress.advance()
    out = {"corpus": str(root)}
    for name in names:
        same = sum(a["text"] == b["text"] for a, b in zip(rows["plain"], rows[name]))
        out[name] = {**summarize(rows[name]), "identical_to_plain": round(same / max(len(rows[name]), 1), 4)}
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True, action="append", help="a folder of projects (repeatable)")
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--max-files", type=int, default=200)
    parser.add_argument("--bundle", default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=None, help="write speculation.json here")
    args = parser.parse_args(argv)
    engine = Engine.load(args.bundle, threads=args.threads)
    if not engine.verifies:
        parser.error("this bundle's graph returns last-position logits only: re-export it (python -m export.upgrade)")
    results = [measure(engine, Path(c), args.samples, args.max_files) for c in args.corpus]
    print(json.dumps(results, indent=1))
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "speculation.json").write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
