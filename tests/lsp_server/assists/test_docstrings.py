"""Unit tests of the docstring core: definitions.py (tree-sitter facts), naming.py, docstrings.py."""
from __future__ import annotations

import ast

import pytest
from quill_fakes import FakeEngine

from lsp_server.assists.docstrings import (
    clean_summary,
    docstring_edit,
    docstring_prompt,
    render_docstring,
    suggest_docstring,
    summarize,
)
from lsp_server.assists.name_phrases import summary_from_name, words
from lsp_server.runtime.cancel import CancelToken
from lsp_server.syntax.definitions import (
    CLASS,
    FUNCTION,
    METHOD,
    Param,
    Raise,
    find_definition,
)
from lsp_server.syntax.documents import Document, parse
from lsp_server.syntax.queries import load_query

TOTAL = '''def get_total(items: list[Item], tax: float = 0.0) -> float:
    if not items:
        raise ValueError("no items")
    return sum(i.price for i in items) * (1 + tax)
'''

STACK = '''class Stack:
    """A last-in, first-out stack."""

    def __init__(self, size: int = 10, *items, **options):
        self.items = list(items)

    @staticmethod
    def make(a, b=2) -> "Stack":
        def inner():
            raise KeyError("inner only")
        if not a:
            raise ValueError("no a")
        elif a > 3:
            raise errors.TooBig
        raise
        return Stack()

    def walk(self) -> Iterator[int]:
        yield from self.items
        f = lambda: (yield)

    def peek(self): return self.items[-1]
'''


def doc(text: str) -> Document:
    return Document("file:///test.py", text)


def info_at(text: str, needle: str, delta: int = 0):
    return find_definition(doc(text), text.index(needle) + delta)


def parses(text: str) -> bool:
    tree = parse(text.encode("utf-8"))
    return tree is not None and not tree.root_node.has_error and bool(ast.parse(text))


# --- definitions: what tree-sitter tells us -------------------------------------------------------------

def test_queries_are_compiled_once_and_shared():
    assert load_query("definitions") is load_query("definitions")


def test_find_definition_reads_typed_params_defaults_return_and_raise_condition():
    info = info_at(TOTAL, "get_total")
    assert (info.kind, info.name, info.returns) == (FUNCTION, "get_total", "float")
    assert info.params == (Param("items", "list[Item]"), Param("tax", "float", "0.0"))
    assert info.raises == (Raise("ValueError", "not items"),)
    assert info.returns_value and not info.yields and info.docstring is None
    assert info.indent == "    "


def test_find_definition_works_anywhere_on_the_name_including_just_after_it():
    for delta in (0, 4, len("get_total")):
        assert info_at(TOTAL, "get_total", delta).name == "get_total"


def test_find_definition_is_none_off_a_name():
    for needle in ("def ", "items:", "raise", "return"):
        assert info_at(TOTAL, needle) is None, needle


def test_method_drops_self_but_staticmethod_keeps_its_first_parameter():
    init = info_at(STACK, "__init__")
    assert init.kind == METHOD and init.indent == " " * 8
    assert [p.name for p in init.params] == ["size", "*items", "**options"]
    assert [p.name for p in info_at(STACK, "make").params] == ["a", "b"]


def test_raises_exclude_nested_functions_and_bare_raise_and_keep_dotted_names_and_elif_conditions():
    assert info_at(STACK, "make").raises == (Raise("ValueError", "not a"), Raise("errors.TooBig", "a > 3"))


def test_yields_are_found_but_not_inside_a_lambda():
    assert info_at(STACK, "walk").yields
    text = "def f():\n    g = lambda: (yield)\n    return g\n"
    assert not info_at(text, "f(").yields


def test_class_documents_its_init_parameters_and_sees_its_docstring():
    info = info_at(STACK, "Stack")
    assert info.kind == CLASS and info.docstring is not None
    assert [p.name for p in info.params] == ["size", "*items", "**options"]


def test_fstring_is_not_a_docstring_but_a_plain_string_is():
    assert info_at('def f():\n    f"x{1}"\n', "f(").docstring is None
    assert info_at('def f():\n    "x"\n', "f(").docstring is not None


