"""Unit tests of the completion pipeline stages (lsp_server.suggest), with no server and no model."""

import dataclasses

import pytest

from lsp_server.inline.cursor import BLOCK, LINE, cursor_context
from lsp_server.inline.options import SuggestOptions
from lsp_server.inline.pipeline import suggest
from lsp_server.inline.postprocess import postprocess, syntax_cut, trim_suffix_overlap
from lsp_server.inline.prompt import PromptBudget
from lsp_server.inline.stops import make_stop
from lsp_server.runtime.engine import Generation
from lsp_server.syntax.documents import Document

CURSOR = "‸"
SPECIAL = {"<fim_prefix>": 0, "<fim_suffix>": 1, "<fim_middle>": 2, "<eos>": 3}


def at(source):
    """(Document, offset) for source text with one CURSOR mark where the cursor is."""
    assert source.count(CURSOR) == 1
    offset = source.index(CURSOR)
    return Document("file:///t.py", source.replace(CURSOR, "")), offset


def ctx_at(source):
    doc, offset = at(source)
    return cursor_context(doc, offset)


def stopped(ctx, text, max_lines=6):
    """What a generation of `text` keeps under make_stop."""
    cut = make_stop(ctx, max_lines)(text)
    return text if cut is None else text[:cut]


# --- stage 1: cursor_context ---------------------------------------------------------------------

def test_mid_line_cursor_completes_the_line():
    ctx = ctx_at("x = fo‸o(1)\n")
    assert ctx.mode == LINE
    assert ctx.line_before == "x = fo"
    assert ctx.line_after == "o(1)"


def test_end_of_line_opening_a_block_completes_a_block_deeper_than_the_line():
    ctx = ctx_at("class A:\n    def f(self):‸\n")
    assert ctx.mode == BLOCK
    assert ctx.indent == 4
    assert ctx.block_floor == 5


def test_blank_indented_line_completes_a_block_at_that_depth():
    ctx = ctx_at("def f():\n    x = 1\n    ‸\n")
    assert ctx.mode == BLOCK
    assert ctx.block_floor == 4


def test_end_of_a_plain_statement_completes_the_line():
    ctx = ctx_at("def f():\n    x = compute(1)‸\n")
    assert ctx.mode == LINE
    assert ctx.block_floor == 0


def test_crlf_line_end_is_not_part_of_the_rest_of_the_line():
    ctx = ctx_at("if x:‸\r\n    pass\r\n")
    assert ctx.line_after == ""
    assert ctx.mode == BLOCK


def test_offsets_after_non_ascii_text_are_code_points():
    source = "s = 'é😀'; t = ‸\n"
    ctx = ctx_at(source)
    assert ctx.prefix == "s = 'é😀'; t = "
    assert ctx.suffix == "\n"
    assert ctx.offset == source.index(CURSOR)
    assert ctx.line_before == "s = 'é😀'; t = "


def test_no_completion_inside_a_comment():
    assert ctx_at("x = 1  # café 😀 ‸\n") is None
    assert ctx_at("# a comment‸\nx = 1\n") is None


def test_completion_before_a_comment_is_allowed():
    assert ctx_at("x = ‸  # é\n") is not None


def test_no_completion_inside_a_plain_string():
    assert ctx_at("name = 'é😀 ab‸c'\n") is None
    assert ctx_at("def f():\n    x = 1\n    y = \"ab‸c\"\n") is None


def test_completion_right_after_a_closing_quote_is_allowed():
    assert ctx_at("name = 'abc'‸\n") is not None


def test_completion_inside_a_docstring_is_allowed():
    assert ctx_at('def f():\n    """Return the é😀 ‸"""\n') is not None
    assert ctx_at('"""Module ‸doc."""\n') is not None


def test_completion_inside_a_docstring_after_a_comment_is_allowed():
    # Regression: a shebang or licence comment made the module docstring look like a plain string.
    assert ctx_at('#!/usr/bin/env python\n"""Module ‸doc."""\n') is not None
    assert ctx_at('def f():\n    x = 1\n    # note\n    "not a ‸docstring"\n') is None


