"""Show less, right: choose the doubt cut and calibrate the confidence gate on held-out line completions.

For each --cut-logprob value, completes random line cuts of the --fit and --eval corpora (each top-level
folder one project, with project context as `quill eval` does) with the gate off, and keeps each suggestion's
generation (lsp_server.inline.confidence.confidence_features reads it) and whether its first line is
*useful*: non-empty and exactly the start of what the line goes on with (what a user would accept). Then it
fits the calibration (logistic regression) on --fit, applies the server's gate at each threshold (the
suggestion cut to its longest confident start, confidence.confident_tokens, or withheld), and draws the
trade-off curve (precision of shown suggestions vs the share of cuts with a useful one) and the reliability
diagram on --eval as a PNG. The default threshold is the lowest whose precision on --fit reaches
--min-precision; the cut is the one with the most useful suggestions on --fit there.

    python -m benchmarks.show_less --fit DIR --eval DIR --samples 600 --max-files 200 --out benchmarks/results
"""
from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np

from lsp_server.config import InlineConfig
from lsp_server.errors import QuillError
from lsp_server.inline.confidence import (
    confidence_features,
    confident_tokens,
    probability,
)
from lsp_server.inline.cursor import cursor_context
from lsp_server.inline.healing import heal_text
from lsp_server.inline.pipeline import suggest
from lsp_server.project.mixing import CONTEXT, SPECIFIC, MixRule
from lsp_server.runtime.engine import Engine
from quill.evaluation.projects import ProjectSetup
from quill.evaluation.samples import (
    cut_document,
    python_files,
    sample_line_cuts,
    select_files,
)
from quill.evaluation.tasks import EVAL_TIMEOUT_MS, Progress

from .fitting import fit_standardized


def collect(engine: Engine, root: Path, cut_logprob: float, max_files: int, samples: int, seed: int = 2,
            rule: MixRule = MixRule()) -> list[dict]:
    files = select_files(root, python_files(root), max_files, seed).files
    project = ProjectSetup.build(root, engine, rule)
    options = dataclasses.replace(InlineConfig().suggest_options(), timeout_ms=EVAL_TIMEOUT_MS, cut_logprob=cut_logprob,
                                  confidence_threshold=-20.0, min_confidence=0.0)
    records = []
    progress = Progress(f"{root.name} cut {cut_logprob}", min(samples, len(files) * 5))
    for source, cut in sample_line_cuts(files, seed, 5, samples):
        context = project.context_for(source, source.text[:cut.offset], engine.encode)
        try:
            found = suggest(cut_document(source, cut), cut.offset, engine, options, project=context)
        except QuillError:
            found = None
        first = found.text.split("\n")[0].strip() if found is not None else ""
        target = cut.target.strip()
        where = cursor_context(cut_document(source, cut), cut.offset)
        heal = heal_text(where) if where is not None else ""
        records.append({"features": list(confidence_features(found.generation)) if found else None,
                        "first": first, "useful": bool(first) and target.startswith(first),
                        "exact": bool(first) and first == target, "target": target,
                        "generation": found.generation if found else None, "heal": heal})
        progress.advance()
    return records


def fit_logistic(x: np.ndarray, y: np.ndarray, steps: int = 3000, lr: float = 0.1) -> np.ndarray:
    return fit_standardized(x, lambda xs, w: xs.T @ (y - 1 / (1 + np.exp(-xs @ w))) / len(y), steps, lr)


def gated_first_line(record: dict, threshold: float, coef, decode) -> str:
    """The first line the server shows under the gate: the suggestion cut to its longest confident start
    (lsp_server.inline.confidence.confident_tokens, with these coefficients), '' when withheld."""
    gen, heal = record["generation"], record["heal"]
    if gen is None or not record["first"]:
        return ""
    if threshold <= 0:
        return record["first"]
    with_coef = lambda features, coefficients=tuple(coef): probability(features, coefficients)  # noqa: E731
    keep = confident_tokens(gen, threshold, decode, with_coef)
    if keep >= len(gen.token_ids):
        return record["first"]
    text = decode(gen.token_ids[:keep])[len(heal):] if keep else ""
    return text.split("\n")[0].strip()


def curve(records: list[dict], coef: np.ndarray, thresholds, decode) -> list[dict]:
    rows = []
    for t in thresholds:
        shown = [(r, line) for r in records if (line := gated_first_line(r, t, coef, decode))]
        useful = [line for r, line in shown if r["target"].startswith(line)]
        rows.append({"threshold": t, "shown_share": len(shown) / len(records),
                     "precision_shown": len(useful) / max(len(shown), 1),
                     "useful_share": len(useful) / len(records),
                     "exact_share": sum(r["target"] == line for r, line in shown) / len(records),
                     "useful_chars": float(np.mean([len(line) for line in useful])) if useful else 0.0})
    return rows


