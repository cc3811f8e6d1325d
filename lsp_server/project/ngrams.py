"""An n-gram table over token ids: "after these n tokens, the project wrote ..." in bounded memory.

Built once from token sequences (files), read by many threads. For every order n in 1..max_order and every
position p whose n preceding tokens lie in the same file, the table keeps a 64-bit hash of those n tokens and
p, sorted by hash (stable, so positions stay ascending inside one hash's run). A lookup is one binary search
per order; the next tokens are read from the concatenated token array. Memory: 4 bytes per token for the
tokens plus 12 bytes (hash + position) per token and order, so 52 bytes per token at order 4.

Hand-written rather than a library: the suffix-array and n-gram packages on PyPI (kenlm, pysuffixarray) are
built for text, need a compiler, and none answers "next-token counts after this context, restricted to
positions before p" which quill eval needs to score a file against its own prefix without peeking.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

SEP = -1  # between files in the concatenated tokens: no context spans two files
MASK = (1 << 64) - 1
PRIME = 0x100000001B3  # FNV-1a's 64-bit prime: any odd multiplier spreads token ids over the 64 bits
SALT = 0x9E3779B97F4A7C15
MAX_FANOUT = 4096  # a context seen more often is read from an even sample of its positions


@dataclass(frozen=True)
class Match:
    """Next-token counts after the longest context of one table that was seen."""
    order: int            # tokens of context matched
    ids: np.ndarray       # (K,) distinct next tokens
    counts: np.ndarray    # (K,) how often each followed (float: a sample scales its counts)

    @property
    def total(self) -> float:
        return float(self.counts.sum())


def context_keys(context: Sequence[int], max_order: int) -> list[int]:
    """Hash of the last n tokens of context for n = 1..min(max_order, len(context)) (same as the table's)."""
    keys, h = [], SALT
    for token in reversed(context[-max_order:] if max_order else []):
        h = ((h ^ (int(token) + 1)) * PRIME) & MASK
        keys.append(h)
    return keys


def _position_keys(tokens: np.ndarray, max_order: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per order n: (hashes, positions) of every position whose n preceding tokens are in its file."""
    n_tokens = len(tokens)
    h = np.full(n_tokens, SALT, dtype=np.uint64)
    valid = tokens != SEP  # the predicted token itself must be a real token
    out = []
    with np.errstate(over="ignore"):
        for n in range(1, max_order + 1):
            prev = np.full(n_tokens, SEP, dtype=np.int64)
            prev[n:] = tokens[:-n] if n < n_tokens else prev[n:]
            valid &= prev != SEP
            h = (h ^ (prev + 1).astype(np.uint64)) * np.uint64(PRIME)
            positions = np.flatnonzero(valid).astype(np.int32)
            keys = h[positions]
            order = np.argsort(keys, kind="stable")
            out.append((keys[order], positions[order]))
    return out


class NgramTable:
    """Immutable n-gram counts of some token sequences; `lookup` finds the longest seen context."""

    def __init__(self, sequences: Sequence[Sequence[int]], max_order: int = 4):
        if max_order < 1:
            raise ValueError("max_order must be at least 1")
        self.max_order = max_order
        parts = [np.asarray(s, dtype=np.int32) for s in sequences]
        lengths = np.array([len(p) + 1 for p in parts], dtype=np.int64)
        # starts[i]: where sequence i begins in the concatenation (after its leading SEP)
        self.starts = (np.cumsum(lengths) - lengths + 1).astype(np.int64)
        pieces = []
        for p in parts:
            pieces += [np.array([SEP], dtype=np.int32), p]
        self.tokens = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int32)
        self.orders = _position_keys(self.tokens, max_order) if len(self.tokens) else []

    @property
    def n_tokens(self) -> int:
        return int(len(self.tokens) - len(self.starts))

    @property
    def nbytes(self) -> int:
        return int(self.tokens.nbytes + self.starts.nbytes + sum(k.nbytes + p.nbytes for k, p in self.orders))

    def sequence_of(self, positions: np.ndarray) -> np.ndarray:
        """Index of the sequence each concatenated position belongs to."""
        return np.searchsorted(self.starts, positions, side="right") - 1

    def positions(self, context: Sequence[int], order: int, before: int | None = None) -> np.ndarray:
        """Positions whose `order` preceding tokens equal context's last ones (ascending); with `before`,
        only positions < before (a concatenated position: the table's text before it)."""
        if order < 1 or order > min(self.max_order, len(context)) or not self.orders:
            return np.zeros(0, dtype=np.int32)
        key = np.uint64(context_keys(context, order)[order - 1])
        keys, pos = self.orders[order - 1]
        lo, hi = np.searchsorted(keys, key, side="left"), np.searchsorted(keys, key, side="right")
        found = pos[lo:hi]
        if before is not None:
            found = found[:np.searchsorted(found, before)]
        return found

    def lookup(self, context: Sequence[int], min_order: int = 1, before: int | None = None,
               dead: np.ndarray | None = None) -> Match | None:
        """Counts after the longest suffix of context (order >= min_order) that the table has seen.

        `dead` ((sequences,) bool) leaves out the sequences marked True (files replaced or deleted).
        """
        for order in range(min(self.max_order, len(context)), min_order - 1, -1):
            found = self.positions(context, order, before)
            if dead is not None and len(found) and dead.any():
                found = found[~dead[self.sequence_of(found)]]
            if len(found):
                return self.counts_at(found, order)
        return None

    def counts_at(self, found: np.ndarray, order: int) -> Match:
        scale = 1.0
        if len(found) > MAX_FANOUT:
            step = len(found) / MAX_FANOUT
            scale = step
            found = found[(np.arange(MAX_FANOUT) * step).astype(np.int64)]
        ids, counts = np.unique(self.tokens[found], return_counts=True)
        return Match(order, ids.astype(np.int64), counts.astype(np.float64) * scale)

    def sequence_tokens(self, index: int) -> np.ndarray:
        """The tokens of sequence `index` (a view)."""
        start = int(self.starts[index])
        end = int(self.starts[index + 1]) - 1 if index + 1 < len(self.starts) else len(self.tokens)
        return self.tokens[start:end]
