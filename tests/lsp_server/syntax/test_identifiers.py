"""Unit tests of completion names: buffer collection (lsp_server.names) and ranking (lsp_server.rank)."""

from lsp_server.assists.name_ranking import (
    NameOptions,
    RankedName,
    complete_names,
    merge,
    split_lead,
)
from lsp_server.syntax.documents import Document
from lsp_server.syntax.identifiers import Name, WordAt, collect_names, word_at

CURSOR = "‸"
SOURCE = '''import os
from typing import Any as A
LIMIT = 3


class Person:
    species = "human"

    def __init__(self, name, age=1):
        self.name = name
        self.names_seen = []
        local_x = 1
        os.path.join(name)

    def greet(self, other):
        other.nickname = 2
        <1>

    @property
    def tag(self):
        return [k for k in range(3)]


def helper(p):
    q = p
    return <2>
'''


def names_at(fill1="pass", fill2="None"):
    """(Document, offset) with the cursor after fill1 (when it holds CURSOR) or fill2."""
    text = SOURCE.replace("<1>", fill1).replace("<2>", fill2)
    offset = text.index(CURSOR)
    return Document("file:///t.py", text.replace(CURSOR, "")), offset


def collected(doc, offset):
    word = word_at(doc, offset)
    return [(n.text, n.kind, n.group) for n in collect_names(doc, word)]


def test_word_at_an_attribute_position_names_the_object():
    doc, offset = names_at("self.na" + CURSOR)
    assert word_at(doc, offset) == WordAt(offset - 2, offset, "na", "self", True)
    doc, offset = names_at("x = os.path.jo" + CURSOR + "in")
    assert word_at(doc, offset) == WordAt(offset - 2, offset + 2, "jo", "os.path", True)


def test_word_at_rejects_numbers_strings_comments_and_new_names():
    for fill in ("x = 1." + CURSOR, "x = 12" + CURSOR, "x = 'self." + CURSOR + "'", "# self." + CURSOR,
                 "def na" + CURSOR + "(self): pass", "x = " + CURSOR, "from ." + CURSOR + " import a"):
        doc, offset = names_at(fill)
        assert word_at(doc, offset) is None, fill


def test_word_at_after_a_call_is_an_attribute_position_of_an_unknown_object():
    doc, offset = names_at("x = other.get()." + CURSOR)
    assert word_at(doc, offset) == WordAt(offset, offset, "", None, True)


def test_self_attributes_and_methods_of_the_enclosing_class_come_first_as_fields_and_methods():
    doc, offset = names_at("self." + CURSOR)
    names = collected(doc, offset)
    own = {(text, kind) for text, kind, group in names if group == 0}
    assert own == {("name", "field"), ("names_seen", "field"), ("species", "field"), ("__init__", "method"),
                   ("greet", "method"), ("tag", "method")}
    others = [(text, kind) for text, kind, group in names if group == 1]
    assert ("nickname", "field") in others and ("join", "method") in others
    assert names.index(("name", "field", 0)) < names.index(("nickname", "field", 1))


def test_the_partial_word_being_typed_is_not_a_candidate():
    doc, offset = names_at("self.na" + CURSOR)
    assert collected(doc, offset) == [("names_seen", "field", 0), ("name", "field", 0)]


def test_identifier_positions_offer_names_visible_from_the_cursor():
    doc, offset = names_at(fill2="l" + CURSOR)
    assert collected(doc, offset) == [("LIMIT", "constant", 0)]  # local_x lives in another function
    doc, offset = names_at(fill2="p" + CURSOR)
    assert [n for n, _, _ in collected(doc, offset)] == ["p", "Person"]
    doc, offset = names_at(fill2="A" + CURSOR)
    assert collected(doc, offset) == [("A", "module", 0)]


def test_class_body_names_are_not_visible_as_bare_names_inside_methods():
    doc, offset = names_at("sp" + CURSOR)
    assert collected(doc, offset) == []
    doc, offset = names_at("ot" + CURSOR)
    assert collected(doc, offset) == [("other", "parameter", 0)]


def test_collect_names_without_a_tree_is_empty():
    doc = Document("file:///t.txt", "self.na", language_id="plaintext")
    assert collect_names(doc, WordAt(5, 7, "na", "self", True)) == []


def test_split_lead_gives_one_space_to_the_name():
    assert split_lead("x = ") == ("x =", " ")
    assert split_lead("x =  ") == ("x =  ", "")
    assert split_lead("self.") == ("self.", "")
    assert split_lead("    ") == ("    ", "")


def test_merge_ranks_scored_names_by_score_within_groups_and_adds_new_proposals():
    word = WordAt(0, 0, "", "self", True)
    names = [Name("b", "field", 0, 5), Name("a", "field", 0, 1), Name("c", "method", 1, 2), Name("d", "field", 0, 9)]
    ranked = merge(word, names, {"a": -3.0, "b": -1.0, "c": -0.1}, {"e": -0.5, "a": -2.0})
    assert [(r.text, r.kind, r.group, r.score) for r in ranked] == [
        ("b", "field", 0, -1.0), ("a", "field", 0, -2.0), ("d", "field", 0, None),
        ("c", "method", 1, -0.1), ("e", "model", 1, -0.5)]


def test_complete_names_without_a_model_ranks_by_the_buffer_and_is_complete():
    doc, offset = names_at("self.na" + CURSOR)
    result = complete_names(doc, offset, None)
    assert [r.text for r in result.names] == ["names_seen", "name"]
    assert result.incomplete is False
    assert all(isinstance(r, RankedName) and r.score is None for r in result.names)


def test_complete_names_caps_the_list_and_then_says_it_is_incomplete():
    doc, offset = names_at("self." + CURSOR)
    result = complete_names(doc, offset, None, NameOptions(max_items=3))
    assert len(result.names) == 3 and result.incomplete is True


def test_complete_names_is_none_off_identifier_positions():
    doc, offset = names_at("x = " + CURSOR)
    assert complete_names(doc, offset, None) is None


def test_self_at_the_end_of_a_method_still_finds_its_class():
    text = "class Person:\n    def __init__(self, name):\n        self.\n"
    doc = Document("file:///t.py", text)
    word = word_at(doc, text.index("self.\n") + 5)
    assert [(n.text, n.kind, n.group) for n in collect_names(doc, word)] == [("__init__", "method", 0)]
