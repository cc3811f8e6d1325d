"""The prompt format the model is trained on and served with: its special tokens, the FIM layouts and the
place of cross-file context. Written once here and read by both sides: the server's prompt builder
(lsp_server.inline.prompt) and the training samples (model.data, model.crossfile). A leaf: it imports nothing.
"""
from __future__ import annotations

from typing import Sequence

FIM_PREFIX, FIM_SUFFIX, FIM_MIDDLE, EOS = "<fim_prefix>", "<fim_suffix>", "<fim_middle>", "<eos>"
PSM, SPM = "psm", "spm"  # FIM layouts: prefix-suffix-middle, suffix-prefix-middle
CONTEXT_HEADER = "# path: "  # starts each file's part of the cross-file context


def fim_layout(prefix: Sequence[int], suffix: Sequence[int], special: dict[str, int], order: str = PSM,
               context: Sequence[int] = (), middle: Sequence[int] | None = None) -> list[int]:
    """Token ids of a FIM prompt, or with `middle` of a whole training sample.

    PSM: <fim_prefix> context prefix <fim_suffix> suffix <fim_middle> [middle <eos>]
    SPM: <fim_suffix> suffix <fim_prefix> context prefix <fim_middle> [middle <eos>]
    Cross-file context is part of the prefix segment, right before the file's own prefix.
    """
    pre, suf, mid = special[FIM_PREFIX], special[FIM_SUFFIX], special[FIM_MIDDLE]
    if order == SPM:
        ids = [suf, *suffix, pre, *context, *prefix, mid]
    elif order == PSM:
        ids = [pre, *context, *prefix, suf, *suffix, mid]
    else:
        raise ValueError(f"unknown FIM order {order!r}; expected {PSM!r} or {SPM!r}")
    if middle is not None:
        ids += [*middle, special[EOS]]
    return ids


def plain_layout(text: Sequence[int], context: Sequence[int] = ()) -> list[int]:
    """Token ids of a left-to-right prompt or sample: cross-file context, then the file's text."""
    return [*context, *text]
