"""Completion items: buffer names (lsp_server.syntax.identifiers) ranked, and extended, by the model.

Pipeline: word_at -> collect_names, plus the names other workspace modules offer there (project_names:
lsp_server.project.symbols) -> one prompt pass ending before the partial word -> score the top candidates'
tokens in one batch (log P(name) + log P(the name ends there)) and complete the model's
most likely next tokens to whole names -> merge, rank, cap.
"""
from __future__ import annotations

import keyword
import weakref
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..inline.prompt import SPM, PromptBudget, build_prompt
from ..inline.typing_state import DocumentReuse
from ..project.mixing import ProjectContext
from ..runtime.cancel import Cancelled, CancelToken
from ..runtime.engine import Bias, Engine, Prefill
from ..runtime.scoring import end_logprob
from ..syntax.documents import Document
from ..syntax.identifiers import Name, WordAt, collect_names, word_at

MAX_NAME_TOKENS = 10  # a proposal that has not ended after this many tokens is dropped (project names run long)
_SCAN = 256          # most likely tokens examined per step when looking for one that fits
TAIL_CHARS = 200     # of the prompt's last line: enough to see how a name merges with the text before it
_masks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
ProjectNames = Callable[[WordAt], list[Name]]  # names other workspace files offer at a word (ProjectSymbols)


@dataclass(frozen=True)
class NameOptions:
    model_ranking: bool = True
    max_items: int = 50
    scored: int = 20    # buffer candidates scored by the model (the best by prior)
    proposals: int = 5  # model next-token branches completed to whole names
    budget: PromptBudget = PromptBudget()


@dataclass(frozen=True)
class RankedName:
    text: str
    kind: str             # a Name kind, or "model" for a name only the model proposed
    group: int
    score: float | None   # log-probability of the name in context; None when the model did not score it
    distance: int = 0


@dataclass(frozen=True)
class NameCompletion:
    word: WordAt
    names: list[RankedName]
    incomplete: bool  # typing on may bring names this list lacks (truncated, or model proposals)


def identifier_mask(engine: Engine) -> np.ndarray:
    """(V,) bool: tokens whose text continues an identifier (starts with a letter, digit or _)."""
    mask = _masks.get(engine)
    if mask is None:
        mask = np.array([bool(t) and (t[0].isalnum() or t[0] == "_") for t in engine.token_texts])
        _masks[engine] = mask
    return mask


def split_lead(before: str) -> tuple[str, str]:
    """(prompt text, lead): one space before the word belongs to the word's first token (` name`)."""
    if before.endswith(" ") and not before.endswith("  ") and before.strip():
        return before[:-1], " "
    return before, ""


def name_token_ids(engine: Engine, tail: str, lead: str, names: list[str]) -> list[list[int]]:
    """Tokens of each name as the model would see them after `tail` (the prompt's last line)."""
    tail_ids = engine.encode(tail)
    joined = engine.encode_batch([tail + lead + name for name in names])
    alone = engine.encode_batch([lead + name for name in names])
    # Where a name merges with the tail into one token, score it on its own tokens instead.
    return [j[len(tail_ids):] if j[:len(tail_ids)] == tail_ids and len(j) > len(tail_ids) else a
            for j, a in zip(joined, alone)]


def _fits(text: str, lead: str, typed: str) -> bool:
    """True when text (lead + name so far) can still become a name starting with typed."""
    if not text.startswith(lead) or len(text) == len(lead):
        return False
    body = text[len(lead):]
    return body.isidentifier() and (body.startswith(typed) or typed.startswith(body))


def _worth_proposing(name: str, typed: str) -> bool:
    """Whole names longer than what was typed; not keywords, not one-letter guesses."""
    return len(name) > max(len(typed), 1) and not keyword.iskeyword(name)


def _best_fitting(logprobs: np.ndarray, texts: list[str], so_far: str, lead: str, typed: str) -> int | None:
    top = np.argpartition(-logprobs, _SCAN)[:_SCAN]
    for token in top[np.argsort(-logprobs[top], kind="stable")]:
        if np.isfinite(logprobs[token]) and _fits(so_far + texts[token], lead, typed):
            return int(token)
    return None


