"""The inline pipeline's one orchestrator: should we complete here -> prompt -> generate -> post-process -> rank.

Each stage lives in its own module of lsp_server.inline with its own tests (cursor, context, prompt, healing,
stops, postprocess, typing_state); `suggest_all` chains them and returns values for the LSP features.
"""
from __future__ import annotations

import time
from functools import partial

from ..project.mixing import Mixer, ProjectContext
from ..runtime.cancel import CancelToken
from ..runtime.engine import Engine, Generation, PromptCache, StopFn
from ..syntax.documents import Document
from .cursor import cursor_context
from .healing import cut_at_doubt, heal_text, healed_stop, unheal
from .options import SuggestOptions
from .postprocess import Suggestion, finish_best
from .prompt import build_prompt
from .stops import engine_stop, make_stop
from .typing_state import DocumentReuse

SPARE_BRANCHES = 2


def _generate(engine: Engine, ids: list[int], options: SuggestOptions, stop: StopFn, cancel: CancelToken | None,
              cache: PromptCache, deadline: float, branches: int, skip: int = 0, heal: str = "",
              mixer: Mixer | None = None) -> list[Generation]:
    """Stage 3: greedy continuations of the most likely first tokens, decoded together as one batch.

    Spare branches beyond the n wanted stand in for branches that post-processing empties or that
    duplicate another. A batch row costs about as much as a whole decode (each step copies every row's
    KV cache), so with one suggestion wanted the spares run only when the greedy one shows nothing.
    """
    return engine.generate_alternatives(ids, branches, options.max_new_tokens, stop, deadline, cancel,
                                        cache=cache, skip=skip, heal=heal, bias=mixer)


def suggest_all(doc: Document, offset: int, engine: Engine, options: SuggestOptions = SuggestOptions(),
                cancel: CancelToken | None = None, context: str = "",
                reuse: DocumentReuse | None = None, project: ProjectContext | None = None) -> list[Suggestion]:
    """Run the whole pipeline for one cursor position of a document snapshot: up to n ranked suggestions.

    With `reuse` (the document's state from its previous request), the prompt keeps the previous
    prefix window while it fits and the prompt pass runs only the tokens that changed. With `project`,
    every decoding step mixes in the project's n-gram counts (lsp_server.project.mixing).
    """
    ctx = cursor_context(doc, offset)
    if ctx is None:
        return []
    heal = heal_text(ctx)
    head = ctx.prefix + ctx.lead
    prompt = build_prompt(head[:len(head) - len(heal)], ctx.suffix, engine.encode, engine.special, options.budget, context,
                          order=options.fim_order, prefix_start=reuse.prefix_start if reuse is not None else None)
    if reuse is not None:
        reuse.prefix_start = prompt.prefix_start
    stop = make_stop(ctx, options.max_lines if options.multiline else 1)
    n, special = max(options.alternatives, 1), tuple(engine.special)
    # The spares' call finds the prompt pass in the cache: it runs no prompt tokens again.
    run = partial(_generate, engine, prompt.ids, options, healed_stop(heal, engine_stop(ctx, stop)), cancel,
                  reuse.prompt if reuse is not None else PromptCache(), time.monotonic() + options.timeout_ms / 1000,
                  heal=heal, mixer=project.mixer(prompt.prefix_ids, prompt.suffix_ids) if project is not None else None)
    lazy = n == 1

    def doubtless(gens: list[Generation]) -> list[Generation]:
        return [unheal(heal, cut_at_doubt(g, options.cut_logprob, heal, lambda ids: engine.decode(ids))) for g in gens]
    gens = doubtless(run(n if lazy else n + SPARE_BRANCHES))
    if any(gen.stop_reason == "cancelled" for gen in gens):
        return []
    found = finish_best(doc, ctx, gens, stop, n, options.confidence_threshold, special, options.min_confidence)
    if lazy and not found:
        gens = doubtless(run(SPARE_BRANCHES, skip=n))
        if any(gen.stop_reason == "cancelled" for gen in gens):
            return []
        found = finish_best(doc, ctx, gens, stop, n, options.confidence_threshold, special, options.min_confidence)
    return found


def suggest(doc: Document, offset: int, engine: Engine, options: SuggestOptions = SuggestOptions(),
            cancel: CancelToken | None = None, context: str = "", reuse: DocumentReuse | None = None,
            project: ProjectContext | None = None) -> Suggestion | None:
    """The best suggestion at one cursor position, or None."""
    found = suggest_all(doc, offset, engine, options, cancel, context, reuse, project)
    return found[0] if found else None