def test_non_ascii_text_before_the_name_keeps_offsets_in_code_points():
    text = 's = "héllo 😀"\ndef grüße(名前):\n    return 名前\n'
    info = info_at(text, "grüße")
    assert text[info.name_start:info.name_end] == "grüße"
    assert info.params == (Param("名前"),)


# --- naming: the fallback summary -----------------------------------------------------------------------

@pytest.mark.parametrize("text, needle, expected", [
    (TOTAL, "get_total", "Return the total."),
    ("def is_valid_email(address):\n    return '@' in address\n", "is_valid", "Return whether address is valid email."),
    ("def _split_header_words(text):\n    return text.split()\n", "_split", "Split the header words."),
    ("def add(a, b):\n    return a + b\n", "add", "Add a and b."),
    ("class HTTPServer:\n    pass\n", "HTTP", "A HTTP server."),
    (STACK, "__init__", "Initialize the instance."),
    ("def total_price(basket):\n    return 1\n", "total", "Return the total price."),
])
def test_summary_from_name(text, needle, expected):
    assert summary_from_name(info_at(text, needle)) == expected


def test_words_split_snake_camel_acronyms_and_non_ascii():
    assert words("getURLForID") == ["get", "URL", "for", "ID"]
    assert words("grüße_ÉtéClass") == ["grüße", "été", "class"]


# --- the model's summary line ---------------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ("Compute the total price of the basket.\n    more", "Compute the total price of the basket."),
    ('  \n    compute the total price"""\n', "Compute the total price."),
    ("Return the sum. Then more words.", "Return the sum."),
    ("Return a list of the same time of the same time", None),   # repetition loop
    ("\n    def __init__(self, b):", None),                       # code, not prose
    ("return self.total", None),
    ("Return the value of", None),                               # cut off
    ("Return a list of the following.", None),
    ("ok", None),
])
def test_clean_summary(raw, expected):
    assert clean_summary(raw) == expected


def test_summarize_uses_the_models_sentence_and_prompts_with_the_source_then_an_open_docstring():
    engine = FakeEngine("Add up the prices of the items.\n    total = 0")
    summary = summarize(engine, doc(TOTAL), info_at(TOTAL, "get_total"), max_new_tokens=17)
    assert (summary.text, summary.source) == ("Add up the prices of the items.", "model")
    prompt = engine.prompts[0]
    assert prompt.startswith(TOTAL)
    assert prompt.endswith("\n\ndef get_total(items: list[Item], tax: float = 0.0) -> float:\n    \"\"\"")
    assert engine.max_new_tokens == [17]


def test_summarize_gives_the_placeholder_when_the_model_loops_is_missing_or_restates_the_name():
    info = info_at(TOTAL, "get_total")
    looping = FakeEngine("Test the time of the time of the time.")
    assert summarize(looping, doc(TOTAL), info).source == "placeholder"
    assert summarize(None, doc(TOTAL), info).text == "_summary_"
    assert summarize(FakeEngine("Return the total of the items.\n"), doc(TOTAL), info).source == "placeholder"


def test_a_dunders_conventional_sentence_says_more_than_its_name_and_is_kept():
    text = "class A:\n    def __len__(self):\n        return 3\n"
    summary = summarize(None, doc(text), info_at(text, "__len__"))
    assert (summary.text, summary.source) == ("Return the number of items.", "name")


def test_prompt_of_a_method_is_dedented_and_leaves_out_the_old_docstring():
    text = 'class A:\n    def run(self):\n        """Old words."""\n        return 1\n'
    ids = docstring_prompt(doc(text), info_at(text, "run"), FakeEngine("").encode)
    prompt = bytes(ids).decode()
    assert "Old words" not in prompt
    assert prompt.startswith("def run(self):\n") and prompt.endswith('\n\ndef run(self):\n    """')


def test_real_engine_summary_is_one_clean_sentence_or_the_placeholder(engine):
    summary = summarize(engine, doc(TOTAL), info_at(TOTAL, "get_total"))
    assert summary.source in ("model", "placeholder")
    if summary.source == "model":
        assert summary.text.endswith(".") and "\n" not in summary.text and '"""' not in summary.text
        assert clean_summary(summary.text) == summary.text


# --- rendering ------------------------------------------------------------------------------------------

