"""Early stop: the engine's halt hook ends a branch where the show-less stages would cut it anyway."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from lsp_server.inline.early_stop import DOUBT, UNSURE, EarlyStop, first_line_done
from lsp_server.inline.options import SuggestOptions
from lsp_server.inline.pipeline import suggest_all
from lsp_server.project.mixing import ProjectContext
from lsp_server.runtime.engine import Generation
from lsp_server.syntax.documents import Document

PIECES = ["self", ".", "items", "[", "name", "]", "\n", "return", " x"]
OPTIONS = SuggestOptions(cut_logprob=-1.5, min_confidence=0.3)


def decode(ids):
    return "".join(PIECES[i] for i in ids)


def growing(ids, logprobs):
    return Generation(decode(ids), list(ids), list(logprobs), "max_tokens", 10)


def test_a_doubtful_token_ends_the_row_before_it_but_never_the_first_or_a_healed_one():
    halt = EarlyStop(OPTIONS, "", None, decode)
    assert halt(growing([], []), 0, -5.0) is None  # a branch's first token is its own choice
    assert halt(growing([0, 1], [-0.1, -0.1]), 2, -3.0) == DOUBT
    assert halt(growing([0, 1], [-0.1, -0.1]), 2, -0.5) is None
    healing = EarlyStop(OPTIONS, "self.it", None, decode)  # "self." written, "it" still to write again
    assert healing(growing([0, 1], [-0.1, -3.0]), 2, -3.0) is None
    assert healing(growing([0, 1, 2], [-0.1, -3.0, -3.0]), 3, -3.0) == DOUBT


class Vouching:
    """A stand-in for the project's caches that would have chosen every token (Mixer.agrees)."""

    def agrees(self, ids):
        return [True] * len(ids)


def test_after_a_first_line_the_gate_would_not_show_whole_the_row_ends():
    sure = EarlyStop(OPTIONS, "", Vouching(), decode)
    confident = growing([0, 1, 2, 6], [-0.01] * 4)
    assert first_line_done(confident.text)
    assert sure(confident, 7, -0.01) is None and sure(confident, 7, -0.01) is None  # judged once
    unsure = growing([0, 1, 2, 3, 4, 5, 6], [-0.1, -1.2, -1.4, -1.3, -1.4, -1.2, -0.1])
    assert EarlyStop(OPTIONS, "", None, decode)(unsure, 7, -0.01) == UNSURE
    gate_off = EarlyStop(dataclasses.replace(OPTIONS, min_confidence=0.0), "", None, decode)
    assert gate_off(unsure, 7, -0.01) is None
    assert EarlyStop(OPTIONS, "", None, decode)(growing([0, 1, 2], [-1.4] * 3), 3, -0.1) is None  # line not done


def test_the_pipeline_shows_the_same_suggestions_with_fewer_model_passes(engine, stdlib_dir):
    """Real code: cursor positions in a standard-library file, project context from its own text."""
    text = (Path(stdlib_dir) / "textwrap.py").read_text()
    doc_lines = text.splitlines(keepends=True)
    options = SuggestOptions(cut_logprob=-1.5, min_confidence=0.3, speculate=False)
    same, passes = 0, {True: 0, False: 0}
    offsets = [sum(map(len, doc_lines[:i])) + len(doc_lines[i]) // 2 for i in range(40, 400, 12)]
    for offset in offsets:
        doc = Document("file:///w/textwrap.py", text[:offset] + text[text.index("\n", offset):])
        found = {}
        for early in (False, True):
            project = ProjectContext(local_ids=engine.encode(text[:offset]))
            got = suggest_all(doc, offset, engine, dataclasses.replace(options, early_stop=early), project=project)
            found[early] = [s.text for s in got]
            passes[early] += sum(s.generation.timings.get("model_calls", 0) for s in got)
        same += found[False] == found[True]
    # A stop rule that cuts back (a loop found later) can shorten the text a full decode would show: rare.
    assert same >= len(offsets) - 2, (same, len(offsets))
    assert passes[True] < passes[False]
