"""Options of code generation (light: config imports them without loading onnxruntime)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BodyOptions:
    """Limits of one generation (max_new_tokens and max_lines come from the codegen settings)."""
    max_new_tokens: int = 128
    max_lines: int = 30
    prompt_tokens: int = 512
    suffix_tokens: int = 0  # > 0: a FIM (SPM) prompt that also shows this much of the code after the target
    timeout_s: float = 10.0  # a 128-token body takes ~0.2 s; this only bounds a stalled machine
