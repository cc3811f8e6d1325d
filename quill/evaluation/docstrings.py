"""The docstring stage of `quill eval`: generate a summary for documented functions, score it with BLEU-4.

Two generators: the code LM's summary line (lsp_server.assists.docstrings.summarize) and an
encoder-decoder docstring model shipped in the bundle (manifest key "docstring"), which
lsp_server.runtime.docstring_model loads. `docstring_for` is the one function that picks between them.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from lsp_server.assists.descriptions import (
    PLACEHOLDER,
    PROJECT,
    ProjectDocs,
    project_summary,
)
from lsp_server.assists.docstrings import (
    Summary,
    choose_summary,
    clears_gate,
    model_summary,
)
from lsp_server.config import DocstringConfig
from lsp_server.errors import QuillError
from lsp_server.project.doc_summaries import ProjectSummaries
from lsp_server.runtime.bundles import Bundle
from lsp_server.runtime.docstring_model import DocstringModel
from lsp_server.runtime.engine import Engine
from lsp_server.syntax.definitions import DefinitionInfo, find_definition
from lsp_server.syntax.documents import Document
from quill.evaluation.bleu import smoothed_bleu4
from quill.evaluation.docstring_params import ParamScores, ProjectTables
from quill.evaluation.metrics import first_sentence, mean_or_none, median_ms
from quill.evaluation.samples import EvalError, FunctionSample, without_docstring
from quill.evaluation.tasks import Progress

AUTO, SEQ2SEQ, LM = "auto", "seq2seq", "lm"
MODEL_SOURCES = ("docstring-model", "model")
CHOICES = (AUTO, SEQ2SEQ, LM)


@dataclass
class BundleModels:
    """The models of one bundle that eval runs: the code LM engine, and the docstring model if loaded."""
    bundle: Bundle
    engine: Engine
    doc_model: DocstringModel | None = None  # loaded when the seq2seq path is used


def has_docstring_model(bundle: Bundle) -> bool:
    """True when the bundle's manifest declares a docstring model."""
    return "docstring" in bundle.manifest


def resolve_docstring_model(which: str, bundle: Bundle) -> str:
    """SEQ2SEQ or LM for --docstring-model; raises EvalError when seq2seq is asked for but cannot run."""
    if which not in CHOICES:
        raise EvalError(f"--docstring-model must be one of {', '.join(CHOICES)}, not {which!r}")
    if which == LM:
        return LM
    if which == AUTO:
        return SEQ2SEQ if has_docstring_model(bundle) else LM
    if not has_docstring_model(bundle):
        raise EvalError(f"bundle {bundle.name} ({bundle.path}) has no docstring model (no 'docstring' key in its "
                        "manifest); use --docstring-model lm or auto, or export a bundle with one")
    return SEQ2SEQ


def load_models(bundle: Bundle, engine: Engine, which: str) -> BundleModels:
    """The models for a resolved choice (SEQ2SEQ loads the docstring model, LM needs only the engine)."""
    models = BundleModels(bundle, engine)
    if which == SEQ2SEQ:
        # ---- The seq2seq docstring model: the single place where quill eval loads it. ----
        models.doc_model = DocstringModel.load(bundle.path)
    return models


GATE_SWEEP = tuple(round(-3.0 + 0.25 * i, 2) for i in range(11))  # min_score values the report also scores


@dataclass
class Gated:
    """One sample's summary under the configured gate, and what any other gate would show: the model's
    cleaned sentence (if it says more than the names) with its beam score, and the fallback otherwise."""
    summary: Summary
    raw: str
    score: float
    model_shown: str    # first sentence shown when the gate lets the model through ('' when none)
    fallback: Summary   # what is shown when the gate holds the model back
    no_project: Summary | None = None  # what is shown without the project's summaries (None: the same)


def summary_for(models: BundleModels, doc: Document, info: DefinitionInfo, which: str,
                config: DocstringConfig | None = None, summaries: ProjectSummaries | None = None,
                project: ProjectDocs | None = None) -> Gated:
    """The summary the server would put in the docstring under config.min_score, the model's raw text and
    score, and both sides of the gate (the model runs once, ungated; the gate is applied here exactly as
    model_summary applies it: score >= min_score). `summaries`: the project's documented functions, the
    neighbours of a docstring model trained with context. `project`: the project's documented names; a
    summary of the same name there is shown whatever the gate (assists.docstrings.summarize), and the model
    still runs for docstring_bleu4_model_only."""
    config = config or DocstringConfig()
    doc_model = models.doc_model if which == SEQ2SEQ else None
    raw, source, _, score = model_summary(models.engine, doc, info, config.max_new_tokens, doc_model=doc_model,
                                          beam=config.beam, summaries=summaries)
    passed = choose_summary(info, raw, source, True)
    fallback = choose_summary(info, raw, source, False)
    gated = passed if clears_gate(score, config.min_score) else fallback
    found = project_summary(doc, info, project)
    if found is not None:
        return Gated(Summary(found, PROJECT), raw, score, "", Summary(found, PROJECT), gated)
    model_shown = first_sentence(passed.text) if passed.source in MODEL_SOURCES else ""
    return Gated(gated, raw, score, model_shown, fallback)


