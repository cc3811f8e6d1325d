"""The subcommands that use a model: serve, complete, demo, eval.

`serve` adds to the server's own options (lsp_server.app) only what a person at a terminal needs: checked
log levels, the bundle problem on stderr at start, and a word when stdin is a terminal instead of an editor.
"""
from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

from .cli_common import (
    Report,
    UserError,
    add_command,
    add_json,
    count,
    positive_int,
    require_dir,
    require_file,
)

PYTHON_SUFFIXES = (".py", ".pyi", ".pyw")
LINE_BREAK = re.compile(r"\r\n|\r|\n")  # LSP's line terminators, as lsp_server.syntax.positions splits
BINARY_SNIFF = 8192  # bytes looked at for NUL, as git does
BUNDLE_HELP = "model bundle folder (default: the shipped model)"
TTY_NOTICE = ("quill serve: this is a language server: it speaks LSP (JSON-RPC) on stdin/stdout and is waiting "
              "for a client. Editors start it themselves (see the README); to try it from a shell use "
              "`quill demo` or `quill complete FILE LINE COL`. Ctrl-C quits.")


def bundle_problem(path: str | None) -> str | None:
    """Why the bundle at path cannot be served (verified as the server will), or None when it can."""
    from lsp_server.errors import QuillError
    from lsp_server.runtime.bundles import load_bundle
    try:
        load_bundle(path)
    except QuillError as exc:
        return str(exc)
    return None


def add_serve(sub) -> None:
    add_command(sub, "serve", "run the language server (stdio by default)", conflict_handler="resolve",
                fill=_serve_arguments).set_defaults(func=cmd_serve)


def _serve_arguments(p) -> None:
    """The server's own options (lsp_server.app: `python -m lsp_server` takes the same)."""
    from lsp_server.app import add_serve_arguments
    add_serve_arguments(p)


def cmd_serve(args) -> int:
    from lsp_server.app import serve
    if args.bundle:
        problem = bundle_problem(args.bundle)
        if problem:
            print(f"quill serve: {problem}\nquill serve: starting without a model: no suggestions until this is "
                  "fixed; the editor is told the same", file=sys.stderr)
    if not (args.tcp or args.socket) and sys.stdin.isatty():
        print(TTY_NOTICE, file=sys.stderr, flush=True)
    return serve(args)


def add_complete(sub) -> None:
    p = add_command(sub, "complete", "print the suggestion at FILE LINE COL (1-based line and column)")
    p.add_argument("file", help="a Python file")
    p.add_argument("line", type=positive_int, help="1-based line")
    p.add_argument("col", type=positive_int, help="1-based column in characters")
    p.add_argument("--bundle", default=None, help=BUNDLE_HELP)
    add_json(p)
    p.set_defaults(func=cmd_complete)


def _is_python(path: Path, data: bytes) -> bool:
    """A .py/.pyi/.pyw file, or a script whose #! line runs python."""
    first = data[:200].split(b"\n", 1)[0]
    return path.suffix.lower() in PYTHON_SUFFIXES or (first.startswith(b"#!") and b"python" in first)


def read_source(path: str) -> str:
    """A Python file's text; UserError for what cannot be completed (missing, binary, not Python). Bytes that
    are not UTF-8 in a text file become U+FFFD (said once on stderr), as the server reads them."""
    file = Path(path)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if b"\0" in data[:BINARY_SNIFF]:
            raise UserError(f"{path} is a binary file (NUL bytes, not UTF-8), not Python source") from None
        print(f"quill complete: {path} is not valid UTF-8 ({exc.reason} at byte {exc.start}); "
              "invalid bytes read as U+FFFD", file=sys.stderr)
        text = data.decode("utf-8", "replace")
    if not _is_python(file, data):
        raise UserError(f"{path} is not a Python file: Quill completes Python ({', '.join(PYTHON_SUFFIXES)} files, "
                        "or scripts whose #! line runs python)")
    return text


def check_position(path: str, text: str, line: int, col: int) -> None:
    """UserError when the 1-based (line, col) is not in the text; the column after a line's end is in it."""
    lines = LINE_BREAK.split(text)
    if line > len(lines):
        raise UserError(f"line {line} is past the end of {path} (its last line is {len(lines)})")
    width = len(lines[line - 1])
    if col > width + 1:
        raise UserError(f"column {col} is past the end of line {line} of {path} ({width} characters: "
                        f"the last column is {width + 1})")


