"""Options of code generation (light: config imports them without loading onnxruntime)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BodyOptions:
    """Limits of one generation (max_new_tokens and max_lines come from the codegen settings)."""
    max_new_tokens: int = 128
    max_lines: int = 30
    # The model trained on 512-token windows: 384 + max_new_tokens stays inside them (on the fit projects 512
    # left 6 of 150 functions without a body that passes the checks, 384 one; similarity the same).
    prompt_tokens: int = 384
    suffix_tokens: int = 0  # > 0: a FIM (SPM) prompt that also shows this much of the code after the target
    timeout_s: float = 10.0  # a 128-token body takes ~0.2 s; this only bounds a stalled machine