# --- stage 3 helper: make_stop -------------------------------------------------------------------

def test_line_mode_stops_at_the_first_newline():
    ctx = ctx_at("x = fo‸\n")
    assert stopped(ctx, "o(1)\ny = 2\n") == "o(1)"
    assert stopped(ctx, "\nfoo") == ""
    assert make_stop(ctx, 6)("o(1") is None


def test_line_mode_allows_a_leading_newline_when_the_line_before_the_cursor_is_blank():
    ctx = ctx_at("def f():\n    ‸pass\n")
    assert ctx.mode == LINE
    assert stopped(ctx, "\n    return 1\n    x") == "\n    return 1"


def test_block_stops_at_a_dedent_below_the_floor():
    ctx = ctx_at("def f():‸\n")
    assert stopped(ctx, "\n    a = 1\n    return a\nprint(f())\n") == "\n    a = 1\n    return a"


def test_block_keeps_nested_and_blank_lines():
    ctx = ctx_at("def f():‸\n")
    text = "\n    if a:\n        b()\n\n    return a\n"
    assert make_stop(ctx, 6)(text) is None


def test_block_does_not_judge_an_unfinished_last_line():
    ctx = ctx_at("def f():‸\n")
    assert make_stop(ctx, 6)("\n    a = 1\npri") is None


def test_block_on_a_blank_line_stops_at_a_line_shallower_than_the_cursor():
    ctx = ctx_at("class A:\n    def f(self):\n        x = 1\n        ‸\n")
    assert stopped(ctx, "return x\n\n    def g(self):\n") == "return x\n"


def test_block_stops_after_max_lines():
    ctx = ctx_at("def f():\n    ‸\n")
    text = "".join(f"    v{i} = {i}\n" for i in range(10))[4:]
    kept = stopped(ctx, text, max_lines=3)
    assert kept == "v0 = 0\n    v1 = 1\n    v2 = 2"


# --- stage 4: trim_suffix_overlap, postprocess ---------------------------------------------------

def test_trim_drops_a_repeat_of_the_whole_rest_of_the_line():
    assert trim_suffix_overlap("foo(x))", ")") == "foo(x)"


def test_trim_drops_repeated_closing_punctuation():
    assert trim_suffix_overlap("name)", "):") == "name"


def test_trim_leaves_text_without_overlap_unchanged():
    assert trim_suffix_overlap("foo(x)", "  # comment") == "foo(x)"
    assert trim_suffix_overlap("value", "") == "value"


def test_trim_keeps_a_closing_bracket_the_completion_itself_needs():
    # Regression: inside an auto-closed `print(|)`, the correct `foo(x)` was cut to `foo(x`.
    assert trim_suffix_overlap("foo(x)", ")", "print(") == "foo(x)"
    assert trim_suffix_overlap("foo(x))", ")", "print(") == "foo(x)"
    assert trim_suffix_overlap("x)", ")", "print(foo(") == "x)"
    assert trim_suffix_overlap("x)", "))", "print(foo(") == "x"


def test_postprocess_strips_trailing_whitespace_and_blank_lines():
    ctx = ctx_at("def f():‸\n")
    assert postprocess("\n    a = 1   \n    return a\t\n\n   \n", ctx) == "\n    a = 1\n    return a"


def test_postprocess_removes_suffix_overlap_in_line_mode():
    ctx = ctx_at("if (‸):\n    pass\n")
    assert postprocess("name):  ", ctx) == "name"


def test_postprocess_keeps_a_blank_line_completion_on_the_cursor_line_at_its_depth():
    ctx = ctx_at("def f():\n    x = 1\n    ‸\n")
    assert postprocess("\n    return x\n", ctx) == "return x"
    assert postprocess("return x\n", ctx) == "return x"


def test_postprocess_of_only_whitespace_is_empty():
    assert postprocess("  \n\n \t\n", ctx_at("x = ‸\n")) == ""


# --- stage 4: syntax_cut -------------------------------------------------------------------------

