"""Add to a docstring what it lacks without touching it (lsp_server/assists/docstring_update.py), and the order
of the docstring actions: Regenerate never first on a docstring a person wrote."""
from __future__ import annotations

import ast

import pytest

from lsp_server.assists.descriptions import describe, own_fields
from lsp_server.assists.docstring_update import (
    ADD,
    COMPLETE,
    REGENERATE,
    complete_docstring,
    docstring_actions,
    well_documented,
)
from lsp_server.syntax.definitions import find_definition
from lsp_server.syntax.documents import Document


def completed(text: str, style: str = "google"):
    doc = Document("file:///u.py", text)
    info = find_definition(doc, text.index("def ") + 4)
    return doc, info, complete_docstring(doc, info, describe(info, own_fields(doc, info)), style)


def kept(before: str, after: str) -> bool:
    """Every line of before is still in after, in order."""
    lines = iter(after.split("\n"))
    return all(any(line == other for other in lines) for line in before.split("\n"))


GOOGLE = '''def g(seq, strict=False):
    """Summary.

    Args:
        seq: The seq thing here.

    Raises:
        ValueError: bad
    """
    return 1
'''
NUMPY = '''def g(seq, strict=False):
    """Summary.

    Parameters
    ----------
    seq : list
        Things.
    """
    yield 1
'''
SPHINX = '''def g(seq, strict=False):
    """Summary.

    :param seq: Things.
    :type seq: list
    :raises ValueError: if
    """
    return 1
'''


def test_google_gets_the_missing_parameter_after_the_documented_one_and_returns_before_raises():
    doc, info, completion = completed(GOOGLE)
    out = completion.edit.apply(GOOGLE)
    assert completion.added == ("strict", "Returns") and kept(GOOGLE, out) and ast.parse(out)
    assert "        seq: The seq thing here.\n        strict: _description_ Defaults to False.\n\n" \
           "    Returns:\n        _description_\n\n    Raises:\n" in out


def test_numpy_and_sphinx_keep_their_own_style_whatever_the_configured_one():
    out = completed(NUMPY, "google")[2].edit.apply(NUMPY)
    assert "        Things.\n    strict : default False\n        _description_\n\n    Yields\n    ------\n" in out
    out = completed(SPHINX, "numpy")[2].edit.apply(SPHINX)
    assert "    :type seq: list\n    :param strict: _description_ Defaults to False.\n    :returns: _description_\n" \
           "    :raises ValueError: if\n" in out


def test_a_one_line_docstring_gets_sections_and_its_closing_quotes_a_line_of_their_own():
    text = 'def g(seq, *args):\n    """Summary."""\n    return 1\n'
    out = completed(text)[2].edit.apply(text)
    assert out.startswith('def g(seq, *args):\n    """Summary.\n\n    Args:\n        seq: _description_\n'
                          '        *args: _description_\n\n    Returns:\n        _description_\n    """\n')


def test_nothing_missing_or_an_unreadable_docstring_gives_no_completion():
    assert completed('def g(seq):\n    """S.\n\n    Args:\n        seq: X.\n    """\n    print(seq)\n')[2] is None
    assert completed("def g(seq):\n    'S.'\n    return seq\n")[2] is None  # one quote cannot span lines


@pytest.mark.parametrize("text, expected", [
    ("def g(seq):\n    return seq\n", [ADD]),
    ('def g(seq):\n    """S."""\n    return seq\n', [COMPLETE, REGENERATE]),
    ('def g():\n    """S."""\n    print()\n', [REGENERATE]),  # one line, nothing to add
    ('def g():\n    """S.\n\n    More words a person wrote.\n    """\n    print()\n', []),
    ('def g(seq):\n    """S.\n\n    More words a person wrote.\n    """\n    print(seq)\n', [COMPLETE, REGENERATE]),
    ('def g(seq):\n    """S.\n\n    Args:\n        seq: X.\n    """\n    print(seq)\n', []),
])
def test_regenerate_is_never_first_on_a_docstring_a_person_wrote(text, expected):
    doc, info, completion = completed(text)
    assert docstring_actions(doc, info, completion) == expected
    if expected and expected[0] == REGENERATE:
        assert not well_documented(doc, info)
