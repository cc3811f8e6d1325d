"""Token healing: the typed end of a line leaves the prompt, and the model must write it again.

The tokenizer attaches a space to the word after it (`Ġargs`) and never splits `import` as `impo` + `rt`,
so a prompt ending in a lone space or in half a word is one the model never saw in training. the pipeline
leaves that tail out of the prompt (heal_text); the engine constrains the first generated tokens to
reproduce it (lsp_server.runtime.heal_index.HealIndex.constrain), and unheal() takes it off the answer again.
"""
from __future__ import annotations

import re
from dataclasses import replace

from ..runtime.engine import Generation, StopFn
from .cursor import CursorContext

HEALED_TAIL = re.compile(r"[ \t]*([A-Za-z0-9_]{0,40})$")  # ASCII: the token texts of a word are then exact


def heal_text(ctx: CursorContext) -> str:
    """What the user typed at the end of the line that the prompt leaves out and the model must write
    again (token healing): trailing spaces, and a partly typed word with the spaces before it.

    The tokenizer attaches a space to the word after it (`Ġargs`) and never splits `import` as
    `impo` + `rt`, so a prompt ending in a lone space or in half a word is one the model never saw in
    training; it then writes nonsense (`for a in ` -> `sel`). The engine constrains the first tokens to
    reproduce the healed text (HealIndex), so `x = impo` gets ` import` back whole.
    """
    if ctx.lead or not ctx.line_before.strip():
        return ""
    m = HEALED_TAIL.search(ctx.line_before)
    if ctx.line_before[m.start(1) - 1:m.start(1)].isalnum():  # the end of a non-ASCII word: heal nothing
        return ""
    heal = m.group()
    if heal.strip() == ctx.line_before.strip():  # the word is all the line has: the indentation stays
        heal = heal.lstrip(" \t")
    return heal


def healed_stop(heal: str, stop: StopFn) -> StopFn:
    """The stop rule on generated text that must begin with `heal`; a branch that does not is cut to ''."""
    if not heal:
        return stop

    def healed(text: str) -> int | None:
        if not (text.startswith(heal) or heal.startswith(text)):
            return 0
        if len(text) <= len(heal):
            return None
        cut = stop(text[len(heal):])
        return None if cut is None else cut + len(heal)
    return healed


def cut_at_doubt(gen: Generation, min_logprob: float, heal: str, decode) -> Generation:
    """The generation up to its first token (after the healed text) the decoder gave less than min_logprob:
    a suggestion that stops after `self.items` is worth more than a wrong `self.items[name]`. A branch's
    first token is its own choice (an alternative starts from a less likely one) and is never cut."""
    start = healed_tokens(gen, heal, decode)
    for k in range(max(start, 1), len(gen.token_ids)):
        if gen.logprobs[k] < min_logprob:
            return keep_tokens(gen, k, decode, "doubt")
    return gen


def healed_tokens(gen: Generation, heal: str, decode, inside: bool = False) -> int:
    """How many of the generation's first tokens it takes to write the healed text again; with `inside`,
    how many write nothing but healed text (one fewer when the last of them also writes new text)."""
    if not heal:
        return 0
    for k in range(1, len(gen.token_ids) + 1):
        written = len(decode(gen.token_ids[:k]))
        if written >= len(heal):
            return k - 1 if inside and written > len(heal) else k
    return len(gen.token_ids)


def keep_tokens(gen: Generation, k: int, decode, reason: str) -> Generation:
    """The generation cut to its first k tokens (its text too, never longer than the stop rule left it)."""
    if k >= len(gen.token_ids):
        return gen
    text = decode(gen.token_ids[:k]) if k else ""
    return replace(gen, text=gen.text[:len(text)], token_ids=gen.token_ids[:k], logprobs=gen.logprobs[:k],
                   stop_reason=reason, timings=dict(gen.timings))


def unheal(heal: str, gen: Generation) -> Generation:
    """The generation without the healed spaces (empty when it did not reproduce them)."""
    if not heal:
        return gen
    text = gen.text[len(heal):] if gen.text.startswith(heal) else ""
    return replace(gen, text=text)