def test_syntax_cut_keeps_a_completion_that_fixes_an_attribute_access():
    doc, offset = at("class A:\n    def __init__(self, name):\n        s = 'é😀'\n        self.‸\n")
    assert syntax_cut(doc, offset, "name = name") == "name = name"


def test_syntax_cut_cuts_a_multiline_completion_back_to_the_lines_that_parse():
    doc, offset = at("def f():\n    return 1\n\n‸\n")
    assert syntax_cut(doc, offset, "x = 1\ny = (\n") == "x = 1"


def test_syntax_cut_returns_empty_when_every_candidate_breaks_a_document_that_parsed():
    doc, offset = at("x = 1\n‸\ny = 2\n")
    assert doc.tree is not None and not doc.tree.root_node.has_error
    assert syntax_cut(doc, offset, "def (:\n)]") == ""


def test_syntax_cut_only_looks_at_the_statement_around_the_cursor():
    # An error elsewhere in the file does not block a good completion here.
    doc, offset = at("def broken(:\n    pass\n\nvalue = ‸\n\nz = 3\n")
    assert syntax_cut(doc, offset, "compute(1)") == "compute(1)"


# --- the whole pipeline with a fake engine -------------------------------------------------------

class FakeEngine:
    """Stands in for lsp_server.engine.Engine: one token per character, a fixed generated text."""

    special = SPECIAL

    def __init__(self, text, stop_reason="max_tokens", apply_stop=False, logprob=-0.1, alternatives=()):
        self.text, self.stop_reason, self.apply_stop = text, stop_reason, apply_stop
        self.logprob = logprob
        self.alternatives = list(alternatives)  # (text, logprob) of branches after the first
        self.calls = []

    def generate_alternatives(self, prompt_ids, n, max_new_tokens=24, stop=None, deadline=None, cancel=None,
                              cache=None, skip=0, heal="", bias=None, draft=None, halt=None):
        first = self.generate(prompt_ids, max_new_tokens, stop, deadline, cancel)
        self.calls[-1].update(n=n, skip=skip)
        more = [FakeEngine(text, self.stop_reason, self.apply_stop, logprob) for text, logprob in self.alternatives]
        return ([first] + [alt.generate(prompt_ids, max_new_tokens, stop, deadline, cancel) for alt in more])[skip:skip + n]

    def encode(self, text):
        return [ord(c) + 10 for c in text]

    def generate(self, prompt_ids, max_new_tokens=24, stop=None, deadline=None, cancel=None):
        self.calls.append({"prompt_ids": prompt_ids, "max_new_tokens": max_new_tokens,
                           "stop": stop, "deadline": deadline, "cancel": cancel})
        text, reason = self.text, self.stop_reason
        if self.apply_stop and stop is not None:  # what the real engine does after each token
            for end in range(1, len(text) + 1):
                cut = stop(text[:end])
                if cut is not None:
                    text, reason = text[:cut], "stop"
                    break
        return Generation(text, [], [self.logprob] * len(text), reason, len(prompt_ids))


def test_suggest_wires_prompt_generation_and_postprocessing():
    doc, offset = at("s = 'é😀'\nvalue = max(‸)\n")
    engine = FakeEngine("a, b)  \nprint(1)\n", apply_stop=True)
    options = SuggestOptions(max_new_tokens=7, budget=PromptBudget(64, 16), fim_order="psm")
    result = suggest(doc, offset, engine, options)
    call = engine.calls[0]
    ids = call["prompt_ids"]
    assert ids[0] == SPECIAL["<fim_prefix>"] and ids[-1] == SPECIAL["<fim_middle>"]
    assert ids[1:ids.index(SPECIAL["<fim_suffix>"])] == engine.encode("s = 'é😀'\nvalue = max(")
    assert ids[ids.index(SPECIAL["<fim_suffix>"]) + 1:-1] == engine.encode(")\n")
    assert call["max_new_tokens"] == 7
    assert call["deadline"] is not None
    assert result is not None
    assert result.text == "a, b"
    assert result.offset == offset
    assert result.mode == LINE
    assert result.generation.stop_reason == "stop"


