"""Options of the inline pipeline (light: config imports them without loading onnxruntime)."""
from __future__ import annotations

from dataclasses import dataclass

from .prompt import SPM, PromptBudget

# Mean token log-probability under which a suggestion is not shown (configurable: inline.confidence_threshold).
DEFAULT_CONFIDENCE_THRESHOLD = -3.0


@dataclass(frozen=True)
class SuggestOptions:
    max_new_tokens: int = 24
    max_lines: int = 6
    budget: PromptBudget = PromptBudget()
    timeout_ms: int = 400
    multiline: bool = True
    alternatives: int = 1
    confidence_threshold: float = DEFAULT_CONFIDENCE_THRESHOLD
    # SPM keeps the suffix first, so the prompts of consecutive keystrokes share all but their last tokens
    # (benchmarks/fim_order.py measures that it costs no quality).
    fim_order: str = SPM
