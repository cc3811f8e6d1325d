"""The inline pipeline's one orchestrator: should we complete here -> prompt -> generate -> post-process -> rank.

Each stage lives in its own module of lsp_server.inline with its own tests (cursor, context, prompt, healing,
stops, postprocess, typing_state); `suggest_all` chains them and returns values for the LSP features.
"""
from __future__ import annotations

import dataclasses
import time
from functools import partial

from ..project.mixing import Mixer, ProjectContext
from ..runtime.cancel import CancelToken
from ..runtime.engine import Engine, Generation, PromptCache, StopFn
from ..syntax.documents import Document
from .confidence import confident_tokens, mark_first_line
from .context import snippet_context
from .cursor import cursor_context
from .early_stop import EarlyStop
from .healing import cut_at_doubt, heal_text, healed_stop, keep_tokens, unheal
from .options import SuggestOptions
from .postprocess import Suggestion, finish_best
from .prompt import build_prompt
from .stops import engine_stop, make_stop
from .typing_state import DocumentReuse

SPARE_BRANCHES = 2
# With snippets of other files in the prompt, context may take half the budget (BENCHMARKS.md "Snippets").
SNIPPET_CONTEXT_SHARE = 2


def _generate(engine: Engine, ids: list[int], options: SuggestOptions, stop: StopFn, cancel: CancelToken | None,
              cache: PromptCache, deadline: float, branches: int, skip: int = 0, heal: str = "",
              mixer: Mixer | None = None, decode=None) -> list[Generation]:
    """Stage 3: greedy continuations of the most likely first tokens, decoded together as one batch.

    Spare branches beyond the n wanted stand in for branches that post-processing empties or that
    duplicate another. A batch row costs about as much as a whole decode (each step copies every row's
    KV cache), so with one suggestion wanted the spares run only when the greedy one shows nothing.
    """
    halt = EarlyStop(options, heal, mixer, decode or _prefix_decoder(engine)) if options.early_stop else None
    return engine.generate_alternatives(ids, branches, options.max_new_tokens, stop, deadline, cancel,
                                        cache=cache, skip=skip, heal=heal, bias=mixer,
                                        draft=mixer.draft if mixer is not None and options.speculate else None,
                                        halt=halt)


def _prefix_decoder(engine: Engine):
    """engine.decode memoized by token sequence (looked up late: a test's stand-in engine may have none)."""
    seen: dict[tuple[int, ...], str] = {}

    def decode(ids: list[int]) -> str:
        key = tuple(ids)
        if key not in seen:
            seen[key] = engine.decode(ids)
        return seen[key]
    return decode


def _doubtless(gens: list[Generation], decode, options: SuggestOptions, heal: str,
               mixer: Mixer | None) -> list[Generation]:
    """Show less, right: cut each generation at its first doubtful token, then to the longest start of its
    first line whose calibrated confidence reaches options.min_confidence (nothing if none does: withheld);
    mark what the confidence reads (the first line's tokens, which of them the project vouches for)."""
    out = []
    for gen in gens:
        gen = cut_at_doubt(gen, options.cut_logprob, heal, decode)
        mark_first_line(gen, heal, mixer, decode)
        if options.min_confidence > 0 and gen.token_ids:
            gen = keep_tokens(gen, confident_tokens(gen, options.min_confidence, decode), decode, "unsure")
        out.append(unheal(heal, gen))
    return out


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
    budget = options.budget
    if project is not None and project.snippets is not None and options.snippets > 0:
        context = snippet_context(project.snippets.retrieve(ctx.prefix, project.exclude, options.snippets)) + context
        budget = dataclasses.replace(budget, context_share=SNIPPET_CONTEXT_SHARE)
    head = ctx.prefix + ctx.lead
    prompt = build_prompt(head[:len(head) - len(heal)], ctx.suffix, engine.encode, engine.special, budget, context,
                          order=options.fim_order, prefix_start=reuse.prefix_start if reuse is not None else None)
    if reuse is not None:
        reuse.prefix_start = prompt.prefix_start
    stop = make_stop(ctx, options.max_lines if options.multiline else 1)
    n, special = max(options.alternatives, 1), tuple(engine.special)
    # The spares' call finds the prompt pass in the cache: it runs no prompt tokens again.
    mixer = project.mixer(prompt.prefix_ids, prompt.suffix_ids) if project is not None else None
    decode = _prefix_decoder(engine)  # early stop and the show-less stages decode the same prefixes: once each
    run = partial(_generate, engine, prompt.ids, options, healed_stop(heal, engine_stop(ctx, stop)), cancel,
                  reuse.prompt if reuse is not None else PromptCache(), time.monotonic() + options.timeout_ms / 1000,
                  heal=heal, mixer=mixer, decode=decode)
    lazy = n == 1
    gens = _doubtless(run(n if lazy else n + SPARE_BRANCHES), decode, options, heal, mixer)
    if any(gen.stop_reason == "cancelled" for gen in gens):
        return []
    found = finish_best(doc, ctx, gens, stop, n, options.confidence_threshold, special)
    # Spares start from less likely first tokens: when the gate withheld the greedy branch, they would be
    # withheld too, and running them doubled the time of an empty answer.
    withheld = all(g.stop_reason == "unsure" and not g.token_ids for g in gens)
    if lazy and not found and not withheld:
        gens = _doubtless(run(SPARE_BRANCHES, skip=n), decode, options, heal, mixer)
        if any(gen.stop_reason == "cancelled" for gen in gens):
            return []
        found = finish_best(doc, ctx, gens, stop, n, options.confidence_threshold, special)
    return found


def suggest(doc: Document, offset: int, engine: Engine, options: SuggestOptions = SuggestOptions(),
            cancel: CancelToken | None = None, context: str = "", reuse: DocumentReuse | None = None,
            project: ProjectContext | None = None) -> Suggestion | None:
    """The best suggestion at one cursor position, or None."""
    found = suggest_all(doc, offset, engine, options, cancel, context, reuse, project)
    return found[0] if found else None
