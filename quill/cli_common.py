"""What every `quill` subcommand shares: the help format, --json, input checks and the Report they return.

A user error ends in one line on stderr and a non-zero exit, never a traceback: the checks here run before
the heavy imports (torch takes a second), so a wrong path or a missing extra is reported at once.
"""
from __future__ import annotations

import argparse
import importlib.util
from dataclasses import dataclass
from pathlib import Path

TRAIN_EXTRA = ("torch", "safetensors", "tqdm", "onnx", "matplotlib")  # what model/ and export/ import of [train]
INSTALL_TRAIN = "pip install 'quill-lsp[train]' (CPU torch first: see the README's Install section)"
JSON_HELP = "print the result as one JSON object on stdout; progress, logs and errors go to stderr"


class UserError(SystemExit):
    """A mistake in the command line or its inputs: `quill CMD: message` on stderr and exit status 1.

    A SystemExit, so that even outside main() it ends the program with the message and no traceback."""


@dataclass
class Report:
    """What a subcommand hands back: `data` is printed as JSON with --json, `text` otherwise (None: nothing)."""
    data: dict | None
    text: str | None
    status: int = 0


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """--help shows each option's default, except where its help already says it, or for flags and options
    without one (their help says what happens instead)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "(default" in text or action.default in (None, False, [], argparse.SUPPRESS) or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)"


class CommandParser(argparse.ArgumentParser):
    """A subcommand's parser whose options may be added on first use (`fill`): `quill serve`'s come from
    lsp_server.app, whose imports take a second that `quill --version` or `quill train` should not pay."""

    def __init__(self, *args, fill=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._fill = fill

    def ready(self) -> "CommandParser":
        """Add the deferred options now (once)."""
        fill, self._fill = self._fill, None
        if fill is not None:
            fill(self)
        return self

    def parse_known_args(self, args=None, namespace=None):
        return super(CommandParser, self.ready()).parse_known_args(args, namespace)

    def format_help(self) -> str:
        return super(CommandParser, self.ready()).format_help()

    def format_usage(self) -> str:
        return super(CommandParser, self.ready()).format_usage()


def add_command(sub, name: str, help: str, description: str | None = None, **kwargs) -> CommandParser:
    """A subcommand parser with Quill's help format (`sub` made with parser_class=CommandParser)."""
    return sub.add_parser(name, help=help, description=description or help, formatter_class=HelpFormatter, **kwargs)


def add_json(p: argparse.ArgumentParser) -> None:
    """--json, with the same meaning in every subcommand that has it."""
    p.add_argument("--json", action="store_true", help=JSON_HELP)


def _number(kind, name: str, minimum: float, inclusive: bool):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {name}") from None
        if value < minimum or (value == minimum and not inclusive):
            raise argparse.ArgumentTypeError(f"{text} must be {'at least' if inclusive else 'over'} {minimum:g}")
        return value
    parse.__name__ = name  # argparse names the type in its messages
    return parse


positive_int = _number(int, "a positive integer", 1, True)
count = _number(int, "a whole number", 0, True)
positive_float = _number(float, "a positive number", 0, False)
non_negative = _number(float, "a number", 0, True)


def fraction(text: str) -> float:
    """A share between 0 and 1."""
    value = non_negative(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"{text} must be between 0 and 1")
    return value


def require_path(path: str | Path, option: str, hint: str = "", folder: bool = False) -> Path:
    """An existing file (or folder), else UserError naming the option and, when given, what to do."""
    found = Path(path)
    if not (found.is_dir() if folder else found.is_file()):
        what = "does not exist" if not found.exists() else "is not a folder" if folder else "is a folder, not a file"
        raise UserError(f"{option} {found} {what}{'; ' + hint if hint else ''}")
    return found


def require_dir(path: str | Path, option: str, hint: str = "") -> Path:
    return require_path(path, option, hint, folder=True)


def require_file(path: str | Path, option: str, hint: str = "") -> Path:
    return require_path(path, option, hint)


def require_train_extra() -> None:
    """UserError with the install line when a package of the [train] extra is missing (checked before importing)."""
    missing = [name for name in TRAIN_EXTRA if importlib.util.find_spec(name) is None]
    if missing:
        raise UserError(missing_extra_message(missing[0]))


def missing_extra_message(module: str) -> str:
    return f"needs the [train] extra ({module} is not installed): {INSTALL_TRAIN}"
