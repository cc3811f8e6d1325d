"""What a reviewer would not keep in a generated body: a statement looping, nothing but a docstring, a name
nothing defines (lsp_server.assists.body_scope), judged with Python's `ast` on the code as a function body.

`review` composes them for one candidate: it cuts a loop back to its first copy and the code back before
its first statement with an undefined name (a reviewer keeps the good start), and rejects what is left when
it is empty or only a docstring.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Iterator

from ..syntax.documents import Document
from ..syntax.edits import Edit
from .body_scope import ModuleScope, added_undefined_names

MAX_COPIES = 2  # a statement repeated more than once in a row (a third copy) is a loop; two copies can be right
REPEATED, UNDEFINED, DOCSTRING_ONLY, EMPTY, INVALID = "repeated", "undefined name", "docstring only", "empty", "invalid"


def as_function(code: str, indent: str) -> str:
    """The code (lines indented by `indent`) as the body of a top-level function, for Python to judge alone."""
    body = "\n".join("    " + (line[len(indent):] if line.startswith(indent) else line.lstrip(" \t"))
                     for line in code.split("\n"))
    return "def _generated():\n" + body + "\n"


def _body(code: str, indent: str) -> list[ast.stmt] | None:
    """The statements of the code as a function body; None when Python rejects it."""
    try:
        tree = ast.parse(as_function(code, indent))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return tree.body[0].body


def _blocks(statement: ast.stmt) -> Iterator[list[ast.stmt]]:
    """Every statement list inside statement (bodies, else and finally blocks, handlers, cases)."""
    for node in ast.walk(statement):
        for field in ("body", "orelse", "finalbody"):
            block = getattr(node, field, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                yield block


def _loop_at(block: list[ast.stmt]) -> int | None:
    """Index of the first statement that starts a loop: more than MAX_COPIES equal statements in a row (the
    same syntax tree: whitespace, comments and redundant parentheses ignored), or two where running the
    statement again can change nothing (an `if` that returns, an assignment): only a call or other expression,
    or an augmented assignment, may rightly repeat once (`next(it)`, `i += 1`)."""
    keys = [ast.dump(s) for s in block]
    for i in range(len(keys) - 1):
        run = 1
        while i + run < len(keys) and keys[i + run] == keys[i] and run <= MAX_COPIES:
            run += 1
        if run > MAX_COPIES or (run == 2 and not isinstance(block[i], (ast.Expr, ast.AugAssign))):
            return i
    return None


def _first_line(statement: ast.stmt) -> int:
    decorators = getattr(statement, "decorator_list", [])
    return min([statement.lineno] + [d.lineno for d in decorators])


def cut_repeats(code: str, indent: str) -> str | None:
    """The code cut back before its first loop, keeping one copy of a repeated statement of the body's own
    block (a loop inside a nested block drops the whole top-level statement); None when nothing repeats."""
    body = _body(code, indent)
    if body is None:
        return None
    lines = code.split("\n")
    top = _loop_at(body)
    for k, statement in enumerate(body):
        # as_function's line 1 is the `def`: code line j (0-based) is its line j + 2.
        if any(_loop_at(block) is not None for block in _blocks(statement)):
            return "\n".join(lines[:_first_line(statement) - 2]).rstrip()
        if k == top:
            return "\n".join(lines[:statement.end_lineno - 1]).rstrip()
    return None


def has_repeat(code: str, indent: str = "") -> bool:
    """True when some statement of the code repeats more than once in a row."""
    return cut_repeats(code, indent) is not None


def only_docstring(code: str, indent: str = "") -> bool:
    """True when the code's statements are string literals, `pass` and `...` only, with at least one string."""
    body = _body(code, indent)
    if not body:
        return False
    literal = [s for s in body if isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)]
    placeholders = [s for s in body if isinstance(s, ast.Pass)]
    return len(literal) + len(placeholders) == len(body) and any(isinstance(s.value.value, str) for s in literal)


def _meaningful(code: str, indent: str) -> bool:
    """True when some statement of the code is more than `pass`, `...` or a lone string."""
    body = _body(code, indent) if code.strip() else None
    return bool(body) and not only_docstring(code, indent) and not all(
        isinstance(s, ast.Pass) or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)) for s in body)


def cut_undefined(doc: Document, edit_for, code: str, indent: str, scope: ModuleScope) -> str:
    """The longest run of the code's first top-level statements that uses no undefined name ('' if none)."""
    body = _body(code, indent) or []
    lines, kept = code.split("\n"), ""
    for statement in body:
        prefix = "\n".join(lines[:statement.end_lineno - 1]).rstrip()
        if added_undefined_names(doc, edit_for(prefix), scope):  # None cannot happen: the whole code compiled
            break
        kept = prefix
    return kept


@dataclass(frozen=True)
class Review:
    """A candidate after the checks: the code to offer ('' when rejected), and what was cut or rejected."""
    code: str
    problem: str | None = None  # REPEATED or UNDEFINED (cut back), DOCSTRING_ONLY, EMPTY or INVALID (rejected)
    names: tuple[str, ...] = ()  # the undefined names found (and cut away)


def review(doc: Document, edit_for, code: str, indent: str, scope: ModuleScope) -> Review:
    """Check one candidate: cut a loop back to its first copy and the code back before its first statement
    that uses an undefined name, then reject what is left when it is empty or only a docstring.
    edit_for(code) is the edit that would put code in the document."""
    problem = None
    cut = cut_repeats(code, indent)
    if cut is not None:
        code, problem = cut, REPEATED
    names = added_undefined_names(doc, edit_for(code), scope) if code.strip() else set()
    if names is None:
        return Review("", INVALID)
    if names:
        code, problem = cut_undefined(doc, edit_for, code, indent, scope), UNDEFINED
    if only_docstring(code, indent):
        return Review("", DOCSTRING_ONLY)
    if not _meaningful(code, indent):
        return Review("", problem or EMPTY, tuple(sorted(names)))
    return Review(code, problem, tuple(sorted(names)))


def undefined_in(doc: Document, edit: Edit, scope: ModuleScope | None = None) -> tuple[str, ...]:
    """The names an applied edit uses that nothing defines (quill eval's codegen_undefined_name_share)."""
    names = added_undefined_names(doc, edit, scope or ModuleScope.of(doc))
    return tuple(sorted(names or ()))