def cmd_complete(args) -> Report:
    from lsp_server.errors import QuillError
    from lsp_server.inline.pipeline import suggest
    from lsp_server.runtime.engine import Engine
    from lsp_server.syntax.documents import Document
    from lsp_server.syntax.positions import Position, PositionEncoding
    text = read_source(args.file)
    check_position(args.file, text, args.line, args.col)
    try:
        engine = Engine.load(args.bundle)
    except QuillError as exc:
        raise UserError(str(exc)) from None
    doc = Document(Path(args.file).resolve().as_uri(), text)
    offset = doc.offset_at(Position(args.line - 1, args.col - 1), PositionEncoding.UTF32)
    started = time.perf_counter()
    try:
        result = suggest(doc, offset, engine)
    except QuillError as exc:  # InputTooComplex: a position beyond lsp_server.syntax.limits' limits
        print(f"quill complete: no suggestion: {exc}", file=sys.stderr)
        result = None
    out = {"text": result.text if result else "", "ms": round((time.perf_counter() - started) * 1000, 2)}
    if result:
        g = result.generation
        out.update(stop_reason=g.stop_reason, tokens=len(g.token_ids), prompt_tokens=g.prompt_tokens,
                   prompt_ms=round(g.prompt_ms, 2), decode_ms=round(g.decode_ms, 2),
                   mean_logprob=round(g.mean_logprob, 3), mode=result.mode)
    return Report(out, out["text"])


def add_demo(sub) -> None:
    p = add_command(sub, "demo", "start the server with the shipped model and show inline completions")
    p.add_argument("--bundle", default=None, help=BUNDLE_HELP)
    p.add_argument("--file", default=None, help="a Python file to use instead of the bundled sample")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args) -> int:
    if args.file:
        require_file(args.file, "--file")
    problem = bundle_problem(args.bundle) if args.bundle else None
    if problem:
        raise UserError(problem)
    from .demo import main
    return main(args.bundle, args.file)


def add_eval(sub) -> None:
    p = add_command(sub, "eval", "measure suggestion quality of a bundle on a folder of Python files")
    p.add_argument("--corpus", required=True, metavar="DIR", help="folder of .py files (never the training corpus)")
    p.add_argument("--bundle", default=None, help=BUNDLE_HELP)
    p.add_argument("--max-files", type=positive_int, default=200, help="files sampled from DIR")
    p.add_argument("--seed", type=int, default=0, help="seed of every random choice")
    p.add_argument("--docstring-model", choices=("auto", "seq2seq", "lm"), default="auto",
                   help="seq2seq: the bundle's docstring model; lm: the code LM's summary line; "
                        "auto: seq2seq when the bundle has one")
    p.add_argument("--max-tokens", type=count, default=60_000, help="next-token positions scored")
    p.add_argument("--line-samples", type=count, default=400, help="line cuts completed")
    p.add_argument("--docstring-samples", type=count, default=200, help="docstrings generated")
    p.add_argument("--codegen-samples", type=count, default=150, help="function bodies generated")
    p.add_argument("--settings", default=None, metavar="JSON",
                   help="server settings to measure, as the editor sends them, "
                        """e.g. '{"inline": {"prefix_tokens": 512}}'""")
    p.add_argument("--project-context", choices=("on", "off"), default="on",
                   help="on: each top-level folder of DIR is a project whose other files steer decoding, "
                        "as the server's workspace index would; the JSON also has *_no_project numbers")
    p.add_argument("--out", default=None, metavar="FILE", help="also write every number and the config to FILE")
    add_json(p)
    p.set_defaults(func=cmd_eval)


def eval_settings(text: str | None):
    """The server settings `quill eval --settings JSON` measures; a bad setting is an error, not a default."""
    from lsp_server.config import parse_config
    try:
        data = json.loads(text) if text else None
    except json.JSONDecodeError as exc:
        raise UserError(f"--settings is not JSON: {exc}") from None
    config, problems = parse_config(data)
    if problems:
        raise UserError(f"--settings: {'; '.join(problems)}")
    return config


def cmd_eval(args) -> Report:
    from lsp_server.errors import QuillError
    from quill.evaluation.runner import (
        EvalOptions,
        format_table,
        run_eval,
        write_result,
    )
    from quill.evaluation.tasks import TokenOptions
    require_dir(args.corpus, "--corpus", "give a folder of Python files")
    settings = eval_settings(args.settings)
    options = EvalOptions(Path(args.corpus), Path(args.bundle) if args.bundle else None, args.max_files, args.seed,
                          args.docstring_model, TokenOptions(max_tokens=args.max_tokens),
                          args.line_samples, args.docstring_samples, args.codegen_samples, settings=settings,
                          project_context=args.project_context == "on")
    try:
        result = run_eval(options)
    except QuillError as exc:  # EvalOverlap, EvalError, BundleCorrupt, ModelUnavailable
        raise UserError(str(exc)) from None
    text = format_table(result)
    if args.out:
        write_result(result, Path(args.out))
        text += f"\nwrote {args.out}"
        if args.json:  # the note a person would see, where --json puts notes
            print(f"wrote {args.out}", file=sys.stderr)
    return Report(result, text)
