"""The `quill` command: corpus, tokenizer, training, export, evaluation, demo and the server.

The application layer: the one package that imports all the others. Training subcommands import torch
lazily; `serve` never does (it runs lsp_server.app, as `python -m lsp_server` does). The subcommands live
in quill/cli_train.py (making a model) and quill/cli_run.py (using one); this module builds the parser and
turns every user error into one line on stderr and a non-zero exit status, never a traceback:

  0 success; 1 an error in the inputs or the environment; 2 a wrong command line (argparse); 130 Ctrl-C.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys

from . import cli_run, cli_train
from .cli_common import (
    TRAIN_EXTRA,
    CommandParser,
    HelpFormatter,
    Report,
    UserError,
    missing_extra_message,
)

DEBUG_ENV = "QUILL_DEBUG"  # set to 1: errors that would be one line show their traceback


def version_text() -> str:
    """`quill --version`: the package version and the shipped bundle's name."""
    from importlib.metadata import PackageNotFoundError, version

    from lsp_server.bundle_format import read_manifest
    from lsp_server.errors import QuillError
    from lsp_server.runtime.bundles import default_bundle_path
    try:
        ours = version("quill-lsp")
    except PackageNotFoundError:
        ours = "(not installed: running from a source tree)"
    try:
        bundle = f"bundle {read_manifest(default_bundle_path()).get('name', '?')}"
    except QuillError as exc:
        bundle = f"no usable shipped bundle: {exc}"
    return f"quill {ours} ({bundle})"


class _VersionAction(argparse.Action):
    """--version, computed only when asked (it reads the shipped bundle's manifest)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        print(version_text())
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The argparse tree of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="quill", description="Quill: a local AI code assistant language server", formatter_class=HelpFormatter,
        epilog=f"`quill COMMAND --help` describes a command. Exit status: 0 done, 1 an error in the inputs, "
               f"2 a wrong command line. {DEBUG_ENV}=1 shows tracebacks.")
    parser.add_argument("--version", action=_VersionAction, help="print the version and the shipped model's name")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=CommandParser)
    for add in (cli_train.add_corpus, cli_train.add_tokenizer, cli_train.add_train, cli_train.add_train_doc,
                cli_train.add_export, cli_train.add_export_doc, cli_run.add_serve, cli_run.add_complete,
                cli_run.add_demo, cli_run.add_eval):
        add(sub)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the chosen subcommand and print its Report: text, or with --json one JSON object on stdout (what the
    command prints meanwhile, logs and progress, goes to stderr then)."""
    if not getattr(args, "json", False):
        outcome = args.func(args)
        if isinstance(outcome, Report):
            if outcome.text:
                print(outcome.text)
            return outcome.status
        return outcome or 0
    with contextlib.redirect_stdout(sys.stderr):
        outcome = args.func(args)
    if outcome.data is not None:
        print(json.dumps(outcome.data))
    return outcome.status


def _message(exc: BaseException) -> str:
    """One line for an error the user can act on."""
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.strerror or exc}: {exc.filename}"
    return str(exc) or type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `quill` console script; a user error raises SystemExit("quill CMD: why")."""
    from lsp_server.errors import QuillError
    args = build_parser().parse_args(argv)
    where = f"quill {args.command}"
    try:
        return run(args)
    except KeyboardInterrupt:
        print(f"\n{where}: interrupted", file=sys.stderr)
        return 130
    except UserError as exc:
        raise SystemExit(f"{where}: {exc.code}") from None
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in TRAIN_EXTRA or os.environ.get(DEBUG_ENV):
            raise
        raise SystemExit(f"{where}: {missing_extra_message(exc.name)}") from None
    except (QuillError, OSError, ValueError) as exc:  # a bad file, bundle or value, named in the message
        if os.environ.get(DEBUG_ENV):
            raise
        raise SystemExit(f"{where}: {_message(exc)}") from None


if __name__ == "__main__":
    sys.exit(main())
