"""workspace/executeCommand quill.accepted and quill.stats: local acceptance statistics of inline suggestions.

Every inline item carries the command `quill.accepted` with its suggestion's id (lsp_server.features.inline);
the client runs it when the user accepts the suggestion. A client that knows of a partial acceptance (VS Code's
handleDidPartiallyAcceptCompletionItem) sends the accepted length too:

    quill.accepted [id]              -> {"recorded": true}   the whole suggestion was accepted
    quill.accepted [id, length]      -> {"recorded": true}   its first `length` characters were accepted
    quill.accepted [{"id": id, "length": length}]             the same, as one object (length optional)
    quill.stats []                   -> {"requests", "shown", "accepted", "partially_accepted", "partial_chars",
                                         "acceptance_rate", "mean_latency_ms"}

`recorded` is false (with a `reason`) for an id this session does not know or no longer keeps. The counts live in
this process's memory only (lsp_server.server.acceptance); nothing is written or sent anywhere.
"""
from __future__ import annotations

from typing import Any

from pygls.exceptions import JsonRpcInvalidParams

from ..server.language_server import QuillServer

ACCEPTED, STATS = "quill.accepted", "quill.stats"
USAGE = "expected arguments [id], [id, length] or [{id, length?}]"


def parse_acceptance(args: tuple[Any, ...]) -> tuple[str, int | None]:
    """(suggestion id, accepted length or None for the whole) from quill.accepted's arguments."""
    if len(args) == 1 and isinstance(args[0], dict):
        sid, length = args[0].get("id"), args[0].get("length")
    elif len(args) in (1, 2):
        sid, length = args[0], args[1] if len(args) == 2 else None
    else:
        raise JsonRpcInvalidParams(message=f"{ACCEPTED}: got {len(args)} arguments; {USAGE}")
    if not isinstance(sid, str) or not sid:
        raise JsonRpcInvalidParams(message=f"{ACCEPTED}: the id must be a non-empty string, got {sid!r:.80}; {USAGE}")
    if length is not None and (not isinstance(length, int) or isinstance(length, bool) or length < 0):
        raise JsonRpcInvalidParams(message=f"{ACCEPTED}: the length must be a non-negative integer, "
                                           f"got {length!r:.80}; {USAGE}")
    return sid, length


def accepted(ls: QuillServer, *args) -> dict:
    sid, length = parse_acceptance(args)
    if ls.acceptance.accept(sid, length):
        return {"recorded": True}
    return {"recorded": False, "reason": f"unknown suggestion id {sid!r} (another session's, or too old)"}


def stats(ls: QuillServer, *args) -> dict:
    """This session's acceptance statistics (arguments are ignored)."""
    return ls.acceptance.to_json()


def register(server: QuillServer) -> None:
    server.command(ACCEPTED)(accepted)
    server.command(STATS)(stats)
