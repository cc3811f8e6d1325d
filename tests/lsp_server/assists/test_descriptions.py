"""Where descriptions come from (lsp_server/assists/descriptions.py), in order: the docstring being replaced,
the project (tests/data/param_project: `seq` documented in seqtools/sorting.py, used undocumented in
seqtools/search.py), the signature's type and default, else a placeholder; never filler."""
from __future__ import annotations

from pathlib import Path

from lsp_server.assists.descriptions import (
    OWN,
    PLACEHOLDER,
    PROJECT,
    ProjectDocs,
    describe,
    own_fields,
)
from lsp_server.assists.docstring_render import (
    DESCRIPTION,
    render_docstring,
    snippet_text,
)
from lsp_server.assists.docstrings import suggest_docstring
from lsp_server.assists.filler import filler_lines
from lsp_server.project.param_docs import ParamDocs
from lsp_server.syntax.definitions import find_definition
from lsp_server.syntax.documents import Document

PROJECT_DIR = Path(__file__).parents[2] / "data" / "param_project"
SEARCH, SORTING = "seqtools/search.py", "seqtools/sorting.py"


def project() -> ParamDocs:
    docs = ParamDocs()
    for path in sorted(PROJECT_DIR.rglob("*.py")):
        docs.update(path.relative_to(PROJECT_DIR).as_posix(), path.read_text())
    return docs


def definition(rel: str, name: str):
    text = (PROJECT_DIR / rel).read_text()
    doc = Document(f"file:///p/{rel}", text)
    return doc, find_definition(doc, text.index(f"def {name}") + 4)


def test_project_description_of_seq_for_a_function_that_uses_it_undocumented():
    doc, info = definition(SEARCH, "find_first")
    described = describe(info, None, ProjectDocs(project(), SEARCH))
    # The nearest module's wording; its filler "The seq." (head() in sorting.py) is skipped.
    assert described.params["seq"].text == "The items to work on, in any order."
    assert described.params["seq"].source == PROJECT


def test_without_the_project_every_description_is_a_placeholder():
    doc, info = definition(SEARCH, "find_first")
    described = describe(info, None, None)
    assert {d.source for d in described.params.values()} == {PLACEHOLDER}
    assert described.returns.text == DESCRIPTION


def test_the_docstring_being_replaced_keeps_its_descriptions_but_not_its_filler():
    doc, info = definition(SORTING, "head")
    described = describe(info, own_fields(doc, info), ProjectDocs(project(), SORTING))
    assert (described.params["n"].text, described.params["n"].source) == ("How many items to take.", OWN)
    assert described.params["seq"].text == "The items to work on, in any order."  # own "The seq." is filler


def test_returns_come_from_a_function_of_the_same_name_elsewhere():
    text = 'def sort_items(seq, key=None):\n    return sorted(seq)\n'
    doc = Document("file:///p/other/fast.py", text)
    info = find_definition(doc, 4)
    described = describe(info, None, ProjectDocs(project(), "other/fast.py"))
    assert (described.returns.text, described.returns.source) == ("A new sorted list.", PROJECT)


def test_type_and_default_stay_true_and_the_rest_is_a_placeholder_never_filler():
    doc, info = definition(SEARCH, "find_first")
    suggestion = suggest_docstring(doc, info.name_start, None, "google", project=ProjectDocs(project(), SEARCH))
    assert suggestion.text == '''"""_summary_

Args:
    seq: The items to work on, in any order.
    target: _description_
    start (int): _description_ Defaults to 0.

Returns:
    _description_

Raises:
    ValueError: _description_
"""'''
    assert suggestion.has_content and filler_lines(suggestion.text, info) == []
    assert not suggest_docstring(doc, info.name_start, None).has_content  # nothing but placeholders


def test_snippet_text_numbers_the_placeholders_and_escapes_dollars_and_braces():
    doc, info = definition(SEARCH, "find_first")
    literal = render_docstring(info, "Cost in $ {x}.", "numpy")
    assert snippet_text(literal).startswith(
        '"""Cost in \\$ {x\\}.\n\nParameters\n----------\nseq\n    ${1:_description_}')


def test_a_raise_condition_is_its_description_unless_it_restates_the_exception():
    text = ("def pop(q, empty, items):\n    if empty:\n        raise Empty()\n    if q.closed():\n        raise Closed()\n"
            "    if not items:\n        raise ValueError()\n")
    literal = suggest_docstring(Document("file:///p/q.py", text), 5, None).text
    assert "Raises:\n    Empty: _description_\n    Closed: If q.closed().\n    ValueError: If not items.\n" in literal


def test_a_docstring_whose_only_raise_condition_restates_the_exception_has_nothing_real():
    text = "def pop(q, empty):\n    if empty:\n        raise Empty()\n"
    assert not suggest_docstring(Document("file:///p/q.py", text), 5, None).has_content
    text = "def pop(q):\n    if q.closed():\n        raise Closed()\n"
    assert suggest_docstring(Document("file:///p/q.py", text), 5, None).has_content
