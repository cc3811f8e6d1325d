"""Unit tests of the reviewer checks of generated bodies (lsp_server.assists.body_checks) and of stub detection
(lsp_server.assists.stubs)."""
from __future__ import annotations

import numpy as np
import pytest

from lsp_server.assists.bodies import body_edit, find_body_target
from lsp_server.assists.body_checks import (
    DOCSTRING_ONLY,
    REPEATED,
    UNDEFINED,
    cut_repeats,
    has_repeat,
    only_docstring,
    review,
)
from lsp_server.assists.body_scope import ModuleScope
from lsp_server.assists.stubs import is_stub
from lsp_server.syntax.definitions import find_function
from lsp_server.syntax.documents import Document

LOOP = ("    if not validator:\n        raise ValueError(msg)\n" * 5).rstrip("\n")


# --- repeated statements ----------------------------------------------------------------------------------

def test_a_statement_repeated_more_than_once_in_a_row_is_cut_to_one_copy():
    code = "    x = 1\n    self._r = self._r\n    self._r  =  self._r\n    self._r = (self._r)\n    y = 2"
    assert cut_repeats(code, "    ") == "    x = 1\n    self._r = self._r"
    assert has_repeat(code, "    ")


def test_two_copies_of_a_call_or_an_augmented_assignment_or_copies_apart_are_not_a_loop():
    assert cut_repeats("    next(it)\n    next(it)\n    return next(it, None)", "    ") is None
    assert cut_repeats("    i += 1\n    i += 1\n    return i", "    ") is None
    assert not has_repeat("    a()\n    b()\n    a()\n    b()\n    a()", "    ")


@pytest.mark.parametrize("twice", ["if type_ is None:\n        return None", "self.graph = graph", "return x"])
def test_two_copies_of_a_statement_that_changes_nothing_the_second_time_are_a_loop(twice):
    code = f"    {twice}\n    {twice}\n    return 1"
    assert cut_repeats(code, "    ") == f"    {twice}"


def test_a_compound_statement_loop_is_cut_whole():
    assert cut_repeats(LOOP, "    ") == "    if not validator:\n        raise ValueError(msg)"


def test_a_loop_inside_a_nested_block_drops_that_top_level_statement():
    code = "    n = 0\n    for x in xs:\n" + "        n += x\n" * 3 + "    return n"
    assert cut_repeats(code, "    ") == "    n = 0"
    assert cut_repeats("    for x in xs:\n" + "        n += x\n" * 3, "    ") == ""


def test_comments_between_copies_do_not_hide_a_loop_and_unparseable_code_is_left_alone():
    assert has_repeat("    f()\n    # again\n    f()\n    f()", "    ")
    assert cut_repeats("    f(\n    f(\n    f(", "    ") is None


# --- docstring-only bodies --------------------------------------------------------------------------------

@pytest.mark.parametrize("code, expected", [
    ('    """Return the thing."""', True),
    ('    """Return the thing."""\n    pass', True),
    ("    'one'\n    'two'", True),
    ('    """Doc."""\n    return 1', False),
    ("    ...", False),                  # no string: empty, not a docstring (parseable_prefix withholds it)
    ("    return 'text'", False),
])
def test_only_docstring(code, expected):
    assert only_docstring(code, "    ") is expected


# --- review: the checks composed --------------------------------------------------------------------------

def _review(text: str, code: str):
    doc = Document("file:///r.py", text)
    target = find_body_target(doc, text.index("def ") + 4)
    return review(doc, lambda c: body_edit(target, c), code, target.indent, ModuleScope.of(doc))


def test_review_rejects_an_undefined_name_even_after_cutting_a_loop():
    found = _review("def check(validator):\n    ...\n", LOOP)
    assert found.code == "" and found.problem == UNDEFINED and found.names == ("msg",)


def test_review_keeps_a_cut_loop_whose_names_are_defined():
    text = "class View:\n    def render(self):\n        ...\n"
    code = "        self._r = self._r\n" * 4 + "        return self._r"
    found = _review(text, code)
    assert found.code == "        self._r = self._r" and found.problem == REPEATED


def test_review_rejects_a_docstring_only_body_and_passes_good_code():
    assert _review("def f(x):\n    ...\n", '    """Garbled text."""').problem == DOCSTRING_ONLY
    good = _review("import os\n\ndef f(x):\n    ...\n", "    return os.path.join(x, 'a')")
    assert good.code == "    return os.path.join(x, 'a')" and good.problem is None