def test_suggest_cuts_a_dedented_last_line_left_unfinished_by_the_engine():
    # Regression: generation ending inside a dedented last line (max_tokens) leaked it into the result.
    doc, offset = at("def f():‸\n")
    result = suggest(doc, offset, FakeEngine("\n    return 1\nprint"))
    assert result is not None
    assert result.text == "\n    return 1"


def test_suggest_returns_none_for_a_cancelled_generation():
    doc, offset = at("x = ‸\n")
    assert suggest(doc, offset, FakeEngine("1", stop_reason="cancelled")) is None


def test_suggest_returns_none_when_nothing_useful_is_generated():
    doc, offset = at("x = 1\n‸\ny = 2\n")
    assert suggest(doc, offset, FakeEngine("   \n\n")) is None
    assert suggest(doc, offset, FakeEngine("def (:")) is None


def test_suggest_does_not_call_the_engine_inside_a_comment():
    doc, offset = at("# todo ‸\n")
    engine = FakeEngine("never")
    assert suggest(doc, offset, engine) is None
    assert engine.calls == []


def test_suggest_options_are_frozen_defaults():
    options = SuggestOptions()
    assert dataclasses.replace(options, max_lines=2).max_lines == 2
    assert options.max_lines == 6


# --- stage 1 from the syntax tree ----------------------------------------------------------------

def test_a_colon_that_opens_no_block_completes_the_line():
    assert ctx_at("f = lambda x:‸\n").mode == LINE
    assert ctx_at("d = {1:‸\n").mode == LINE
    assert ctx_at("y = a[1:‸\n").mode == LINE


def test_every_compound_statement_header_opens_a_block_and_starts_it_on_a_new_line():
    for header in ("while x:", "with open(p) as f:", "try:", "if a:\n    pass\nelse:", "async def f():",
                   "for i in range(3):", "class A(B):", "match x:\n    case 1:"):
        ctx = ctx_at(header + "‸\n")
        assert ctx.mode == BLOCK, header
        assert ctx.lead == "\n"


def test_an_unfinished_header_in_a_broken_file_still_opens_a_block():
    ctx = ctx_at("x = (\ndef f(a):‸\n")
    assert ctx.mode == BLOCK


def test_a_comment_after_the_cursor_keeps_the_completion_on_the_line():
    assert ctx_at("if x:‸  # why\n").mode == LINE


def test_no_completion_in_an_unclosed_string_that_the_parser_gave_up_on():
    assert ctx_at("x = 'abc‸\ny = 2\n") is None
    assert ctx_at("print(\"it is ‸\n") is None


def test_completion_inside_an_f_string_field_is_code():
    assert ctx_at("s = f'{value.‸}'\n") is not None
    assert ctx_at("s = f'value ‸{x}'\n") is None


def test_brackets_open_at_the_cursor_are_recorded_innermost_last():
    assert ctx_at("x = foo(a, [b, ‸\n").open_brackets == ")]"
    assert ctx_at("x = foo(')', ‸)\n").open_brackets == ")"
    assert ctx_at("x = 1\ny = ‸\n").open_brackets == ""


# --- stage 3: stop rules ---------------------------------------------------------------------------

def test_line_mode_drops_a_bracket_the_code_after_the_cursor_already_closes():
    ctx = ctx_at("print(‸)\n")
    assert stopped(ctx, "foo(x))") == "foo(x)"
    assert stopped(ctx, "'(', x)") == "'(', x"


def test_block_stops_at_a_bracket_that_closes_the_enclosing_list():
    ctx = ctx_at("values = [\n    1,\n    ‸\n]\n")
    assert stopped(ctx, "2,\n    3,\n]\nprint(values)\n") == "2,\n    3,"


def test_block_keeps_the_line_that_closes_an_enclosing_bracket_the_suffix_lacks():
    ctx = ctx_at("values = [\n    1,\n    ‸\n")
    assert stopped(ctx, "2]\nprint(values)\n") == "2]"


