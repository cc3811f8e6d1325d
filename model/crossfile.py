"""Cross-file training samples (issue 15): a chunk of a file with windows of the other files of its package
before its prefix, as repository-level pretraining does, so that the model learns to copy from them.

Everything that decides what the model sees is the server's own code: the windows are retrieved with the
server's SnippetIndex (the package standing for the workspace, the target file excluded) queried with
exactly what the server queries at that cursor (the lines above the FIM cut; above a left-to-right chunk's
end), rendered with its snippet_context, cut to its context budget (fit_context, context_budget with the
snippet share) and placed by the shared layout (lsp_server.prompt_format): inside the prefix segment before
the prefix, before a left-to-right chunk. A share 1 - rate of the chunks stay today's plain samples.
"""
from __future__ import annotations

import random
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable

import numpy as np
from tokenizers import Tokenizer

from lsp_server.inline.context import snippet_context
from lsp_server.inline.pipeline import SNIPPET_CONTEXT_SHARE
from lsp_server.inline.prompt import (
    CHARS_PER_TOKEN_BOUND,
    PromptBudget,
    context_budget,
    fit_context,
)
from lsp_server.project.snippets import QUERY_LINES, SnippetIndex

from .corpus import package_of
from .data import (
    FimSpec,
    Sample,
    add_sample,
    build_stream,
    chunk_text,
    lay_out,
    plan_chunk,
)

Encode = Callable[[str], list[int]]
SERVED_SUFFIX_TOKENS = PromptBudget.suffix_tokens  # the served suffix, which the context budget leaves room for
VAL_CHARS_PER_TOKEN = 6  # code is ~3.4 characters a token: val files of this many characters per token are plenty


@dataclass(frozen=True)
class CrossFileSpec:
    rate: float = 0.5  # share of chunks given windows of other files of their package
    snippets: tuple[int, ...] = (2, 4, 8)  # windows retrieved per sample (the server's inline.snippets), drawn
    # Prompt budgets (prefix + suffix tokens) the context is sized for, drawn per sample: the server's 256 + 64
    # and longer prompts, so that the model sees as much context as a long prompt gives it.
    prompt_tokens: tuple[int, ...] = (320, 576, 1088)


@dataclass
class StreamStats:
    """What one epoch's cross-file stream holds (logged at the start of training)."""
    chunks: int = 0
    drawn: int = 0  # chunks drawn for cross-file context (their share follows the rate)
    with_context: int = 0  # of those, chunks for which the package had a matching window
    context_tokens: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        share = self.with_context / max(self.chunks, 1)
        return (f"cross-file: {self.drawn:,} of {self.chunks:,} chunks drawn, {self.with_context:,} with context "
                f"({share:.0%}), {self.context_tokens:,} context tokens, built in {self.seconds:.0f} s")


