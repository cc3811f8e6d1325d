"""The docstring section parser (lsp_server/syntax/docstring_fields.py) on the three styles, as written."""
from lsp_server.syntax.docstring_fields import (
    GOOGLE,
    NUMPY,
    PARAMS,
    RAISES,
    RETURNS,
    SPHINX,
    literal_lines,
    parse_fields,
)

GOOGLE_DOC = '''"""Summary line.

    Longer text that mentions Args: in passing.

    Args:
        seq (list[int]): The input
            sequence of nodes.
        key: Sort key.
        *args: Extra.

    Returns:
        int: The count of
            things.

    Raises:
        ValueError: If bad.
    """'''
NUMPY_DOC = '''"""Summary.

    Parameters
    ----------
    seq, other : array_like
        Values to sum.

        More.
    axis : int, optional
        Axis.

    Returns
    -------
    total : float
        The sum.
    """'''
SPHINX_DOC = '''"""Summary.

    :param seq: The sequence
        continued.
    :type seq: list
    :param int axis: Axis.
    :returns: the total
    :raises ValueError: when bad
    """'''


def fields(literal: str):
    quote, lines = literal_lines(literal)
    return parse_fields(lines)


def test_google_sections_entries_types_and_continuation_lines():
    found = fields(GOOGLE_DOC)
    assert found.style == GOOGLE and [s.kind for s in found.sections] == [PARAMS, RETURNS, RAISES]
    assert found.params() == {"seq": "The input sequence of nodes.", "key": "Sort key.", "args": "Extra."}
    assert [(e.name, e.type, e.start, e.end) for e in found.entries(PARAMS)] == \
        [("seq", "list[int]", 5, 7), ("key", None, 7, 8), ("*args", None, 8, 9)]
    assert found.text_of(RETURNS) == "The count of things." and found.entries(RETURNS)[0].type == "int"
    assert found.entries(RAISES)[0].name == "ValueError"
    assert found.section(PARAMS).indent == " " * 8


def test_numpy_sections_shared_entries_and_first_paragraph_only():
    found = fields(NUMPY_DOC)
    assert found.style == NUMPY
    assert found.params() == {"seq": "Values to sum.", "other": "Values to sum.", "axis": "Axis."}
    assert found.entries(PARAMS)[2].type == "int, optional"
    (value,) = found.entries(RETURNS)
    assert (value.name, value.type, value.description) == ("total", "float", "The sum.")


def test_sphinx_fields_with_types_returns_and_raises():
    found = fields(SPHINX_DOC)
    assert found.style == SPHINX
    assert found.params() == {"seq": "The sequence continued.", "axis": "Axis."}
    assert found.entries(PARAMS)[1].type == "int"
    assert found.text_of(RETURNS) == "the total" and found.entries(RAISES)[0].name == "ValueError"


def test_prose_without_sections_and_literals_that_are_not_plain_strings():
    assert fields('"""Just prose.\n\n    Example: not a section header.\n    """').sections == []
    assert literal_lines("r'''x'''") == ("'''", ["x"])
    assert literal_lines('f"""x"""') is None and literal_lines('b"x"') is None