def propose_names(engine: Engine, pre: Prefill, lead: str, typed: str, k: int,
                  cancel: CancelToken | None = None, bias: Bias | None = None) -> dict[str, float]:
    """Complete the k most likely fitting next tokens greedily to whole names: {name: log-probability}.
    With `bias` (the project's n-gram mixer), every step ranks on the mixed distribution."""
    texts, mask = engine.token_texts, identifier_mask(engine)
    start = bias([], pre.logprobs) if bias is not None else pre.logprobs
    first, logprobs = [], start.copy()
    while len(first) < k and (token := _best_fitting(logprobs, texts, "", lead, typed)) is not None:
        first.append(token)
        logprobs[token] = -np.inf
    branches = [[texts[t], float(start[t]), [t]] for t in first]  # text so far, score, tokens
    past = [np.repeat(p, len(branches), axis=0) for p in pre.past]
    found: dict[str, float] = {}
    for _ in range(MAX_NAME_TOKENS):
        if not branches:
            break
        step, past = engine.extend(np.array([[b[2][-1]] for b in branches], dtype=np.int64), past,
                                   cancel or CancelToken())
        keep = []
        for row, (text, score, tokens) in enumerate(branches):
            mixed = bias(tokens, step[row]) if bias is not None else step[row]
            ends = end_logprob(mixed, mask) if len(text) >= len(lead + typed) else -np.inf
            token = _best_fitting(mixed, texts, text, lead, typed)
            if token is not None and float(mixed[token]) > ends:
                branches[row] = [text + texts[token], score + float(mixed[token]), tokens + [token]]
                keep.append(row)
            elif np.isfinite(ends) and _worth_proposing(name := text[len(lead):], typed):
                found[name] = max(found.get(name, -np.inf), score + ends)
        past = [p[keep] for p in past]
        branches = [branches[row] for row in keep]
    return found


@dataclass
class NameRequest:
    """What steers one request's ranking besides the buffer: the project's n-gram counts (mixed into every
    score, as inline decoding does) and the document's state between requests (its previous prompt pass,
    reused where it matches, and prefix window, kept while it fits so that the two passes do match)."""
    project: ProjectContext | None = None
    reuse: DocumentReuse | None = None


def model_scores(doc: Document, word: WordAt, names: list[Name], engine: Engine, options: NameOptions,
                 cancel: CancelToken | None = None, context: str = "",
                 request: NameRequest = NameRequest()) -> tuple[dict[str, float], dict[str, float]]:
    """({buffer name: score}, {proposed name: score}) from one shared prompt pass; raises Cancelled."""
    before, lead = split_lead(doc.text[:word.start])
    reuse = request.reuse
    prompt = build_prompt(before, doc.text[word.end:], engine.encode, engine.special, options.budget, context,
                          order=SPM, prefix_start=reuse.names_prefix_start if reuse is not None else None)
    pre = engine.prefill(prompt.ids, cancel, reserve=MAX_NAME_TOKENS + 2,
                         reuse=reuse.names_prompt.last if reuse is not None else None)
    if reuse is not None:
        reuse.names_prompt.last, reuse.names_prefix_start = pre, prompt.prefix_start
    mixer = request.project.mixer(prompt.prefix_ids, prompt.suffix_ids) if request.project is not None else None
    scores: dict[str, float] = {}
    if names:
        tail = before[before.rfind("\n") + 1:][-TAIL_CHARS:]
        seqs = name_token_ids(engine, tail, lead, [n.text for n in names])
        scores = dict(zip((n.text for n in names), engine.score(pre, seqs, identifier_mask(engine), cancel, mixer)))
    proposed = propose_names(engine, pre, lead, word.typed, options.proposals, cancel, mixer) \
        if options.proposals else {}
    return scores, proposed


def merge(word: WordAt, names: list[Name], scores: dict[str, float], proposed: dict[str, float]) -> list[RankedName]:
    """Buffer names with their scores, plus proposals the buffer lacks; scored first, best first per group."""
    ranked = {n.text: RankedName(n.text, n.kind, n.group, scores.get(n.text), n.distance) for n in names}
    for text, score in proposed.items():
        known = ranked.get(text)
        if known is None:
            ranked[text] = RankedName(text, "model", 1 if word.attribute else 0, score, 1 << 30)
        elif known.score is None or score > known.score:
            ranked[text] = RankedName(text, known.kind, known.group, score, known.distance)
    return sorted(ranked.values(), key=lambda r: (r.group, r.score is None, -(r.score or 0.0), r.distance, r.text))


def with_project(names: list[Name], project: list[Name]) -> list[Name]:
    """Buffer names plus the project names the buffer lacks (the buffer's entry wins), best prior first."""
    known = {n.text for n in names}
    extra = [n for n in project if n.text not in known]
    return sorted(names + extra, key=lambda n: (n.group, n.distance, n.text)) if extra else names


def complete_names(doc: Document, offset: int, engine: Engine | None, options: NameOptions = NameOptions(),
                   cancel: CancelToken | None = None, context: str = "",
                   project_names: ProjectNames | None = None,
                   request: NameRequest = NameRequest()) -> NameCompletion | None:
    """Completion names at offset, ranked; None when offset is not an identifier/attribute position."""
    word = word_at(doc, offset)
    if word is None:
        return None
    names = collect_names(doc, word)
    if project_names is not None:
        names = with_project(names, project_names(word))
    scores: dict[str, float] = {}
    proposed: dict[str, float] = {}
    use_model = engine is not None and options.model_ranking
    if use_model:
        try:
            scores, proposed = model_scores(doc, word, names[:options.scored], engine, options, cancel, context,
                                            request)
        except Cancelled:
            return None
    ranked = merge(word, names, scores, proposed)
    incomplete = len(ranked) > options.max_items or (use_model and options.proposals > 0)
    return NameCompletion(word, ranked[:options.max_items], incomplete)
