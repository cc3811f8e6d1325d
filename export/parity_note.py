"""The parity lines export prints: what a difference between ONNX and PyTorch outputs means, and whether it is fine.

fp32 ONNX should match PyTorch to float rounding (the tests require under 1e-4). int8 weights are rounded
to 256 levels per tensor, so int8 outputs differ by more; what matters is the difference relative to the
spread of the outputs: the shipped models measure 0.5-2.6% of it, so up to 5% is called normal.
"""
from __future__ import annotations

import numpy as np

FP32_TOLERANCE = 1e-4
INT8_NORMAL_SHARE = 0.05


def value_span(arrays) -> float:
    """max - min over the reference outputs (PyTorch's), the scale a difference is judged against."""
    values = [np.asarray(a, dtype=np.float64) for a in arrays]
    return max(float(v.max()) for v in values) - min(float(v.min()) for v in values) if values else 0.0


def fp32_line(what: str, gap: float, kind: str = "outputs") -> str:
    """The fp32 ONNX vs PyTorch line: a pass/fail reading of the max abs difference."""
    verdict = "fine: float rounding" if gap <= FP32_TOLERANCE else "TOO LARGE: the graph computes something else"
    return f"{what}fp32 ONNX vs PyTorch: {kind} differ by at most {gap:.2e} ({verdict}; limit {FP32_TOLERANCE:g})"


def int8_line(what: str, gap: float, reference, kind: str = "outputs") -> str:
    """The int8 ONNX vs PyTorch line: the max abs difference as a share of the outputs' range, with a verdict."""
    span = value_span(reference)
    share = gap / span if span > 0 else float("inf")
    verdict = ("fine" if share <= INT8_NORMAL_SHARE else
               "larger than usual: compare suggestions with an --fp32 export before shipping this one")
    return (f"{what}int8 ONNX vs PyTorch: {kind} differ by at most {gap:.3g} ({share:.1%} of their range "
            f"{span:.3g}): int8 weight rounding, {verdict} (up to {INT8_NORMAL_SHARE:.0%} is normal)")
