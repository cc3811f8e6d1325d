"""Everything the server keeps per document besides its text, cleared by one forget().

A document's session is: when it was last edited (cross-file context puts recent files first), its outline
(lsp_server.inline.context.OutlineCache), its reuse state (the previous prompt pass and the suggestions shown:
lsp_server.inline.typing_state.ReuseStore), the id of the suggestion it shows (lsp_server.server.acceptance, which
also keeps the session's acceptance counters), and the cancel tokens of its requests in flight. Closing a
document cancels its requests and forgets all of it; nothing else holds per-document state.
"""
from __future__ import annotations

import itertools
import threading
from typing import Callable

from ..inline.context import OutlineCache
from ..inline.typing_state import ReuseStore
from ..runtime.cancel import CancelToken
from .acceptance import AcceptanceStats


class DocumentSessions:
    """Per-document state of one server; thread-safe (the event loop and the inference thread use it)."""

    def __init__(self, is_open: Callable[[str], bool]) -> None:
        """is_open(uri): whether the client still has the document open (a late answer stores nothing)."""
        self.outlines = OutlineCache(is_open=is_open)
        self.reuse = ReuseStore(is_open=is_open)
        self.acceptance = AcceptanceStats()
        self._lock = threading.Lock()
        self._inflight: dict[str, set[CancelToken]] = {}
        self._latest: dict[tuple[str, str], CancelToken] = {}
        self._edits = itertools.count()
        self._edited: dict[str, int] = {}  # uri -> edit counter value: larger is more recent

    def touch(self, uri: str) -> None:
        """Record an open or edit of uri (cross-file context puts recently edited files first)."""
        with self._lock:
            self._edited[uri] = next(self._edits)

    def recent(self) -> list[str]:
        """Open or edited documents, most recently edited first."""
        with self._lock:
            return sorted(self._edited, key=self._edited.__getitem__, reverse=True)

    def start(self, uri: str, kind: str) -> CancelToken:
        """A token for a new request of `kind` on uri; the previous request of that kind is cancelled."""
        token = CancelToken()
        with self._lock:
            previous = self._latest.get((uri, kind))
            self._latest[(uri, kind)] = token
            self._inflight.setdefault(uri, set()).add(token)
        if previous is not None:
            previous.cancel()
        return token

    def finish(self, uri: str, kind: str, token: CancelToken) -> None:
        """Forget a finished request's token."""
        with self._lock:
            tokens = self._inflight.get(uri)
            if tokens is not None:
                tokens.discard(token)
                if not tokens:
                    del self._inflight[uri]
            if self._latest.get((uri, kind)) is token:
                del self._latest[(uri, kind)]

    def cancel(self, uri: str) -> None:
        """A newer edit makes every in-flight answer for this document obsolete."""
        with self._lock:
            tokens = list(self._inflight.get(uri, ()))
        for token in tokens:
            token.cancel()

    def forget(self, uri: str) -> None:
        """A closed document: its requests are cancelled and nothing of it is kept."""
        self.cancel(uri)
        with self._lock:
            self._edited.pop(uri, None)
        self.outlines.forget(uri)
        self.reuse.forget(uri)
        self.acceptance.forget(uri)

    def sizes(self) -> dict[str, int]:
        """Sizes of the per-document tables (closing every document must empty them all)."""
        with self._lock:
            inflight, latest, edited = len(self._inflight), len(self._latest), len(self._edited)
        return {"inflight": inflight, "latest": latest, "edited": edited, "outlines": len(self.outlines),
                "reuse": len(self.reuse), "suggestion_ids": self.acceptance.documents()}
