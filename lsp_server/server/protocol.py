"""JSON-RPC hardening of pygls's LanguageServerProtocol: exactly one reply per request.

pygls 2.1 leaves gaps that this class closes:

- a request whose params fail to deserialize gets a pop-up but no reply: it now gets -32602 (and cattrs no
  longer coerces wrong types: "1" is not a line number);
- a request before `initialize` gets -32603 (or a handler's answer): it now gets -32002, and
  notifications before `initialize` are dropped (except `exit`), as LSP says;
- a request after `shutdown` gets no reply at all: it now gets -32600;
- a message without `"jsonrpc": "2.0"` that carries an id gets no reply: it now gets -32600;
- a body that is not JSON gets a pop-up: it now gets -32700 with `"id": null`;
- a result that cannot be serialized is logged and never answered: it now gets -32603;
- a client reply to our request that cannot be read leaves whoever awaits it waiting forever;
- a notification run by a generator or async handler leaves its future in `_request_futures` forever;
- `workspace/executeCommand` runs the command as a detached task that `$/cancelRequest` cannot stop.

Exceptions escaping a request handler become JSON-RPC errors in `rpc_error`, the one place that does so.
"""
from __future__ import annotations

import asyncio
import inspect
import json
import logging
from concurrent.futures import Future
from typing import Any, Callable

import attrs
from cattrs import transform_error
from cattrs.errors import BaseValidationError
from cattrs.v import format_exception
from lsprotocol import types
from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInternalError,
    JsonRpcInvalidParams,
    JsonRpcInvalidRequest,
    JsonRpcMethodNotFound,
    JsonRpcRequestCancelled,
    JsonRpcServerNotInitialized,
)
from pygls.feature_manager import is_thread_function
from pygls.protocol.language_server import (
    LanguageServerProtocol,
    _prepare_command_arguments,
    lsp_method,
)

from ..errors import DocumentNotOpen, ModelUnavailable, PositionOutOfRange, QuillError
from ..runtime.cancel import Cancelled

log = logging.getLogger("quill")


class JsonRpcRequestFailed(JsonRpcException):
    """LSP RequestFailed: the request was valid but the server could not answer it."""

    CODE = -32803
    MESSAGE = "Request Failed"


class Malformed:
    """A message that could not be deserialized: a request, a notification or a response to us."""

    def __init__(self, data: dict, error: JsonRpcException) -> None:
        self.method = data.get("method")
        self.is_request = "method" in data and "id" in data
        self.is_response = "method" not in data and "id" in data
        self.msg_id = _valid_id(data.get("id"))
        self.error = error


def _valid_id(msg_id: Any) -> str | int | None:
    """msg_id when JSON-RPC allows it as an id (a string or an integer), else None (a reply then says null)."""
    return msg_id if isinstance(msg_id, (str, int)) and not isinstance(msg_id, bool) else None


def _describe(exc: JsonRpcException) -> str:
    """What was wrong with a message, e.g. `invalid value for type, expected int @ $.params.position.line`."""
    cause = exc.__cause__
    if isinstance(cause, BaseValidationError):
        return "; ".join(transform_error(cause, path="$", format_exception=_format_cause))
    return str(cause or exc)


def _format_cause(exc: BaseException, type_: type | None) -> str:
    # lsprotocol's validators raise ValueError with the useful text ("line should be in range ...").
    return str(exc) if type(exc) is ValueError else format_exception(exc, type_)


def rpc_error(exc: BaseException) -> JsonRpcException:
    """The JSON-RPC error for an exception that escaped a request handler (typed errors first)."""
    if isinstance(exc, JsonRpcException):
        return exc
    if isinstance(exc, (PositionOutOfRange, DocumentNotOpen)):
        return JsonRpcInvalidParams(message=str(exc))
    if isinstance(exc, Cancelled):
        return JsonRpcRequestCancelled(message=str(exc))
    if isinstance(exc, ModelUnavailable):
        return JsonRpcRequestFailed(message=f"the completion model is unavailable: {exc}")
    if isinstance(exc, QuillError):  # raised on purpose: the request was valid, the server cannot answer it
        return JsonRpcRequestFailed(message=str(exc))
    log.error("internal error in a request handler", exc_info=exc)
    return JsonRpcInternalError.of((type(exc), exc, exc.__traceback__))


def _strict(kind: type, accept: Callable[[Any], bool]) -> Callable[[Any, type], Any]:
    def structure(value: Any, _type: type) -> Any:
        if not accept(value):
            raise TypeError(f"expected {kind.__name__}, got {type(value).__name__} {value!r:.40}")
        return kind(value)
    return structure