def group_by_package(records: list[dict]) -> dict[str, list[dict]]:
    """Records ({"path", "text"}) by package (model.corpus.package_of), in corpus order."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        groups[package_of(record["path"])].append(record)
    return dict(groups)


def cursor_prefix(text: str, cut: int) -> str:
    """The end of text[:cut] that the server's snippet query reads (query_text: the QUERY_LINES whole lines
    above the cursor's line), without copying the whole file's prefix for every chunk."""
    start = text.rfind("\n", 0, cut) + 1  # the cursor's line
    for _ in range(QUERY_LINES):
        if start == 0:
            break
        start = text.rfind("\n", 0, start - 1) + 1
    return text[start:cut]


def memo_encode(tok: Tokenizer) -> Encode:
    """tok's encoding, memoized: fit_context encodes line by line, and a package's windows repeat."""
    seen: dict[str, list[int]] = {}

    def encode(text: str) -> list[int]:
        ids = seen.get(text)
        if ids is None:
            ids = seen[text] = tok.encode(text, add_special_tokens=False).ids
        return ids
    return encode


def draw_budget(rng: random.Random, spec: CrossFileSpec) -> PromptBudget:
    """A served prompt budget with the snippet share of context (lsp_server.inline.pipeline)."""
    total = rng.choice(spec.prompt_tokens)
    return PromptBudget(total - SERVED_SUFFIX_TOKENS, SERVED_SUFFIX_TOKENS, SNIPPET_CONTEXT_SHARE)


def chunk_context(index: SnippetIndex, key: str, text: str, cut: int, suffix: str, rng: random.Random,
                  spec: CrossFileSpec, encode: Encode) -> list[int]:
    """Context ids for a cursor at text[cut] of file `key`, as the server builds them there (suffix: the text
    the prompt keeps after the cursor; "" for a left-to-right prompt)."""
    k, budget = rng.choice(spec.snippets), draw_budget(rng, spec)
    found = index.retrieve(cursor_prefix(text, cut), exclude=key, k=k)
    if not found:
        return []
    suffix_ids = encode(suffix[:budget.suffix_tokens * CHARS_PER_TOKEN_BOUND])[:budget.suffix_tokens]
    return fit_context(snippet_context(found), encode, context_budget(budget, len(suffix_ids)))


def plan_package(files: list[dict], neighbours: list[dict], rng: random.Random, xrng: random.Random, fim: FimSpec,
                 spec: CrossFileSpec, encode: Encode, stats: StreamStats) -> tuple[list[Sample], list[str]]:
    """The samples of one package's files (in the given order) and their text pieces; `neighbours` are more
    files of the package, indexed for retrieval but not sampled.

    rng draws what build_stream draws (chunks, FIM splits); xrng the cross-file choices.
    """
    index = SnippetIndex()
    workspace = files + neighbours
    index.update([(r["path"], r["text"]) for r in workspace] if len(workspace) > 1 else [])
    samples: list[Sample] = []
    pieces: list[str] = []
    for record in files:
        key, text, start = record["path"], record["text"], 0
        for chunk in chunk_text(text, rng, *fim.chunk_chars):
            texts, order = plan_chunk(chunk, rng, fim)
            context: list[int] = []
            stats.chunks += 1
            if xrng.random() < spec.rate:
                stats.drawn += 1
                cut = start + len(texts[0]) if order else start + len(chunk)
                context = chunk_context(index, key, text, cut, texts[2] if order else "", xrng, spec, encode)
                stats.with_context += bool(context)
                stats.context_tokens += len(context)
            add_sample(samples, pieces, texts, order, context)
            start += len(chunk)
        samples.append(Sample(()))
    return samples, pieces


def build_crossfile_stream(records: list[dict], tok: Tokenizer, seed: int, fim: FimSpec = FimSpec(),
                           spec: CrossFileSpec = CrossFileSpec(), stats: StreamStats | None = None,
                           neighbours: list[dict] = (), interleave: bool = False) -> np.ndarray:
    """One epoch as a packed token stream: packages shuffled, each package's files shuffled and kept together
    (one index at a time; a window then reads on within a project; `interleave` shuffles the files across
    packages instead), chunks as in build_stream, a share spec.rate of them with windows of the package's
    other files (`records` and `neighbours`) before their prefix."""
    stats = stats if stats is not None else StreamStats()
    began = time.monotonic()
    rng, xrng = random.Random(seed), random.Random(seed * 7919 + 1)
    groups, near = group_by_package(records), group_by_package(list(neighbours))
    names = sorted(groups)
    rng.shuffle(names)
    parts: list[np.ndarray] = []
    for name in names:
        files = list(groups[name])
        rng.shuffle(files)
        samples, pieces = plan_package(files, near.get(name, []), rng, xrng, fim, spec, memo_encode(tok), stats)
        ends: list[int] = []
        stream = lay_out(samples, pieces, tok, ends)
        parts.extend(np.split(stream, ends[:-1]) if interleave else [stream])
    if interleave:
        rng.shuffle(parts)
    stats.seconds = time.monotonic() - began
    dtype = np.uint16 if tok.get_vocab_size() <= 65535 else np.int32
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)


def training_stream(records: list[dict], tok: Tokenizer, seed: int, fim: FimSpec, spec: CrossFileSpec,
                    log: Callable[[str], None] = print) -> np.ndarray:
    """One epoch's stream: build_stream's plain samples when spec.rate is 0, else with cross-file samples."""
    if spec.rate <= 0:
        return build_stream([r["text"] for r in records], tok, seed, fim)
    stats = StreamStats()
    stream = build_crossfile_stream(records, tok, seed, fim, spec, stats)
    log(stats.line())
    return stream


def validation_stream(records: list[dict], train: list[dict], tok: Tokenizer, fim: FimSpec, spec: CrossFileSpec,
                      tokens: int) -> np.ndarray:
    """The val stream (seed 0), whose start the val loss reads: with cross-file samples, files interleaved across
    packages, from enough val files for `tokens` tokens, with their packages' train files as the rest of the
    workspace (retrieved from, never sampled)."""
    if spec.rate <= 0:
        return build_stream([r["text"] for r in records], tok, 0, fim)
    chosen, size = [], 0
    for record in random.Random(0).sample(records, len(records)):
        if size >= tokens * VAL_CHARS_PER_TOKEN:
            break
        chosen.append(record)
        size += len(record["text"])
    packages = {package_of(r["path"]) for r in chosen}
    neighbours = [r for r in train if package_of(r["path"]) in packages]
    return build_crossfile_stream(chosen, tok, 0, fim, spec, neighbours=neighbours, interleave=True)
