"""Token healing: the typed end of a line is left out of the prompt and the model must write it again."""
from __future__ import annotations

import pytest

from lsp_server.inline.cursor import cursor_context
from lsp_server.inline.healing import heal_text
from lsp_server.inline.pipeline import suggest
from lsp_server.syntax.documents import Document


@pytest.mark.parametrize("text, heal", [
    ("x = impo", " impo"),        # a partly typed word takes its space along: `Ġimport` is one token
    ("    impo", "impo"),         # alone on the line: the indentation token stays in the prompt
    ("y = self.na", "na"),
    ("for a in ", " "),
    ("print(", ""),
    ("x = 1  ", "  "),
    ("s = 'héllo' + wör", ""),    # non-ASCII word: token texts would not match byte for byte
])
def test_heal_text_is_the_typed_tail_of_the_line(text, heal):
    ctx = cursor_context(Document("file:///h.py", text), len(text))
    assert ctx is not None and heal_text(ctx) == heal


def test_heal_mask_keeps_tokens_consistent_with_the_healed_text(engine):
    mask = engine.heal_mask(" impo")
    texts = [t for t, ok in zip(engine.token_texts, mask) if ok]
    assert " import" in texts and " im" in texts and " " in texts
    assert all(t.startswith(" impo") or " impo".startswith(t) for t in texts) and "" not in texts


def test_constrained_branches_all_reproduce_the_healed_text(engine):
    ids = engine.encode("import os\nimport")
    unconstrained = engine.generate_alternatives(ids, 3, 6)
    healed = engine.generate_alternatives(ids, 3, 6, heal=" sy")
    assert all(g.text.startswith(" sy") for g in healed)
    assert any(not g.text.startswith(" sy") for g in unconstrained)  # the constraint changed something
    assert all(lp <= 0 for g in healed for lp in g.logprobs)


@pytest.mark.parametrize("text, expected_start", [
    ("import os\nimport sy", "s"),
    ("class A:\n    def __init__(self, name):\n        self.na", "me"),
])
def test_suggestions_inside_a_partly_typed_word_complete_the_word(engine, text, expected_start):
    found = suggest(Document("file:///h.py", text), len(text), engine)
    assert found is not None and found.text.startswith(expected_start)