# cattrs coerces by default ("1" -> 1, 1.5 -> 1, 7 -> "7", "no" -> True): a wrong type must be invalid params.
STRICT_HOOKS = {
    int: _strict(int, lambda v: (isinstance(v, int) and not isinstance(v, bool))
                 or (isinstance(v, float) and v.is_integer())),
    float: _strict(float, lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)),
    str: _strict(str, lambda v: isinstance(v, str)),
    bool: _strict(bool, lambda v: isinstance(v, bool)),
}


class ReliableProtocol(LanguageServerProtocol):
    """LanguageServerProtocol that answers every request exactly once and follows the LSP lifecycle."""

    def __init__(self, server: Any, converter: Any) -> None:
        for kind, hook in STRICT_HOOKS.items():
            converter.register_structure_hook(kind, hook)
        super().__init__(server, converter)
        self.initialize_received = False

    # --- reading -------------------------------------------------------------------------------------

    def structure_message(self, data: dict[str, Any]):
        """Like pygls, but a message that fails to deserialize becomes a Malformed marker, not an exception."""
        if "jsonrpc" in data and (problem := self._envelope_problem(data)) is not None:
            return Malformed(data, JsonRpcInvalidRequest(message=problem))
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            method = data.get("method")
            if isinstance(method, str) and self._unknown(method):
                return Malformed(data, JsonRpcMethodNotFound.of(method))
            return Malformed(data, JsonRpcInvalidParams(message=f"invalid params: {_describe(exc)}"))

    def _envelope_problem(self, data: dict[str, Any]) -> str | None:
        """What makes a message an invalid request before its params are even read (None: nothing)."""
        if "method" in data and not isinstance(data["method"], str):
            return f"the method must be a string, got {type(data['method']).__name__}"
        if "id" in data and _valid_id(data["id"]) is None and data["id"] is not None:
            return f"an id must be a string or an integer, got {type(data['id']).__name__} {data['id']!r:.40}"
        method = data.get("method")
        kind = self.get_message_type(method) if isinstance(method, str) and "id" in data else None
        if kind is not None and attrs.has(kind) and "id" not in attrs.fields_dict(kind):
            return f"{method} is a notification: it must not carry an id"
        return None

    def _unknown(self, method: str) -> bool:
        return self.get_message_type(method) is None and method not in self.fm.features \
            and method not in self.fm.builtin_features

    def handle_message(self, message: Any) -> None:
        """Route one message, applying the reply and lifecycle rules pygls lacks."""
        if isinstance(message, Malformed):
            self._reject_malformed(message)
            return
        if isinstance(message, dict) or getattr(message, "jsonrpc", None) != self.VERSION:
            self._reject_not_jsonrpc(message)
            return
        method = getattr(message, "method", None)
        is_request = method is not None and hasattr(message, "id")
        if method is None or method == types.EXIT:  # a response to one of our requests, or exit
            super().handle_message(message)
        elif self._shutdown:
            if is_request:
                self._reply_error(message.id, JsonRpcInvalidRequest(message=f"{method}: the server is shutting down"))
        elif method == types.INITIALIZE and is_request:
            if self.initialize_received:
                self._reply_error(message.id, JsonRpcInvalidRequest(message="initialize may only be sent once"))
                return
            self.initialize_received = True
            super().handle_message(message)
        elif not self.initialize_received:
            if is_request:
                self._reply_error(message.id, JsonRpcServerNotInitialized(message=f"{method} before initialize"))
            else:
                log.info("dropped %s: it arrived before initialize", method)
        else:
            super().handle_message(message)

    def _reject_malformed(self, message: Malformed) -> None:
        if message.method == types.EXIT:  # whatever came with it, `exit` must still end the server
            super().handle_message(types.ExitNotification())
        elif message.is_request:
            log.warning("request %s (%s) rejected: %s", message.msg_id, message.method, message.error)
            self._reply_error(message.msg_id, message.error)
        elif message.is_response and (future := self._request_futures.pop(message.msg_id, None)) is not None:
            log.warning("the client's reply to our request %s could not be read: %s", message.msg_id, message.error)
            future.set_exception(message.error)  # whoever awaits our request must not wait forever
        else:
            log.warning("dropped a message that could not be read (%s): %s", message.method, message.error)

    def _reject_not_jsonrpc(self, message: Any) -> None:
        fields = message if isinstance(message, dict) else {
            name: getattr(message, name) for name in ("method", "id") if hasattr(message, name)}
        method, has_id, msg_id = fields.get("method"), "id" in fields, fields.get("id")
        if method is not None and has_id:
            error = JsonRpcInvalidRequest(message='not a JSON-RPC 2.0 message (needs "jsonrpc": "2.0")')
            self._reply_error(_valid_id(msg_id), error)
        else:
            log.warning("dropped a message that is not JSON-RPC 2.0: %.200r", message)

    @property
    def shutdown_received(self) -> bool:
        """True once the client sent `shutdown` (an `exit` then ends the process with status 0, else 1)."""
        return self._shutdown

    def reply_error_code(self, msg_id: Any, code: int, message: str) -> None:
        """An error reply for a message the transport could not even parse (id null when it had none)."""
        self._send_data({"jsonrpc": self.VERSION, "id": _valid_id(msg_id), "error": {"code": code, "message": message}})

    def _reply_error(self, msg_id: Any, error: JsonRpcException) -> None:
        if msg_id is None:  # lsprotocol would drop a null id, and JSON-RPC requires `"id": null`
            self._send_data({"jsonrpc": self.VERSION, "id": None,
                             "error": {"code": error.code, "message": error.message}})
            return
        self._send_response(msg_id, error=error.to_response_error())

    def pending_request_ids(self) -> list:
        """Ids of the requests (ours and the client's) whose futures are still held."""
        return list(self._request_futures)

    # --- running -------------------------------------------------------------------------------------

    def _execute_handler(self, msg_id, handler, callback, args=None, kwargs=None):
        """pygls's, but a finished future always leaves `_request_futures` (notifications left theirs)."""

        def done(future: Future) -> None:
            if self._request_futures.get(msg_id) is future:
                del self._request_futures[msg_id]
            callback(future)

        super()._execute_handler(msg_id, handler, done, args, kwargs)

    def _send_handler_result(self, future: Any, *, msg_id: Any) -> None:
        """Reply to a request with its result, or with the JSON-RPC error its exception stands for."""
        if self._request_futures.get(msg_id) is future:  # not a later request that reused the id
            del self._request_futures[msg_id]
        if future.cancelled():
            self._reply_error(msg_id, JsonRpcRequestCancelled(message=f"request {msg_id!r} was cancelled"))
            return
        exc = future.exception()
        if exc is None:
            self._send_response(msg_id, result=future.result())
        else:
            self._reply_error(msg_id, rpc_error(exc))

    def _send_data(self, data: Any) -> None:
        """pygls's, except that a reply whose result cannot be serialized becomes an error reply, not silence."""
        if not data:
            return
        if self.writer is None:
            log.error("cannot send %s: no transport", type(data).__name__)
            return
        try:
            body = json.dumps(data, default=self._serialize_message)  # ASCII: len(body) counts bytes
        except (TypeError, ValueError, AttributeError, RecursionError) as exc:
            log.error("cannot serialize %s", type(data).__name__, exc_info=exc)
            if hasattr(data, "id") and hasattr(data, "result"):
                error = JsonRpcInternalError(message=f"the result could not be serialized: {exc}")
                self._send_data(types.ResponseErrorMessage(id=data.id, error=error.to_response_error()))
            return
        if self._include_headers:
            body = (f"Content-Length: {len(body)}\r\n"
                    f"Content-Type: {self.CONTENT_TYPE}; charset={self.CHARSET}\r\n\r\n{body}")
        written = self.writer.write(body.encode(self.CHARSET))
        if inspect.isawaitable(written):
            asyncio.ensure_future(written)

    @lsp_method(types.WORKSPACE_EXECUTE_COMMAND)
    async def lsp_workspace__execute_command(self, params: types.ExecuteCommandParams) -> Any:
        """Run a command inside the request's own task, so that $/cancelRequest reaches it."""
        handler = self.fm.commands.get(params.command)
        if handler is None:
            raise JsonRpcInvalidParams(message=f"unknown command {params.command!r}")
        try:
            args, kwargs = _prepare_command_arguments(handler, params, self._converter)
        except (TypeError, ValueError, LookupError, BaseValidationError) as exc:
            raise JsonRpcInvalidParams(message=f"{params.command}: {exc}") from None
        if is_thread_function(handler):
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._server.thread_pool, lambda: handler(*args, **kwargs))
        result = handler(*args, **kwargs)
        return await result if inspect.isawaitable(result) else result