def test_block_keeps_lines_inside_brackets_it_opened_whatever_their_indentation():
    ctx = ctx_at("def f():‸\n")
    text = "\n    x = [\n1,\n2]\n    return x\n"
    assert make_stop(ctx, 6)(text) is None


def test_top_level_block_stops_at_the_next_top_level_statement_but_not_at_else():
    ctx = ctx_at("x = 1\n‸\n")
    assert stopped(ctx, "if x:\n    y = 1\nelse:\n    y = 2\nprint(y)\n") == "if x:\n    y = 1\nelse:\n    y = 2"


def test_block_stops_at_a_new_top_level_definition():
    ctx = ctx_at("def f():\n    ‸\n")
    assert stopped(ctx, "return 1\n\ndef g():\n") == "return 1\n"


def test_block_stops_at_a_dedent_to_a_level_no_enclosing_line_has():
    ctx = ctx_at("def f(x):‸\n")
    assert stopped(ctx, "\n        return x\n    y = 1\n") == "\n        return x"


def test_block_stops_where_the_model_repeats_a_line():
    ctx = ctx_at("def f(x):‸\n")
    assert stopped(ctx, "\n    import os\n    import os\n    import os\n") == "\n    import os"


def test_a_loop_of_short_units_is_cut_where_it_starts():
    ctx = ctx_at("x = compute(‸)\n")
    assert stopped(ctx, "a_in_in_in_in_in") == "a"
    assert stopped(ctx, "tk.call('self.tk.call('self.tk.call('self.") == ""
    assert make_stop(ctx, 6)("a_in_in") is None


def test_max_lines_one_keeps_only_the_first_body_line():
    ctx = ctx_at("def f(x):‸\n")
    assert stopped(ctx, "\n    y = x\n    return y\n", max_lines=1) == "\n    y = x"


# --- stage 4 -------------------------------------------------------------------------------------

def test_repeated_next_line_of_the_suffix_is_trimmed():
    from lsp_server.inline.postprocess import trim_repeated_suffix
    assert trim_repeated_suffix("\n    y = x\n    return y", "\n    return y\n") == "\n    y = x"
    assert trim_repeated_suffix("return y", "\n    return y\n") == ""
    assert trim_repeated_suffix("\n    y = x", "\n\n") == "\n    y = x"


def test_postprocess_never_keeps_special_token_text():
    ctx = ctx_at("x = ‸\n")
    assert postprocess("1 <fim_suffix> y", ctx, SPECIAL) == "1"
    assert postprocess("<eos>", ctx, SPECIAL) == ""


def test_postprocess_collapses_blank_lines_after_the_block_lead():
    ctx = ctx_at("def f():‸\n")
    assert postprocess("\n\n\n    return 1", ctx) == "\n    return 1"


def test_syntax_cut_rejects_an_unclosed_string_hidden_in_an_existing_error():
    doc, offset = at("class A:\n    def f(self):\n        self.‸")
    assert syntax_cut(doc, offset, "x('a") == ""
    assert syntax_cut(doc, offset, "x('a')") == "x('a')"


def test_syntax_cut_rejects_a_line_that_leaves_a_bracket_open():
    doc, offset = at("def f(self):\n    self.‸")
    assert syntax_cut(doc, offset, "call(self.call(self.") == ""
    assert syntax_cut(doc, offset, "call(1)") == "call(1)"


# --- stage 5 and the pipeline --------------------------------------------------------------------

def gen(text, logprob):
    return Generation(text, [], [logprob] * 3, "stop", 1)


def test_rank_drops_duplicates_and_low_confidence_and_sorts_by_mean_logprob():
    from lsp_server.inline.postprocess import Suggestion, rank
    found = [Suggestion(t, 0, gen(t, lp), LINE) for t, lp in
             [("a", -1.0), ("b", -0.2), ("a", -0.5), ("c", -4.0), ("", -0.1), ("d", -2.0)]]
    ranked = rank(found, 3, -3.0)
    assert [s.text for s in ranked] == ["b", "a", "d"]
    assert [s.mean_logprob for s in ranked] == pytest.approx([-0.2, -0.5, -2.0])
    assert [s.text for s in rank(found, 1, -3.0)] == ["b"]


