"""Options of the inline pipeline (light: config imports them without loading onnxruntime)."""
from __future__ import annotations

import math
from dataclasses import dataclass

from .prompt import SPM, PromptBudget

# Mean token log-probability under which a suggestion is not shown (configurable: inline.confidence_threshold).
DEFAULT_CONFIDENCE_THRESHOLD = -3.0
# A suggestion ends before the first token the (model + project) decoder gave less than this log-probability
# (configurable: inline.cut_logprob; chosen with quill eval, BENCHMARKS.md "Show less, right").
DEFAULT_CUT_LOGPROB = -1.5
# A suggestion is withheld when its calibrated chance of being exactly right is under this (inline.min_confidence).
DEFAULT_MIN_CONFIDENCE = 0.3


@dataclass(frozen=True)
class SuggestOptions:
    max_new_tokens: int = 24
    max_lines: int = 6
    budget: PromptBudget = PromptBudget()
    timeout_ms: int = 400
    multiline: bool = True
    alternatives: int = 1
    confidence_threshold: float = DEFAULT_CONFIDENCE_THRESHOLD
    # Off here (the pipeline's own default); the server's settings (lsp_server.config) turn both on.
    cut_logprob: float = -math.inf
    min_confidence: float = 0.0
    # SPM keeps the suffix first, so the prompts of consecutive keystrokes share all but their last tokens
    # (benchmarks/fim_order.py measures that it costs no quality).
    fim_order: str = SPM
    # Prompt-lookup decoding: check the project caches' drafted tokens several per model pass (same output).
    speculate: bool = True
    # End a branch where the doubt cut or the gate would cut it anyway (lsp_server.inline.early_stop).
    early_stop: bool = True
    # Snippets of other workspace files put before the prefix (lsp_server.project.snippets); 0: none.
    snippets: int = 0
