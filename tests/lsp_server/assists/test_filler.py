"""The filler check (lsp_server/assists/filler.py): sentences that only restate names, and the lines of a
rendered docstring that do."""
import pytest

from lsp_server.assists.filler import filler_lines, is_filler
from lsp_server.syntax.definitions import find_definition
from lsp_server.syntax.documents import Document


@pytest.mark.parametrize("text, names", [
    ("Return the groupby.", ["groupby"]),
    ("Yield the divide.", ["divide"]),
    ("The seq.", ["seq"]),
    ("The sequence.", ["seq"]),              # a longer form of the name says no more
    ("Whether strict.", ["strict"]),
    ("The max size.", ["max_size"]),
    ("Initialize the instance.", ["__init__"]),
    ("A HTTP server.", ["HTTPServer"]),
    ("The result.", ["f"]),                  # nothing left but generic words
    ("The next value.", ["walk"]),
    ("Add a and b.", ["add", "a", "b"]),
    ("The configuration dictionary.", ["config", "ConfigDict"]),  # name and type restated
    ("", ["x"]),
])
def test_filler(text, names):
    assert is_filler(text, names)


@pytest.mark.parametrize("text, names", [
    ("The input sequence of nodes.", ["seq"]),
    ("Return the number of items.", ["__len__"]),
    ("Defaults to None.", ["x"]),             # states a fact the name does not
    ("If self._empty().", ["Empty"]),         # code: when it is raised
    ("Sort key.", ["key"]),
    ("Compute the total price of the basket.", ["get_total", "items"]),
    ("_description_", ["x"]),                 # a placeholder is not filler: it is meant to be filled
])
def test_not_filler(text, names):
    assert not is_filler(text, names)


def test_filler_lines_of_a_rendered_docstring_ignore_the_stated_default():
    text = "def head(seq, n: int = 1, m=3) -> list:\n    return seq[:n]\n"
    info = find_definition(Document("file:///f.py", text), 4)
    literal = ('"""Return the head.\n\nArgs:\n    seq: The seq.\n    n (int): How many items to take. Defaults to 1.\n'
               '    m: The m. Defaults to 3.\n\nReturns:\n    list: The head.\n"""')
    assert filler_lines(literal, info) == ["Return the head.", "seq: The seq.", "m: The m. Defaults to 3.",
                                           "list: The head."]
    assert filler_lines('"""_summary_\n\nArgs:\n    seq: _description_\n"""', info) == []


def test_a_description_that_states_the_default_and_goes_on_is_not_filler():
    text = "def create(create_type: bool = True):\n    pass\n"
    info = find_definition(Document("file:///f.py", text), 4)
    said = "Defaults to True. Indicates that ``CREATE TYPE`` should be emitted."  # sqlalchemy's ENUM
    assert filler_lines(f'"""_summary_\n\nArgs:\n    create_type (bool): {said}\n"""', info) == []
    assert filler_lines('"""_summary_\n\nArgs:\n    create_type (bool): The create type. Defaults to True.\n"""',
                        info) == ["create_type (bool): The create type. Defaults to True."]
