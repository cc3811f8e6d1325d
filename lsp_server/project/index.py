"""The project index: every indexed file's tokens and n-gram tables over them, updated file by file.

Readers (decoding steps, completion items) never wait for a writer: they read one immutable Snapshot, and
a writer (the index thread) builds the next one and swaps the reference. A snapshot is a large `base` table
built rarely, a small `delta` table of the files changed since, and a `dead` mask over base's files that
were changed or deleted. Every update rebuilds only the delta (cheap while small); when the delta or the dead
part outgrows `rebuild_share` of the base, everything is rebuilt into a new base. So a lookup always equals
one on a table rebuilt from the current texts (tests/lsp_server/project/test_index.py checks that).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable, Sequence

import numpy as np

from .ngrams import Match, NgramTable

EncodeBatch = Callable[[list[str]], list[list[int]]]
REBUILD_MIN_TOKENS = 20_000  # below this a full rebuild costs a few ms: no delta needed


@dataclass(frozen=True)
class IndexLimits:
    max_order: int = 6
    max_tokens: int = 1_500_000  # about 115 MB at order 6 (76 bytes a token); files beyond it are refused
    rebuild_share: float = 0.25


@dataclass(frozen=True)
class Snapshot:
    base: NgramTable
    base_keys: tuple[str, ...]
    dead: np.ndarray  # (len(base_keys),) bool
    delta: NgramTable
    delta_keys: tuple[str, ...]

    @property
    def nbytes(self) -> int:
        return self.base.nbytes + self.delta.nbytes + self.dead.nbytes

    @cached_property
    def base_index(self) -> dict[str, int]:
        """Key -> its sequence in base (built at the first lookup that excludes a key)."""
        return {key: i for i, key in enumerate(self.base_keys)}

    @cached_property
    def delta_index(self) -> dict[str, int]:
        return {key: i for i, key in enumerate(self.delta_keys)}


def merge_matches(parts: list[tuple[Match, float]]) -> Match | None:
    """One Match from weighted Matches of the same order (counts of equal ids added)."""
    parts = [(m, w) for m, w in parts if m is not None and len(m.ids)]
    if not parts:
        return None
    if len(parts) == 1 and parts[0][1] == 1.0:
        return parts[0][0]
    ids = np.concatenate([m.ids for m, _ in parts])
    counts = np.concatenate([m.counts * w for m, w in parts])
    unique, inverse = np.unique(ids, return_inverse=True)
    return Match(parts[0][0].order, unique, np.bincount(inverse, weights=counts))


@dataclass
class IndexStats:
    files: int = 0
    tokens: int = 0
    refused: int = 0  # files left out by max_tokens
    rebuilds: int = 0
    messages: list[str] = field(default_factory=list)


class ProjectIndex:
    """Token n-grams of a set of files keyed by name (a URI); update/remove from one writer thread at a time."""

    def __init__(self, encode_batch: EncodeBatch, limits: IndexLimits = IndexLimits()):
        self.encode_batch = encode_batch
        self.limits = limits
        self._tokens: dict[str, np.ndarray] = {}
        self._write = threading.Lock()
        self.stats = IndexStats()
        empty = NgramTable([], limits.max_order)
        self.snapshot = Snapshot(empty, (), np.zeros(0, dtype=bool), empty, ())

    # --- writing -------------------------------------------------------------------------------------------

    def update(self, items: Sequence[tuple[str, str]]) -> None:
        """Index these (key, text) pairs, replacing earlier texts of the same keys."""
        if not items:
            return
        encoded = self.encode_batch([text for _, text in items])
        with self._write:
            for (key, _), ids in zip(items, encoded):
                old = self._tokens.pop(key, None)
                used = self.stats.tokens - (len(old) if old is not None else 0)
                if used + len(ids) > self.limits.max_tokens:
                    self.stats.tokens = used
                    self.stats.refused += 1
                    if self.stats.refused == 1:
                        self.stats.messages.append(
                            f"project index is full ({self.limits.max_tokens} tokens): further files are left out")
                    continue
                self._tokens[key] = np.asarray(ids, dtype=np.int32)
                self.stats.tokens = used + len(ids)
            self._publish(changed={key for key, _ in items})

    def remove(self, keys: Sequence[str]) -> None:
        """Forget these keys (deleted files, closed documents whose file is gone)."""
        with self._write:
            gone = {k for k in keys if k in self._tokens}
            for key in gone:
                self.stats.tokens -= len(self._tokens.pop(key))
            if gone:
                self._publish(changed=gone)

    def clear(self) -> None:
        with self._write:
            self._tokens.clear()
            self.stats.tokens = 0
            self._publish(changed=set(), rebuild=True)

    def _publish(self, changed: set[str], rebuild: bool = False) -> None:
        """Build and swap in the next snapshot (caller holds the write lock)."""
        snap = self.snapshot
        order = self.limits.max_order
        dead = snap.dead.copy()
        for key in changed:
            if key in snap.base_index:
                dead[snap.base_index[key]] = True
        delta_keys = tuple(sorted((set(snap.delta_keys) | changed) & self._tokens.keys()))
        delta_tokens = sum(len(self._tokens[k]) for k in delta_keys)
        dead_tokens = int(sum(len(snap.base.sequence_tokens(i)) for i in np.flatnonzero(dead)))
        limit = max(REBUILD_MIN_TOKENS, self.limits.rebuild_share * snap.base.n_tokens)
        if rebuild or delta_tokens > limit or dead_tokens > limit:
            keys = tuple(sorted(self._tokens))
            base = NgramTable([self._tokens[k] for k in keys], order)
            empty = NgramTable([], order)
            self.snapshot = Snapshot(base, keys, np.zeros(len(keys), dtype=bool), empty, ())
            self.stats.rebuilds += 1
        else:
            delta = NgramTable([self._tokens[k] for k in delta_keys], order)
            self.snapshot = Snapshot(snap.base, snap.base_keys, dead, delta, delta_keys)
        self.stats.files = len(self._tokens)

    # --- reading -------------------------------------------------------------------------------------------

    def keys(self) -> set[str]:
        return set(self._tokens)

    def tokens_of(self, key: str) -> np.ndarray | None:
        return self._tokens.get(key)

    def matches(self, context: Sequence[int], order: int, snap: Snapshot | None = None,
                exclude: str | None = None) -> list[Match]:
        """Counts after exactly `order` tokens of context, one Match per table that saw it; `exclude` leaves
        one key out (quill eval: the scored file)."""
        snap = snap or self.snapshot
        found = []
        for table, where, dead in ((snap.base, snap.base_index, snap.dead), (snap.delta, snap.delta_index, None)):
            positions = table.positions(context, order)
            skip = where.get(exclude) if exclude is not None else None
            if len(positions) and (skip is not None or (dead is not None and dead.any())):
                sequences = table.sequence_of(positions)
                keep = sequences != skip if skip is not None else np.ones(len(positions), dtype=bool)
                if dead is not None:
                    keep &= ~dead[sequences]
                positions = positions[keep]
            if len(positions):
                found.append(table.counts_at(positions, order))
        return found

    def lookup(self, context: Sequence[int], min_order: int = 1, exclude: str | None = None) -> Match | None:
        """Counts after the longest suffix of context that any indexed file has (None if none)."""
        snap = self.snapshot
        for order in range(min(self.limits.max_order, len(context)), min_order - 1, -1):
            found = self.matches(context, order, snap, exclude)
            if found:
                return merge_matches([(m, 1.0) for m in found])
        return None

    @property
    def nbytes(self) -> int:
        return self.snapshot.nbytes