def test_suggest_all_returns_distinct_alternatives_best_first():
    from lsp_server.inline.pipeline import suggest_all
    doc, offset = at("value = ‸\n")
    engine = FakeEngine(" compute(1)", logprob=-1.0,
                        alternatives=[(" 42", -0.3), (" compute(1)", -0.2), (" x", -5.0)])
    found = suggest_all(doc, offset, engine, SuggestOptions(alternatives=3))
    assert engine.calls[0]["n"] == 3 + 2  # two spare branches
    assert [s.text for s in found] == ["compute(1)", "42"]  # x is below the confidence threshold


def test_suggest_hides_a_suggestion_below_the_confidence_threshold():
    doc, offset = at("value = ‸\n")
    assert suggest(doc, offset, FakeEngine(" compute(1)", logprob=-2.0)) is not None
    assert suggest(doc, offset, FakeEngine(" compute(1)", logprob=-2.0),
                   SuggestOptions(confidence_threshold=-1.5)) is None


def test_suggest_after_a_block_header_prompts_with_the_newline_and_returns_it():
    doc, offset = at("def f(x):‸\n\nprint(f(2))\n")
    engine = FakeEngine("    return x\nprint(x)\n", apply_stop=True)
    result = suggest(doc, offset, engine)
    assert result.text == "\n    return x"
    prompt = engine.calls[0]["prompt_ids"]
    # SPM (the default): <fim_suffix> suffix <fim_prefix> prefix <fim_middle>
    prefix = prompt[prompt.index(SPECIAL["<fim_prefix>"]) + 1:prompt.index(SPECIAL["<fim_middle>"])]
    assert prefix == engine.encode("def f(x):\n")


def test_suggest_with_multiline_off_completes_one_line_of_a_block():
    doc, offset = at("def f(x):‸\n")
    result = suggest(doc, offset, FakeEngine("    y = x\n    return y\n", apply_stop=True),
                     SuggestOptions(multiline=False))
    assert result.text == "\n    y = x"


def test_suggest_puts_cross_file_context_before_the_prefix():
    doc, offset = at("x = ‸\n")
    engine = FakeEngine("1")
    suggest(doc, offset, engine, context="# path: other.py\nimport os\n")
    prompt = engine.calls[0]["prompt_ids"]
    assert prompt == engine.encode("# path: other.py\nimport os\nx =")  # the typed space is healed


def test_a_trailing_space_is_left_out_of_the_prompt_and_expected_back_from_the_model():
    doc, offset = at("total = price * ‸\n")
    engine = FakeEngine(" quantity\nprint(total)", apply_stop=True)
    result = suggest(doc, offset, engine)
    assert engine.calls[0]["prompt_ids"] == engine.encode("total = price *")
    assert result is not None and result.text == "quantity"
    # A continuation that does not start with the typed space would double it or glue words: dropped.
    assert suggest(doc, offset, FakeEngine("quantity", apply_stop=True)) is None


def test_block_stops_at_an_unexpected_indent():
    ctx = ctx_at("def f(x):\n    ‸\n")
    assert stopped(ctx, "y = x\n        z = y\n    return z\n") == "y = x"
    assert stopped(ctx, "if x:\n        z = 1\n    return z\n") == "if x:\n        z = 1\n    return z\n"


def test_a_new_first_line_of_an_existing_block_must_sit_at_the_block_depth():
    ctx = ctx_at("def load(self):‸\n        with open(p) as f:\n            pass\n")
    assert ctx.body_indent == 8
    assert stopped(ctx, "\n            self.x = 1\n") == ""
    assert stopped(ctx, "\n        self.x = 1\n") == "\n        self.x = 1\n"
    assert ctx_at("def f():‸\n\nx = 1\n").body_indent is None
