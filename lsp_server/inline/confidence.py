"""Show less, right: a calibrated estimate that a suggestion's first line is exactly what the user types next.

A logistic model over the decoder's own numbers (the mixed model + project log-probabilities of the tokens
kept): mean, minimum, and length. Its coefficients were fitted on held-out projects that are not the ones we
report on (benchmarks/show_less.py; the reliability diagram and the trade-off curve are in BENCHMARKS.md), so
`inline.min_confidence` reads as "show a suggestion when at least this share of such suggestions is right".
"""
from __future__ import annotations

import math

from ..runtime.engine import Generation

# (bias, mean log p, min log p, log(1 + tokens)): benchmarks/show_less.py --fit (see BENCHMARKS.md)
CALIBRATION = (1.9831, 1.1979, -0.2324, -1.0912)


def confidence_features(gen: Generation) -> tuple[float, ...]:
    """(1, mean log p, min log p, log(1 + tokens)) of a generation; the empty one gets the floor values."""
    if not gen.logprobs:
        return (1.0, -20.0, -20.0, 0.0)
    mean = max(sum(gen.logprobs) / len(gen.logprobs), -20.0)
    return (1.0, mean, max(min(gen.logprobs), -20.0), math.log1p(len(gen.logprobs)))


def calibrated_confidence(gen: Generation, coefficients: tuple[float, ...] = CALIBRATION) -> float:
    """Estimated probability (0..1) that the suggestion's first line is exactly right."""
    z = sum(c * x for c, x in zip(coefficients, confidence_features(gen)))
    return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))