# --- stubs ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "from typing import overload\n\n@overload\ndef f(x: int) -> int: ...\n",
    "import typing\n\n@typing.overload\ndef f(x: int) -> int:\n    ...\n",
    "import abc\n\nclass A(abc.ABC):\n    @abc.abstractmethod\n    def f(self):\n        pass\n",
    "class A:\n    @property\n    @abstractmethod\n    def f(self):\n        \"\"\"Doc.\"\"\"\n",
    "from typing import Protocol\n\nclass P(Protocol):\n    def f(self) -> int: ...\n",
    "import typing\nT = 1\nclass P(typing.Protocol[T], metaclass=M):\n    def f(self): ...\n",
])
def test_overloads_abstract_methods_and_protocol_members_are_stubs_without_a_body_target(text):
    doc = Document("file:///s.py", text)
    offset = text.index("def f") + 4
    assert is_stub(doc, find_function(doc, offset))
    assert find_body_target(doc, offset) is None


@pytest.mark.parametrize("text", [
    "def f(x):\n    ...\n",
    "import functools\n\n@functools.cache\ndef f(x):\n    ...\n",
    "class A(Base):\n    def f(self):\n        ...\n",
    "class P(Protocol):\n    pass\n\ndef f(x):\n    ...\n",
    "from typing import Protocol\n\nclass P(Protocol):\n    def g(self):\n        def f(y):\n            ...\n",
])
def test_ordinary_empty_functions_are_not_stubs(text):
    doc = Document("file:///s.py", text)
    offset = text.index("def f") + 4
    assert not is_stub(doc, find_function(doc, offset))
    assert find_body_target(doc, offset) is not None


def test_every_function_of_a_pyi_file_is_a_stub():
    text = "def f(x: int) -> int: ...\n"
    doc = Document("file:///pkg/mod.pyi", text)
    assert is_stub(doc, find_function(doc, 4)) and find_body_target(doc, 4) is None


# --- the project mix in body decoding (lsp_server.assists.scoped_mix) ----------------------------------------

class _Mixer:
    """A stand-in for project.mixing.Mixer whose caches always vote for the same tokens."""

    def __init__(self, ids, counts):
        from lsp_server.project.mixing import FIXED, MixRule
        from lsp_server.project.ngrams import Match
        self.rule = MixRule(kind=FIXED, weight=0.5)
        self.found = Match(4, np.array(ids), np.array(counts, dtype=float))

    def match(self, generated):
        return self.found


class _Pieces:
    """decode() of a few named tokens."""

    pieces = {1: "msg", 2: "validators", 3: " ", 4: "return"}

    def decode(self, ids):
        return "".join(self.pieces[i] for i in ids)


@pytest.mark.parametrize("text, piece, allowed", [
    ("    return ", "msg", False),             # a name nothing here begins with
    ("    return ", "val", True),              # the start of a known name
    ("    return _", "get", False),            # continues a name: `_get...` begins nothing known
    ("    return len", "gth", False),
    ("    return self.", "msg", True),          # attributes are not names
    ('    raise ValueError("no ', "msg", True),  # nor words in a string
    ("    x = 1  # the ", "msg", True),         # or a comment
    ("    return ", " 12", True),
    ("    return (", " msg", False),
    ("    result = 1\n    return ", "res", True),  # a name the body wrote
])
def test_scoped_mix_drops_votes_for_names_out_of_scope(text, piece, allowed):
    from lsp_server.assists.scoped_mix import ScopedMix
    mix = ScopedMix(_Mixer([1], [1]), _Pieces(), {"validators"})
    assert mix.allowed(text, piece, ["result"] if "result" in text else []) is allowed


def test_scoped_mix_keeps_the_model_and_the_known_names_votes():
    from lsp_server.assists.scoped_mix import ScopedMix
    logprobs = np.log(np.full(5, 0.2))
    mix = ScopedMix(_Mixer([1, 2], [3, 1]), _Pieces(), {"validators"}, prompt_tail="def f(validators):\n    ")
    out = np.exp(mix([4, 3], logprobs))  # after "return "
    assert out[1] == pytest.approx(0.1) and out[2] == pytest.approx(0.1 + 0.5 * 1 / 4) and mix.dropped == 1
    assert out.argmax() == 2  # the cache no longer pushes `msg`; its vote for `validators` stays

