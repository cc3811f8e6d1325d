"""Edits of a document and the one check that an edit parses (inline suggestions, docstrings and bodies use it).

An edit is judged on the statements around it (lsp_server.syntax.limits.statement_window), reparsed with
tree-sitter, and with Python's own parser where tree-sitter's error recovery would accept what Python does not.
"""
from __future__ import annotations

import ast
import functools
from dataclasses import dataclass

from .documents import Document, parse
from .limits import error_count, statement_window
from .scan import scan_brackets, unclosed_strings


@dataclass(frozen=True)
class Edit:
    """Replace text[start:end] (code-point offsets) with new_text."""
    start: int
    end: int
    new_text: str

    def apply(self, text: str) -> str:
        """The text with this edit applied."""
        return text[:self.start] + self.new_text + text[self.end:]


def syntax_errors(text: str, budget_s: float = 0.5) -> int:
    """ERROR and MISSING nodes of a fresh tree-sitter parse of text (10**6 when it runs over budget_s)."""
    tree = parse(text.encode("utf-8", "surrogatepass"), None, budget_s)
    return 10**6 if tree is None else error_count(tree.root_node)


WHOLE_FILE_CHECK_CHARS = 200_000  # ~5 ms of tree-sitter + ast; beyond it only the window is judged


def edit_parses(doc: Document, edit: Edit) -> bool:
    """True when the edit adds no syntax error to the statements around it (limits.statement_window)."""
    lo, hi = statement_window(doc, edit.start, edit.end)  # only this window is reparsed, not the whole file
    before = doc.text[lo:hi]
    after = before[:edit.start - lo] + edit.new_text + before[edit.end - lo:]
    if syntax_errors(after) <= syntax_errors(before) and (not python_parses(before) or python_parses(after)):
        # tree-sitter recovers where Python does not (a '-string running over a line end parses), so
        # when the window was valid Python before, it must still be after.
        return True
    # The window can miss a statement tree-sitter could not parse (`def f():` whose body is only a
    # comment is an ERROR node), and the edit may be what completes it: judge the whole file then.
    if len(doc.text) > WHOLE_FILE_CHECK_CHARS:
        return False
    whole = edit.apply(doc.text)
    return syntax_errors(whole) <= syntax_errors(doc.text) and (python_parses(whole) or not python_parses(doc.text))


def python_parses(text: str) -> bool:
    """True when Python's own parser accepts text."""
    try:
        ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


@functools.lru_cache(maxsize=16)  # every alternative of one request compares against the same baseline
def damage(code: str) -> tuple[int, int, int]:
    """(tree-sitter errors, unclosed strings, unclosed brackets) of a piece of code.

    tree-sitter may absorb a new problem into an error the text already had (as in `self.|`), so unclosed
    strings and brackets are counted on their own.
    """
    return syntax_errors(code, 0.2), unclosed_strings(code), len(scan_brackets(code)[0])
