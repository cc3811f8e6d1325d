"""Gradient ascent on standardized features, for the small fits of the benchmarks (no scipy here)."""
from __future__ import annotations

from typing import Callable

import numpy as np


def fit_standardized(x: np.ndarray, gradient: Callable[[np.ndarray, np.ndarray], np.ndarray], steps: int,
                     lr: float) -> np.ndarray:
    """Coefficients on the raw features (column 0 is the bias) found by ascending gradient(xs, w) on
    standardized ones: the features' scales differ by orders of magnitude (counts, log-probabilities)."""
    mu, sd = x.mean(axis=0), x.std(axis=0) + 1e-9
    mu[0], sd[0] = 0.0, 1.0
    xs = (x - mu) / sd
    w = np.zeros(x.shape[1])
    for _ in range(steps):
        w += lr * gradient(xs, w)
    coef = w / sd
    coef[0] = w[0] - float((w[1:] * mu[1:] / sd[1:]).sum())
    return coef
