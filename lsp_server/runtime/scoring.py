"""Scoring given token sequences after one prompt pass (completion items rank names with it)."""
from __future__ import annotations

from typing import Callable, Protocol

import numpy as np

from .cancel import CancelToken

# A decoding bias: (a row's generated token ids so far, its (V,) log-probabilities) -> the log-probabilities
# to decode from instead (lsp_server.project.mixing.Mixer mixes in the project's n-gram counts).
Bias = Callable[[list[int], np.ndarray], np.ndarray]


class PromptPass(Protocol):
    """What scoring reads of a prompt pass (engine.Prefill)."""
    logprobs: np.ndarray
    past: list[np.ndarray]


class Extends(Protocol):
    """What scoring needs of the model (engine.Engine.extend)."""
    def extend(self, ids: np.ndarray, past: list[np.ndarray], cancel: CancelToken,
               positions: int = 1) -> tuple[np.ndarray, list[np.ndarray]]: ...


def end_logprob(logprobs: np.ndarray, continue_mask: np.ndarray) -> float:
    """log P(the next token is not one of continue_mask) from (V,) log-probabilities."""
    p_continue = float(np.exp(logprobs[continue_mask]).sum())
    return float(np.log1p(-min(p_continue, 1.0 - 1e-9)))


def score(engine: Extends, pre: PromptPass, continuations: list[list[int]], continue_mask: np.ndarray | None = None,
          cancel: CancelToken | None = None, bias: Bias | None = None) -> list[float]:
    """Log-probability of each token sequence after the prompt, batched over one shared prompt pass.

    With continue_mask ((V,) bool), a score also adds log P(next token not in the mask): the chance that
    the sequence ends there (a whole name, not the start of a longer one). With `bias`, each position is
    scored on bias(the sequence's tokens before it, model log-probabilities). Raises Cancelled.
    """
    if any(not seq for seq in continuations):
        raise ValueError("score() needs non-empty continuations")
    cancel = cancel or CancelToken()
    first = bias([], pre.logprobs) if bias is not None else pre.logprobs
    scores = [float(first[seq[0]]) for seq in continuations]
    rows = list(range(len(continuations)))
    past = [np.repeat(p, len(rows), axis=0) for p in pre.past]
    for j in range(max((len(seq) for seq in continuations), default=0)):
        # A row needs this step to score its next token, or (with a mask) the end after its last one.
        need = [k for k, r in enumerate(rows) if len(continuations[r]) > j + 1 or continue_mask is not None]
        if len(need) < len(rows):
            past, rows = [p[need] for p in past], [rows[k] for k in need]
        if not rows:
            break
        ids = np.array([[continuations[r][j]] for r in rows], dtype=np.int64)
        logprobs, past = engine.extend(ids, past, cancel)
        keep = []
        for k, r in enumerate(rows):
            seq = continuations[r]
            row = bias(seq[:j + 1], logprobs[k]) if bias is not None else logprobs[k]
            if j + 1 < len(seq):
                scores[r] += float(row[seq[j + 1]])
                keep.append(k)
            else:
                scores[r] += end_logprob(row, continue_mask)
        if len(keep) < len(rows):
            past, rows = [p[keep] for p in past], [rows[k] for k in keep]
    return scores