def test_render_google():
    assert render_docstring(info_at(TOTAL, "get_total"), "Return the total.", "google") == '''"""Return the total.

Args:
    items (list[Item]): _description_
    tax (float): _description_ Defaults to 0.0.

Returns:
    float: _description_

Raises:
    ValueError: If not items.
"""'''


def test_render_numpy():
    assert render_docstring(info_at(TOTAL, "get_total"), "Return the total.", "numpy") == '''"""Return the total.

Parameters
----------
items : list[Item]
    _description_
tax : float, default 0.0
    _description_

Returns
-------
float
    _description_

Raises
------
ValueError
    If not items.
"""'''


def test_render_sphinx():
    assert render_docstring(info_at(TOTAL, "get_total"), "Return the total.", "sphinx") == '''"""Return the total.

:param items: _description_
:type items: list[Item]
:param tax: _description_ Defaults to 0.0.
:type tax: float
:returns: _description_
:rtype: float
:raises ValueError: If not items.
"""'''


def test_render_yields_section_with_the_iterator_item_type_and_no_returns():
    text = render_docstring(info_at(STACK, "walk"), "Walk the items.", "google")
    assert "Yields:\n    int: _description_" in text and "Returns" not in text


def test_render_without_sections_is_one_line_and_unknown_style_is_an_error():
    info = info_at("def tick():\n    pass\n", "tick")
    assert render_docstring(info, "Advance the clock.") == '"""Advance the clock."""'
    with pytest.raises(ValueError, match="unknown docstring style"):
        render_docstring(info, "x.", "epytext")


def test_backslash_in_a_default_makes_a_raw_docstring_that_keeps_it():
    text = 'def split(s, sep="\\\\d"):\n    return s\n'
    literal = render_docstring(info_at(text, "split"), "Split s.")
    assert literal.startswith('r"""') and 'Defaults to "\\\\d".' in literal


# --- edits ----------------------------------------------------------------------------------------------

def apply_docstring(text: str, needle: str, style: str = "google") -> str:
    d = doc(text)
    info = find_definition(d, text.index(needle))
    return docstring_edit(d, info, render_docstring(info, summary_from_name(info), style)).apply(text)


def test_add_docstring_inserts_it_first_at_the_body_indentation_and_parses():
    out = apply_docstring(STACK, "__init__")
    assert '    def __init__(self, size: int = 10, *items, **options):\n        """Initialize the instance.\n\n' \
           '        Args:\n            size (int): _description_ Defaults to 10.\n' in out
    assert parses(out)


def test_inline_body_becomes_a_block_with_the_docstring_first():
    out = apply_docstring(STACK, "peek")
    assert '    def peek(self):\n        """Return the peek.\n\n        Returns:\n' \
           '            _description_\n        """\n' \
           '        return self.items[-1]\n' in out
    assert parses(out)


def test_regenerate_replaces_the_existing_docstring_and_tabs_are_kept():
    text = 'def f(a):\n\t"""Old."""\n\treturn a\n'
    out = apply_docstring(text, "f(", "sphinx")
    assert "Old." not in out
    assert '\t"""Return the f.\n\n\t:param a: _description_\n\t:returns: _description_\n\t"""\n\treturn a' in out
    assert parses(out)


def test_suggest_docstring_with_non_ascii_text_before_the_name():
    text = 'GREETING = "héllo 😀"\n\n\ndef fetch_user(user_id: int):\n    return db[user_id]\n'
    suggestion = suggest_docstring(doc(text), text.index("fetch_user") + 2, FakeEngine("Load one user.\n"))
    assert suggestion.summary.text == "Load one user."
    out = suggestion.edit.apply(text)
    assert '    """Load one user.\n\n    Args:\n        user_id (int): _description_\n' in out and parses(out)


def test_suggest_docstring_is_none_off_a_name_and_a_cancelled_model_falls_back():
    assert suggest_docstring(doc(TOTAL), TOTAL.index("return"), FakeEngine("x")) is None
    token = CancelToken()
    token.cancel()
    suggestion = suggest_docstring(doc(TOTAL), 5, FakeEngine("Add the prices."), cancel=token)
    assert suggestion.summary.source == "placeholder"
