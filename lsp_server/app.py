"""The one place that wires the server and its features, and the serve entry point (`python -m lsp_server`).

`quill serve` (the application package) uses the same arguments and `serve()`; the editors may start either.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import NoReturn

from .features import (
    acceptance,
    actions,
    commands,
    completion,
    debug,
    hover,
    inline,
    lifecycle,
    status,
    sync,
    workspace,
)
from .server import transport
from .server.language_server import QuillServer

FEATURES = (lifecycle, sync, workspace, status, inline, completion, hover, actions, commands, acceptance)


def create_server(bundle_path: Path | None = None, threads: int = 0, test_hooks: bool = False) -> QuillServer:
    """Build the server and register every feature module (and the reliability tests' hooks when asked)."""
    server = QuillServer(bundle_path, threads)
    for module in FEATURES + ((debug,) if test_hooks else ()):
        module.register(server)
    return server


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _port(text: str) -> int:
    port = int(text)
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"{text} is not a TCP port (1..65535)")
    return port


def add_serve_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of `quill serve` and `python -m lsp_server`."""
    p.add_argument("--bundle", default=None, help="model bundle folder (default: the shipped model)")
    p.add_argument("--tcp", action="store_true",
                   help="serve one client over TCP instead of stdio (a second connection is refused)")
    p.add_argument("--host", default="127.0.0.1", help="TCP host (default 127.0.0.1; never 0.0.0.0 unless given)")
    p.add_argument("--port", type=_port, default=2087, help="TCP port, with --tcp")
    p.add_argument("--socket", default=None, metavar="PATH",
                   help="listen on a Unix socket at PATH, readable and writable by this user only (mode 0600)")
    p.add_argument("--threads", type=int, default=0, help="onnxruntime threads (default: min(2, cores))")
    p.add_argument("--max-message-mb", type=float, default=transport.DEFAULT_MAX_MESSAGE_MB,
                   help=f"largest message a client may send, in MB; a larger one is discarded unread "
                        f"(default {transport.DEFAULT_MAX_MESSAGE_MB})")
    p.add_argument("--log-level", type=str.upper, choices=LOG_LEVELS, default="WARNING",
                   help="least severe log messages written to stderr")
    # Internal commands for the reliability tests (lsp_server/features/debug.py); hidden from --help.
    p.add_argument("--test-hooks", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--strict", action="store_true",
                   help="internal errors fail the request instead of degrading to an empty answer (as QUILL_STRICT=1)")
    return p


def serve(args: argparse.Namespace) -> NoReturn:
    """Run the language server over stdio (or one TCP / Unix-socket client) until the client ends the session;
    the exit status: 0 after shutdown + exit, 1 for exit without shutdown or a lost client, 2 for broken framing."""
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    server = create_server(Path(args.bundle) if args.bundle else None, args.threads, args.test_hooks)
    server.strict = server.strict or args.strict
    max_bytes = int(args.max_message_mb * 1024 * 1024)
    if args.socket:
        status = transport.start_socket(server, max_bytes, path=Path(args.socket))
    elif args.tcp:
        status = transport.start_socket(server, max_bytes, host=args.host, port=args.port)
    else:
        status = transport.start_io(server, max_bytes)
    # The session is over: leave now. A worker thread still in a model run or a file read (the inference
    # executor's threads are joined at interpreter exit) must never keep the process alive.
    logging.shutdown()
    try:
        sys.stdout.flush()
    except (ValueError, OSError):  # `exit` closed it, or the client's end is gone
        pass
    os._exit(status)


def main(argv: list[str] | None = None) -> int:
    """`python -m lsp_server [serve] [options]`: the server alone, without the training and evaluation CLI."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["serve"]:
        argv = argv[1:]
    parser = add_serve_arguments(argparse.ArgumentParser(prog="python -m lsp_server",
                                                         description="Quill's language server over stdio"))
    return serve(parser.parse_args(argv))