def reliability(records: list[dict], coef: np.ndarray, bins: int = 8) -> list[tuple[float, float, int]]:
    rows = [r for r in records if r["features"] is not None and r["first"]]
    p = np.array([1 / (1 + np.exp(-np.dot(coef, r["features"]))) for r in rows])
    y = np.array([r["useful"] for r in rows], dtype=float)
    edges = np.linspace(0, 1, bins + 1)
    out = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        mask = (p >= lo) & (p < hi if hi < 1 else p <= hi)
        if mask.any():
            out.append((float(p[mask].mean()), float(y[mask].mean()), int(mask.sum())))
    return out


def plot(curves: dict[str, list[dict]], diagram, chosen: float, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4), dpi=80)
    for label, rows in curves.items():
        a.plot([r["useful_share"] for r in rows], [r["precision_shown"] for r in rows], marker=".", label=label)
        pick = min(rows, key=lambda r: abs(r["threshold"] - chosen))
        a.scatter([pick["useful_share"]], [pick["precision_shown"]], s=80, facecolors="none", edgecolors="k")
    a.set_xlabel("share of cuts with a useful suggestion")
    a.set_ylabel("precision of shown suggestions")
    a.set_title("trade-off (circle: the default min_confidence)")
    a.legend(fontsize=7)
    b.plot([0, 1], [0, 1], "k:", lw=1)
    b.plot([d[0] for d in diagram], [d[1] for d in diagram], marker="o")
    for pred, obs, n in diagram:
        b.annotate(str(n), (pred, obs), fontsize=7)
    b.set_xlabel("predicted chance of a useful first line")
    b.set_ylabel("observed share useful (held-out projects)")
    b.set_title("reliability diagram (--eval)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", type=Path, required=True)
    parser.add_argument("--eval", type=Path, required=True)
    parser.add_argument("--cut-logprob", type=float, nargs="+", default=[-1.5, -2.5])
    parser.add_argument("--max-files", type=int, default=120)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--min-precision", type=float, default=0.5, help="the default gate: the lowest threshold "
                        "whose precision on --fit reaches this")
    parser.add_argument("--mix-kind", choices=(CONTEXT, SPECIFIC), default=MixRule().kind)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args(argv)
    engine = Engine.load()
    thresholds = [round(t, 2) for t in np.arange(0.0, 0.91, 0.05)]
    result, curves = {}, {}
    for cut in args.cut_logprob:
        rule = MixRule(kind=args.mix_kind)
        fit = collect(engine, args.fit, cut, args.max_files, args.samples, rule=rule)
        held = collect(engine, args.eval, cut, args.max_files, args.samples, rule=rule)
        rows = [r for r in fit if r["features"] is not None and r["first"]]
        coef = fit_logistic(np.array([r["features"] for r in rows]), np.array([r["useful"] for r in rows], float))
        fit_curve, eval_curve = curve(fit, coef, thresholds, engine.decode), curve(held, coef, thresholds, engine.decode)
        chosen = next((r["threshold"] for r in fit_curve if r["precision_shown"] >= args.min_precision), 0.0)
        result[str(cut)] = {"coef": [round(float(c), 4) for c in coef], "chosen_threshold": chosen,
                            "fit": fit_curve, "eval": eval_curve, "reliability_eval": reliability(held, coef)}
        curves[f"cut {cut}, eval"] = eval_curve
        at = next(r for r in eval_curve if r["threshold"] == chosen)
        print(f"cut_logprob {cut}: coef {result[str(cut)]['coef']} min_confidence {chosen} -> eval "
              f"shown {at['shown_share']:.3f} precision {at['precision_shown']:.3f} useful {at['useful_share']:.3f} "
              f"chars {at['useful_chars']:.1f}; ungated precision {eval_curve[0]['precision_shown']:.3f} "
              f"useful {eval_curve[0]['useful_share']:.3f}", flush=True)
    best = max(result, key=lambda k: next(r["useful_share"] for r in result[k]["fit"]
                                          if r["threshold"] == result[k]["chosen_threshold"]))
    result["chosen"] = {"cut_logprob": float(best), **{k: result[best][k] for k in ("coef", "chosen_threshold")}}
    plot(curves, result[best]["reliability_eval"], result[best]["chosen_threshold"], args.out / "show_less.png")
    (args.out / "show_less.json").write_text(json.dumps(result, indent=1) + "\n")
    print("chosen:", result["chosen"])


if __name__ == "__main__":
    main()
