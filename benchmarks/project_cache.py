"""Choose the cache-mixing rule (lsp_server.project.mixing) on teacher-forced next tokens.

Collects, for random 512-token windows of files of several projects (each top-level folder of a root is one
project), the model's distribution and the nested cache match (the file's own text before the position plus
the project's other files), then scores every rule offline: top-1 accuracy of the mixture. The gate's
coefficients are fitted (mixture log-likelihood, gradient ascent) on --fit roots and reported on --eval roots,
so no rule is tuned on the projects it is reported on.

    python -m benchmarks.project_cache --fit /work/heldout/fit --eval /work/heldout/eval --max-tokens 20000
"""
from __future__ import annotations

import argparse
import json
import random
from dataclasses import replace
from pathlib import Path

import numpy as np

from lsp_server.project.mixing import (
    CONTEXT,
    FIXED,
    GATE,
    SPECIFIC,
    LocalText,
    MixRule,
    gate_features,
    nested_match,
)
from lsp_server.project.ngrams import Match
from lsp_server.runtime.engine import Engine
from lsp_server.runtime.ort_session import log_softmax
from quill.evaluation.projects import project_indexes, project_of
from quill.evaluation.samples import python_files, select_files
from quill.evaluation.tasks import TokenOptions, token_windows

from .fitting import fit_standardized


def collect(engine: Engine, root: Path, max_files: int, max_tokens: int, rule: MixRule, seed: int = 1) -> list[dict]:
    """One record per scored position: target, model facts, and the cache match (if any)."""
    files = select_files(root, python_files(root), max_files, seed).files
    indexes = project_indexes(root, engine, rule.max_order)
    seqs = [[engine.eos_id] + ids for ids in engine.encode_batch([f.text for f in files])]
    windows = token_windows([len(s) for s in seqs], random.Random(f"{seed}:tokens"),
                            TokenOptions(max_tokens=max_tokens))
    special = set(engine.special.values())
    records = []
    for i, start, n in windows:
        seq, source = seqs[i], files[i]
        project = indexes.get(project_of(source.rel))
        local = LocalText.of(seq, rule.max_order)
        past = engine.empty_past(1)
        for t in range(start, start + n):
            logits, past = engine.step(np.array([[seq[t]]]), past)
            target = seq[t + 1]
            if target in special:
                continue
            logprobs = log_softmax(logits)[0]
            local.before = t + 2  # the table's position of seq[t + 1]: only text before it is known
            match = nested_match(seq[max(0, t + 1 - rule.max_order):t + 1], rule, local, project, source.uri)
            top = int(logprobs.argmax())
            rec = {"target": target, "top": top, "top_lp": float(logprobs[top]),
                   "target_lp": float(logprobs[target]), "project": project_of(source.rel)}
            if match is not None:
                rec.update(ids=match.ids, counts=match.counts, ids_lp=logprobs[match.ids],
                           features=gate_features(match, logprobs), order=match.order, total=match.total)
            records.append(rec)
    return records


def lambdas(records: list[dict], rule: MixRule) -> np.ndarray:
    out = np.zeros(len(records))
    for k, rec in enumerate(records):
        if "ids" not in rec:
            continue
        if rule.kind == GATE:
            out[k] = 1 / (1 + np.exp(-float(np.dot(rule.gate, rec["features"]))))
        else:  # the served rule itself: it reads only the match
            out[k] = rule.weight_for(Match(rec["order"], rec["ids"], rec["counts"]), None)
    return out


def accuracy(records: list[dict], rule: MixRule | None) -> float:
    """Top-1 of the mixture (of the model alone for rule None)."""
    lams = lambdas(records, rule) if rule is not None else np.zeros(len(records))
    hits = 0
    for rec, lam in zip(records, lams):
        if lam <= 0 or "ids" not in rec:
            hits += rec["top"] == rec["target"]
            continue
        q = rec["counts"] / rec["counts"].sum()
        scores = (1 - lam) * np.exp(rec["ids_lp"]) + lam * q
        best = int(scores.argmax())
        top_score = (1 - lam) * np.exp(rec["top_lp"]) + (lam * q[rec["ids"] == rec["top"]].sum())
        pick = int(rec["ids"][best]) if scores[best] > top_score else rec["top"]
        hits += pick == rec["target"]
    return hits / max(len(records), 1)


def fit_gate(records: list[dict], steps: int = 400, lr: float = 0.5) -> tuple[float, ...]:
    """Gate coefficients maximising the mixture's log-likelihood of the targets (matched positions only)."""
    rows = [r for r in records if "ids" in r]
    x = np.array([r["features"] for r in rows])
    pm = np.exp(np.array([r["target_lp"] for r in rows]))
    pq = np.array([float((r["counts"] * (r["ids"] == r["target"])).sum() / r["counts"].sum()) for r in rows])

    def gradient(xs: np.ndarray, w: np.ndarray) -> np.ndarray:
        lam = 1 / (1 + np.exp(-xs @ w))
        mixture = (1 - lam) * pm + lam * pq + 1e-12
        return ((pq - pm) / mixture * lam * (1 - lam)) @ xs / len(rows)
    coef = fit_standardized(x, gradient, steps, lr)
    return tuple(round(float(c), 4) for c in coef)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", type=Path, required=True)
    parser.add_argument("--eval", type=Path, required=True)
    parser.add_argument("--max-files", type=int, default=100)
    parser.add_argument("--max-tokens", type=int, default=20_000)
    parser.add_argument("--max-order", type=int, default=6)
    parser.add_argument("--local-weight", type=float, default=4.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    engine = Engine.load()
    base = MixRule(max_order=args.max_order, local_weight=args.local_weight)
    fit = collect(engine, args.fit, args.max_files, args.max_tokens, base)
    held = collect(engine, args.eval, args.max_files, args.max_tokens, base)
    gate = fit_gate(fit)
    rules = {"model only": None}
    for w in (0.2, 0.3, 0.4, 0.5, 0.6):
        rules[f"fixed λ={w}"] = replace(base, kind=FIXED, weight=w)
    for w in (0.5, 0.7, 0.9):
        for k in (0.5, 2.0):
            rules[f"context λ={w}·n/{base.max_order}·c/(c+{k})"] = replace(base, kind=CONTEXT, weight=w, count_k=k)
    for w in (0.4, 0.5, 0.6):
        rules[f"specific λ={w}·max(n/{base.max_order}, q_max)·c/(c+0.5)"] = replace(base, kind=SPECIFIC, weight=w)
    rules["gate (fitted on --fit)"] = replace(base, kind=GATE, gate=gate)
    rules["default"] = base
    result = {"gate": gate, "n_fit": len(fit), "n_eval": len(held), "rules": {}}
    projects = sorted({r["project"] for r in held})
    for name, rule in rules.items():
        row = {"fit": round(accuracy(fit, rule), 4), "eval": round(accuracy(held, rule), 4)}
        for p in projects:
            row[p] = round(accuracy([r for r in held if r["project"] == p], rule), 4)
        result["rules"][name] = row
        print(f"{name:34} " + " ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    print("fitted gate:", gate)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
