"""This session's inline-suggestion statistics: shown, accepted, partially accepted, and latency.

Kept in memory only, never written to disk or sent anywhere; a new server process starts from zero. One
suggestion is one non-empty answer to textDocument/inlineCompletion that the model produced: its alternatives
share its id, and typing through it (answered from the suggestion, without the model) keeps that id, so it
is counted once however many keystrokes show its rest. The client reports acceptance with the item's command
(`quill.accepted [id]`) and a partial acceptance with `quill.accepted [id, length]`.
"""
from __future__ import annotations

import itertools
import math
from collections import OrderedDict
from dataclasses import dataclass

MAX_TRACKED = 1000  # suggestions whose acceptance can still be reported; older ids are forgotten


@dataclass
class _Tracked:
    accepted: bool = False
    partial: bool = False


@dataclass
class AcceptanceStats:
    """Counters for `quill.stats`, and the id of the suggestion each document shows now (for typing through)."""
    requests: int = 0  # inline requests answered (with or without a suggestion)
    shown: int = 0
    accepted: int = 0
    partially_accepted: int = 0  # suggestions partly accepted and never accepted whole
    partial_chars: int = 0  # the lengths the client reported for partial acceptances, summed
    latency_ms_total: float = 0.0  # request arrival to answer, over the shown suggestions
    max_tracked: int = MAX_TRACKED

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        self._tracked: OrderedDict[str, _Tracked] = OrderedDict()
        self._current: dict[str, str] = {}  # uri -> id of the suggestion it shows

    def answered(self) -> None:
        """One inline request answered."""
        self.requests += 1

    def show(self, uri: str, latency_ms: float) -> str:
        """A new suggestion shown in uri, latency_ms after its request arrived; returns its id."""
        sid = f"q{next(self._ids)}"
        self.shown += 1
        self.latency_ms_total += latency_ms
        self._tracked[sid] = _Tracked()
        while len(self._tracked) > self.max_tracked:
            self._tracked.popitem(last=False)
        self._current[uri] = sid
        return sid

    def current(self, uri: str) -> str | None:
        """The id of the suggestion uri shows now (its rest is what typing through answers)."""
        return self._current.get(uri)

    def hide(self, uri: str) -> None:
        """uri shows no suggestion any more (an empty answer)."""
        self._current.pop(uri, None)

    def accept(self, sid: str, length: int | None = None) -> bool:
        """The client accepted suggestion sid, whole (length None) or its first `length` characters.

        Counts each suggestion once: whole acceptance wins over partial. False for an unknown or forgotten id."""
        tracked = self._tracked.get(sid)
        if tracked is None:
            return False
        if length is None:
            if not tracked.accepted:
                tracked.accepted = True
                self.accepted += 1
                if tracked.partial:
                    self.partially_accepted -= 1
            return True
        self.partial_chars += length
        if not tracked.accepted and not tracked.partial:
            tracked.partial = True
            self.partially_accepted += 1
        return True

    def forget(self, uri: str) -> None:
        """A closed document shows nothing; the counters keep what it contributed."""
        self._current.pop(uri, None)

    def documents(self) -> int:
        return len(self._current)

    def to_json(self) -> dict:
        """The `quill.stats` result."""
        mean = self.latency_ms_total / self.shown if self.shown else None
        return {"requests": self.requests, "shown": self.shown, "accepted": self.accepted,
                "partially_accepted": self.partially_accepted, "partial_chars": self.partial_chars,
                "acceptance_rate": self.accepted / self.shown if self.shown else None,
                "mean_latency_ms": round(mean, 1) if mean is not None and math.isfinite(mean) else None}