def _shown(summary: Summary) -> str:
    return "" if summary.source == PLACEHOLDER else first_sentence(summary.text)


def docstring_for(models: BundleModels, doc: Document, info: DefinitionInfo, which: str,
                  config: DocstringConfig | None = None) -> tuple[str, str, str]:
    """(first sentence the server shows, its source, first sentence of the model's own text).

    The server cleans the model's text (lsp_server.assists.docstrings.choose_summary) and shows the `_summary_`
    placeholder when nothing usable is left or it only restates the names (scored as an empty sentence, source
    "placeholder"); the third item is the model's raw text with no fallback, which is what the docstring-model
    ablation compares.
    """
    gated = summary_for(models, doc, info, which, config)
    return _shown(gated.summary), gated.summary.source, first_sentence(gated.raw.split('"""')[0])


def _one(models: BundleModels, sample: FunctionSample, which: str, config: DocstringConfig,
         params: ParamScores, tables: ProjectTables | None) -> Gated | None:
    """The gated summary of one sample (None when nothing would be shown at all); scores its parameters.

    The model sees the file without the sample's docstring and the rest of its project (the file's own entry
    in the project tables is left out), as the server would: the hidden docstring is never a neighbour."""
    text = without_docstring(sample)
    doc = Document(sample.source.uri, text) if text is not None else None
    try:
        info = find_definition(doc, sample.info.name_start) if doc is not None else None
        if info is None:
            return None
        summaries = tables.summaries_for(sample.source) if tables is not None else None
        project = tables.docs_for(sample.source, doc) if tables is not None else None
        gated = summary_for(models, doc, info, which, config, summaries, project)
    except QuillError:  # InputTooComplex: nothing would be shown
        return None
    params.add(sample, info, gated.summary.text, config.style, project)
    return gated


def gate_sweep(references: list[str], found: list[Gated | None]) -> dict:
    """docstring_bleu4 and docstring_model_share had min_score been each GATE_SWEEP value (same run)."""
    out = {}
    for gate in GATE_SWEEP:
        shown, share = [], []
        for g in found:
            through = g is not None and g.model_shown and clears_gate(g.score, gate)
            shown.append(g.model_shown if through else _shown(g.fallback) if g is not None else "")
            share.append(float(bool(through)))
        out[f"{gate:g}"] = {"bleu4": round(smoothed_bleu4(references, shown), 2), "model_share": mean_or_none(share)}
    return out


def eval_docstrings(models: BundleModels, samples: list[FunctionSample], which: str,
                    config: DocstringConfig | None = None, tables: ProjectTables | None = None) -> dict:
    """docstring_bleu4 (CodeXGLUE smoothed BLEU-4 x 100) and docstring_model_share over the samples, the
    same under other gates (docstring_gate_sweep), and the parameter metrics of
    quill.evaluation.docstring_params (with `tables`, the corpus's projects)."""
    config = config or DocstringConfig()
    found: list[Gated | None] = []
    ms = []
    params = ParamScores()
    progress = Progress(f"docstrings ({which})", len(samples))
    for sample in samples:
        started = time.perf_counter()
        found.append(_one(models, sample, which, config, params, tables))
        ms.append((time.perf_counter() - started) * 1000)
        progress.advance()
    references = [sample.summary for sample in samples]
    hypotheses = [_shown(g.summary) if g is not None else "" for g in found]
    alone = [_shown(g.no_project or g.summary) if g is not None else "" for g in found]
    raw_hypotheses = [first_sentence(g.raw.split('"""')[0]) if g is not None else "" for g in found]
    from_model = [float(g is not None and g.summary.source in MODEL_SOURCES) for g in found]
    from_project = [float(g is not None and g.summary.source == PROJECT) for g in found]
    def bleu(hyps: list[str]) -> float | None:
        return round(smoothed_bleu4(references, hyps), 2) if references else None

    return {"docstring_bleu4": bleu(hypotheses), "docstring_bleu4_no_project": bleu(alone),
            "docstring_bleu4_model_only": bleu(raw_hypotheses), "docstring_model_share": mean_or_none(from_model),
            "docstring_project_share": mean_or_none(from_project), "n_docstrings": len(samples),
            "docstring_gate_sweep": gate_sweep(references, found) if references else {},
            "latency_ms_docstring_median": median_ms(ms), **params.result()}
