"""Training samples: line-aligned chunks, fill-in-the-middle (PSM/SPM) and packed token streams."""
from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from tokenizers import Tokenizer

from lsp_server.prompt_format import PSM, SPM, fim_layout, plain_layout

from .tokenizer import EOS, FIM_MIDDLE, FIM_PREFIX, FIM_SUFFIX


@dataclass(frozen=True)
class FimSpec:
    rate: float = 0.5       # share of chunks turned into FIM samples
    spm_rate: float = 0.5   # among FIM samples, share in suffix-prefix-middle order
    line_rate: float = 0.5  # among FIM samples, share whose middle is a line's rest or a few lines
    body_rate: float = 0.25  # among FIM samples, share whose middle is a function body (signature + docstring
                             # before it): trains the code generation the editor asks for
    chunk_chars: tuple[int, int] = (400, 2400)  # line-aligned chunks of min..max characters (see chunk_range)


def chunk_range(block_size: int) -> tuple[int, int]:
    """Chunk sizes for a training window: 400..2400 characters (~120..700 tokens) up to 512 tokens, the longest
    growing with the window beyond (4,800 at 1024), so that a sample's prefix can fill it as a long prompt does."""
    lo, hi = FimSpec.chunk_chars
    return lo, max(hi, hi * block_size // 512)


def chunk_text(text: str, rng: random.Random, min_chars: int = 400, max_chars: int = 2400) -> list[str]:
    """Split text into consecutive line-aligned chunks of roughly min..max characters."""
    chunks, current, size = [], [], 0
    target = rng.randint(min_chars, max_chars)
    for line in text.splitlines(keepends=True):
        current.append(line)
        size += len(line)
        if size >= target:
            chunks.append("".join(current))
            current, size, target = [], 0, rng.randint(min_chars, max_chars)
    if current:
        chunks.append("".join(current))
    return chunks


def fim_split(text: str, rng: random.Random, line_rate: float = 0.5) -> tuple[str, str, str]:
    """Choose (prefix, middle, suffix) at character level.

    Half the time the middle is a random span (as in Bavarian et al. 2022); otherwise it starts at a
    random character and runs to the end of its line or a few lines further, which is what an editor
    asks for.
    """
    n = len(text)
    if n < 2:
        return text, "", ""
    if rng.random() < line_rate:
        start = rng.randrange(n)
        end = start
        for _ in range(rng.choice((1, 1, 1, 2, 3, 5))):
            nl = text.find("\n", end)
            end = n if nl < 0 else nl + 1
            if end >= n:
                break
        if rng.random() < 0.5 and text[end - 1:end] == "\n":
            end -= 1  # sometimes leave the newline to the suffix, as when the cursor is mid-line
    else:
        start, end = sorted(rng.sample(range(n + 1), 2))
    return text[:start], text[start:end], text[end:]


DEF_LINE = re.compile(r"^([ \t]*)(?:async[ \t]+)?def[ \t]", re.M)
DOCSTRING_START = re.compile(r"[ \t]*[rRbBuU]?(\"\"\"|\'\'\')")


def body_split(text: str, rng: random.Random) -> tuple[str, str, str] | None:
    """(prefix, body, suffix) for a random function in text: the middle is the body after the signature
    and docstring, up to the first line indented no deeper than `def`; None when there is no such body."""
    defs = list(DEF_LINE.finditer(text))
    rng.shuffle(defs)
    for m in defs[:3]:
        indent = len(m.group(1).expandtabs())
        lines = text[m.start():].splitlines(keepends=True)
        i = 0
        while i < len(lines) and not lines[i].rstrip().endswith(":"):  # multi-line signature
            i += 1
        i += 1
        if i < len(lines) and (q := DOCSTRING_START.match(lines[i])):
            quote, j = q.group(1), i
            rest = lines[i][q.end():]
            if quote not in rest:
                j += 1
                while j < len(lines) and quote not in lines[j]:
                    j += 1
            i = j + 1
        j = i
        while j < len(lines) and (not lines[j].strip() or len(lines[j]) - len(lines[j].lstrip()) > indent):
            j += 1
        while j > i and not lines[j - 1].strip():
            j -= 1  # trailing blank lines belong to the suffix
        if j > i:
            start = m.start() + sum(len(x) for x in lines[:i])
            end = start + sum(len(x) for x in lines[i:j])
            return text[:start], text[start:end], text[end:]
    return None


def fim_ids(prefix: list[int], middle: list[int], suffix: list[int], special: dict[str, int],
            spm: bool = False) -> list[int]:
    """Token ids of one FIM sample in the served layout (lsp_server.prompt_format): PSM <pre>P<suf>S<mid>M<eos>,
    SPM <suf>S<pre>P<mid>M<eos>."""
    return fim_layout(prefix, suffix, special, SPM if spm else PSM, middle=middle)


@dataclass
class Sample:
    """One training sample before tokenizing: the indexes of its text pieces in the epoch's batch of pieces
    ((text,) left to right, (prefix, middle, suffix) FIM, () the <eos> that ends a file), its FIM order, and
    the cross-file context placed where the server places it (model.crossfile)."""
    pieces: tuple[int, ...]
    order: str = ""
    context: Sequence[int] = ()


def plan_chunk(chunk: str, rng: random.Random, fim: FimSpec) -> tuple[tuple[str, ...], str]:
    """A chunk's text pieces and FIM order: (chunk,) and "" left to right, else (prefix, middle, suffix)
    and PSM/SPM, FIM with fim.rate."""
    if rng.random() >= fim.rate:
        return (chunk,), ""
    split = body_split(chunk, rng) if rng.random() < fim.body_rate else None
    p, m, s = split or fim_split(chunk, rng, fim.line_rate)
    return (p, m, s), SPM if rng.random() < fim.spm_rate else PSM


def lay_out(samples: list[Sample], pieces: list[str], tok: Tokenizer, ends: list[int] | None = None) -> np.ndarray:
    """The samples' token ids, packed, in the served layout (lsp_server.prompt_format); `ends` gets the offset
    after each file's closing <eos>."""
    encoded = [e.ids for e in tok.encode_batch(pieces, add_special_tokens=False)]
    special = {t: tok.token_to_id(t) for t in (FIM_PREFIX, FIM_SUFFIX, FIM_MIDDLE, EOS)}
    out: list[int] = []
    for sample in samples:
        if not sample.pieces:
            out.append(special[EOS])
            if ends is not None:
                ends.append(len(out))
        elif not sample.order:
            out.extend(plain_layout(encoded[sample.pieces[0]], sample.context))
        else:
            p, m, s = (encoded[i] for i in sample.pieces)
            out.extend(fim_layout(p, s, special, sample.order, sample.context, middle=m))
    dtype = np.uint16 if tok.get_vocab_size() <= 65535 else np.int32
    return np.asarray(out, dtype=dtype)


def add_sample(samples: list[Sample], pieces: list[str], texts: tuple[str, ...], order: str,
               context: Sequence[int] = ()) -> None:
    """Append one sample whose text pieces join the batch to tokenize."""
    samples.append(Sample(tuple(range(len(pieces), len(pieces) + len(texts))), order, context))
    pieces.extend(texts)


def build_stream(texts: list[str], tok: Tokenizer, seed: int, fim: FimSpec = FimSpec()) -> np.ndarray:
    """One epoch as a packed uint16/int32 token stream; files shuffled, chunks FIM'd with fim.rate."""
    rng = random.Random(seed)
    order = list(range(len(texts)))
    rng.shuffle(order)
    pieces: list[str] = []
    samples: list[Sample] = []
    for doc in order:
        for chunk in chunk_text(texts[doc], rng, *fim.chunk_chars):
            add_sample(samples, pieces, *plan_chunk(chunk, rng, fim))
        samples.append(Sample(()))
    return lay_out(samples, pieces, tok)


def plain_stream(texts: list[str], tok: Tokenizer) -> np.ndarray:
    """Files in order, left to right, separated by <eos> (for next-token accuracy)."""
    eos = tok.token_to_id(EOS)
    out: list[int] = []
    for enc in tok.encode_batch(texts, add_special_tokens=False):
        out.extend(enc.ids)
        out.append(eos)
    return np.asarray(out, dtype=np.int32)


def sample_batch(stream: np.ndarray, batch: int, block: int, rng: np.random.Generator):
    """Random windows (x, y) of shape (batch, block) from a packed stream."""
    if len(stream) <= block + 1:
        raise ValueError(f"token stream of {len(stream)} tokens is shorter than one block of {block}")
    starts = rng.integers(0, len(stream) - block - 1, size=batch)
    x = np.stack([stream[s:s + block] for s in starts]).astype(np.int64)
    y = np.stack([stream[s + 1:s + block + 1] for s in starts]).astype(np.int64)
    return x, y


def eval_windows(stream: np.ndarray, block: int, max_windows: int):
    """Consecutive non-overlapping (x, y) windows from the start of a stream, for a stable val loss."""
    n = min(max_windows, (len(stream) - 1) // block)
    for i in range(n):
        s = i * block
        yield (stream[s:s + block].astype(np.int64)[None], stream[s + 1:s + block + 1].astype(np.int64)[None])
