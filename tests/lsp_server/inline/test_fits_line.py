"""Issue 15's inline defects: a mid-line suggestion that ignores the rest of the line, a lone `,` after `obj.`."""
from __future__ import annotations

from lsp_server.inline.cursor import cursor_context
from lsp_server.inline.pipeline import suggest
from lsp_server.inline.postprocess import fits_the_line
from tests.lsp_server.inline.test_pipeline_stages import FakeEngine, at

PANEL = "class Panel:\n    def __init__(self, renderable, size):\n        self.‸size = size\n"
TABLE = "class Table:\n    def add(self, name):\n        self.columns.‸\n"


def test_a_mid_line_suggestion_must_leave_a_line_python_still_parses():
    doc, offset = at(PANEL)
    assert suggest(doc, offset, FakeEngine("_renderable = renderable or _Placeholder(self)")) is None
    assert suggest(doc, offset, FakeEngine("_")).text == "_"  # self._size = size


def test_after_an_attribute_dot_a_suggestion_starts_with_a_name():
    doc, offset = at(TABLE)
    assert suggest(doc, offset, FakeEngine(",")) is None
    assert suggest(doc, offset, FakeEngine("append(name)")).text == "append(name)"
    ctx = cursor_context(*at("x = items[...‸]\n"))
    assert fits_the_line(ctx, "") and fits_the_line(ctx, ", 1")  # an ellipsis is not an attribute dot


def test_lines_that_do_not_parse_alone_are_left_to_the_syntax_check():
    ctx = cursor_context(*at("value = compute(\n    first,‸ second)\n"))
    assert fits_the_line(ctx, " zeroth,")  # `first, second)` never parsed alone: no judgement here
    ctx = cursor_context(*at("x = foo(‸)\n"))
    assert fits_the_line(ctx, "a, b") and not fits_the_line(ctx, "a) b")


def test_a_suggestion_never_repeats_the_keyword_just_typed():
    ctx = cursor_context(*at("def f(self):\n    for arg in ‸\n"))
    assert not fits_the_line(ctx, "in self.items():") and not fits_the_line(ctx, " in self.items():")
    assert fits_the_line(ctx, "self.items():") and fits_the_line(ctx, "inputs:")
    ctx = cursor_context(*at("def f(items):\n    return ‸\n"))
    assert not fits_the_line(ctx, "return items") and fits_the_line(ctx, "returned_items")


def test_a_number_or_an_ellipsis_is_not_an_attribute_dot():
    ctx = cursor_context(*at("g = graph(n, 0.‸)\n"))
    assert fits_the_line(ctx, "09, seed=42")
    ctx = cursor_context(*at("x = items[0].‸\n"))
    assert not fits_the_line(ctx, ", 1") and fits_the_line(ctx, "name")
