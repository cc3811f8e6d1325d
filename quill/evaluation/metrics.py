"""Metric helpers of `quill eval` (pure functions): exact match, edit similarity, docstring summaries."""
from __future__ import annotations

import ast
import difflib
import statistics

# A sentence ends at . ! or ? followed by white space or the end, but not after these abbreviations.


def exact_match(prediction: str, target: str) -> bool:
    """CodeXGLUE line-level exact match: the same whitespace-separated tokens."""
    return prediction.split() == target.split()


def edit_similarity(prediction: str, target: str, autojunk: bool = True) -> int:
    """0..100 similarity as fuzzywuzzy's fuzz.ratio without python-Levenshtein (CodeXGLUE line-level).

    That is round(100 * difflib.SequenceMatcher(None, a, b).ratio()), and 0 when either side is empty.
    difflib's autojunk heuristic (on by default, as in fuzzywuzzy) ignores characters that make up more
    than 1% of a text of 200+ characters, which makes whole function bodies look unrelated: pass
    autojunk=False for long texts.
    """
    if not prediction or not target:
        return 0
    return round(100 * difflib.SequenceMatcher(None, prediction, target, autojunk=autojunk).ratio())


def docstring_value(literal: str) -> str | None:
    """The string a docstring literal (quotes and prefix included) stands for; None if it is not a str."""
    try:
        value = ast.literal_eval(literal)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    return value if isinstance(value, str) else None


def first_sentence(docstring: str) -> str:
    """The summary a docstring starts with, by the rule the docstring model's training targets follow
    (model.docpairs.first_sentence: first paragraph to the first sentence end, a copied signature line
    skipped, field lists and section headers end it), so that references and targets agree."""
    from model.docpairs import first_sentence as summary_of
    return summary_of(docstring)


def median_ms(values: list[float]) -> float | None:
    """Median of latencies in ms, rounded to 0.01 ms; None without samples."""
    return round(statistics.median(values), 2) if values else None


def mean_or_none(values: list[float], scale: float = 1.0, digits: int = 4) -> float | None:
    """scale * mean of values, rounded; None without samples (JSON null: not measured, never 0)."""
    return round(scale * sum(values) / len(values), digits) if values else None
