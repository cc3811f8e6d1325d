"""The one place where a feature's failure degrades to an empty answer, or (strict mode) raises.

Every handler registered with QuillServer.feature or .command runs inside guard(). What escapes it:

- JSON-RPC errors and typed Quill errors (PositionOutOfRange, ModelUnavailable, Cancelled, ...) pass
  through unchanged; protocol.rpc_error turns them into their LSP error codes;
- InputTooComplex (lsp_server.syntax.limits: a position too deep, a line too long, a syntax error too wide)
  becomes the method's empty answer and one log line per document version and reason;
- any other exception is a bug: by default it too becomes the empty answer and one log line (the
  traceback at DEBUG level), so that the editor keeps working; in strict mode (QUILL_STRICT=1 or
  `quill serve --strict`) it is raised, and the client gets an InternalError (-32603) reply.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import os
import traceback
from collections import OrderedDict
from typing import Any, Callable

from lsprotocol import types
from pygls.exceptions import JsonRpcException

from ..errors import InputTooComplex, QuillError

log = logging.getLogger("quill")
STRICT_ENV = "QUILL_STRICT"
_LOGGED_KEYS = 256  # recent (method, document, reason) already logged; bounded, so nothing per document stays


def _no_answer(reason: str) -> dict:
    return {"applied": False, "reason": reason}


EMPTY: dict[str, Callable[[str], Any]] = {
    types.TEXT_DOCUMENT_INLINE_COMPLETION: lambda reason: types.InlineCompletionList(items=[]),
    types.TEXT_DOCUMENT_COMPLETION: lambda reason: types.CompletionList(is_incomplete=False, items=[]),
    "quill.generateDocstring": _no_answer,
    "quill.generateBody": _no_answer,
}  # every other method: null (hover, codeAction, notifications)


def strict_from_env() -> bool:
    """True when QUILL_STRICT is set to 1/true/yes."""
    return os.environ.get(STRICT_ENV, "").strip().lower() in ("1", "true", "yes")


def _where(params: tuple[Any, ...]) -> tuple[str, str]:
    """(document uri, `uri:line:character`) of a request's params, for the log line ('' where unknown)."""
    first = params[0] if params else None
    document = getattr(first, "text_document", None)
    uri = getattr(document, "uri", None) or (first if isinstance(first, str) else None)
    position = getattr(first, "position", None) or getattr(getattr(first, "range", None), "start", None)
    if uri is None:
        return "", "this request"
    return str(uri), f"{uri}:{position.line + 1}:{position.character + 1}" if position is not None else str(uri)


def _origin(exc: BaseException) -> str:
    """`file.py:line in function` where exc was raised."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "?"
    frame = frames[-1]
    return f"{os.path.basename(frame.filename)}:{frame.lineno} in {frame.name}"


class Guard:
    """Degrades or raises the failures of one server's handlers; logs each (method, document, reason) once."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self._logged: OrderedDict[tuple, None] = OrderedDict()

    @property
    def strict(self) -> bool:
        """Strict mode: internal errors raise instead of degrading."""
        return bool(getattr(self.server, "strict", False)) or strict_from_env()

    def degrade(self, method: str, params: tuple[Any, ...], exc: Exception) -> Any:
        """The empty answer for method after exc; raises exc where it must reach the client as an error."""
        if isinstance(exc, JsonRpcException) or (isinstance(exc, QuillError) and not isinstance(exc, InputTooComplex)):
            raise exc
        uri, where = _where(params)
        if isinstance(exc, InputTooComplex):
            reason = str(exc)
            self._log_once((method, uri, "too complex"), f"Quill: {method} gave up at {where}: {reason}; answered "
                                                         "empty (logged once per document)")
        else:
            if self.strict:
                raise exc
            reason = f"internal error {type(exc).__name__}: {exc}"
            log.debug("%s failed", method, exc_info=exc)
            self._log_once((method, uri, _origin(exc)), f"Quill: {method} failed at {where} with {reason} "
                                                        f"({_origin(exc)}); answered empty ({STRICT_ENV}=1 raises)")
        empty = EMPTY.get(method)
        return None if empty is None else empty(reason)

    def _log_once(self, key: tuple, message: str) -> None:
        if key in self._logged:
            return
        self._logged[key] = None
        if len(self._logged) > _LOGGED_KEYS:
            self._logged.popitem(last=False)
        log.warning("%s", message)
        try:
            self.server.window_log_message(types.LogMessageParams(types.MessageType.Warning, message))
        except (RuntimeError, AttributeError) as exc:  # no client connected (in-process use)
            log.debug("log message not sent: %r", exc)

    def wrap(self, method: str, handler: Callable[..., Any]) -> Callable[..., Any]:
        """handler, with its failures going through degrade(); sync stays sync, async stays async."""
        if asyncio.iscoroutinefunction(handler):
            @functools.wraps(handler)
            async def guarded_async(ls, *params):
                try:
                    return await handler(ls, *params)
                except Exception as exc:  # the one place: typed errors re-raised, the rest degraded or raised
                    return self.degrade(method, params, exc)
            return guarded_async

        @functools.wraps(handler)
        def guarded(ls, *params):
            try:
                return handler(ls, *params)
            except Exception as exc:  # the one place: typed errors re-raised, the rest degraded or raised
                return self.degrade(method, params, exc)
        return guarded
