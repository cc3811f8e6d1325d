"""Unit tests of code generation (lsp_server.codegen): targets, stop rule, parse check, edits."""
from __future__ import annotations

import ast

import pytest
from quill_fakes import FakeEngine

from lsp_server.assists.bodies import (
    COMMENT,
    FUNCTION_BODY,
    BodyOptions,
    body_edit,
    find_body_target,
    generate_body,
    generate_code,
    make_body_stop,
    parseable_prefix,
    suggest_body,
)
from lsp_server.runtime.cancel import CancelToken
from lsp_server.syntax.documents import Document, parse

ADD = 'def add(a, b):\n    """Return the sum of a and b."""\n    ...\n'


def doc(text: str) -> Document:
    return Document("file:///gen.py", text)


def parses(text: str) -> bool:
    tree = parse(text.encode("utf-8"))
    return tree is not None and not tree.root_node.has_error and bool(ast.parse(text))


def generated(text: str, needle: str, script: str, **options) -> tuple[str | None, FakeEngine]:
    """The document after the suggested edit (None when withheld), and the engine that was asked."""
    engine = FakeEngine(script)
    suggestion = suggest_body(doc(text), text.index(needle), engine, BodyOptions(**options))
    return (None if suggestion is None else suggestion.edit.apply(text)), engine


# --- targets --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    ADD,
    "def add(a, b):\n    pass\n",
    'def add(a, b):\n    """Return the sum of a and b."""\n',
    "def add(a, b): ...\n",
])
def test_empty_functions_are_targets_from_the_name_and_from_the_body(text):
    for needle in ("add", text.rstrip()[-2:]):
        target = find_body_target(doc(text), text.index(needle))
        assert target is not None and target.kind == FUNCTION_BODY and target.indent == "    "


def test_a_function_with_code_or_a_position_outside_functions_is_not_a_target():
    text = "import os\n\ndef add(a, b):\n    return a + b\n"
    assert find_body_target(doc(text), text.index("add")) is None
    assert find_body_target(doc(text), text.index("os")) is None


def test_comment_followed_by_a_blank_line_or_the_end_of_file_is_a_target():
    text = "def main():\n    # read the names\n\n    return 0\n"
    target = find_body_target(doc(text), text.index("read"))
    assert target.kind == COMMENT and target.indent == "    "
    assert target.prompt == "def main():\n    # read the names\n    "
    assert find_body_target(doc("x = 1\n# print x"), len("x = 1\n# pr")).kind == COMMENT


def test_comment_followed_by_code_a_shebang_or_a_hash_in_a_string_is_not_a_target():
    assert find_body_target(doc("# print x\nprint(1)\n"), 3) is None
    assert find_body_target(doc("#!/usr/bin/env python\n\nx = 1\n"), 3) is None
    text = 's = """\n# not a comment\n\n"""\n'
    assert find_body_target(doc(text), text.index("not")) is None


# --- stop rule and parse check --------------------------------------------------------------------------

def test_stop_at_a_dedent_at_max_lines_and_for_comments_at_a_blank_line():
    assert make_body_stop("    ", 30, False)("x = 1\n    y = 2\ndef g():\n") == len("x = 1\n    y = 2")
    assert make_body_stop("    ", 2, False)("a\n    b\n    c\n") == len("a\n    b")
    assert make_body_stop("    ", 30, False)("a\n\n    b\n") is None
    assert make_body_stop("    ", 30, True)("a\n\n    b\n") == len("a")


def test_parseable_prefix_cuts_back_to_whole_statements_or_withholds():
    d = doc(ADD)
    target = find_body_target(d, 5)
    assert parseable_prefix(d, target, "    s = a + b\n    return s\n    if s (") == "    s = a + b\n    return s"
    assert parseable_prefix(d, target, "    return (a +") == ""
    assert parseable_prefix(d, target, "    pass\n    # nothing") == ""


def test_parse_check_rejects_what_tree_sitter_tolerates_but_python_does_not():
    d = doc(ADD)
    target = find_body_target(d, 5)
    # tree-sitter reads this as one string running over the line end; Python does not.
    assert parseable_prefix(d, target, "    x = 1\n    y = 'abc\n    '") == "    x = 1"


# --- generation -----------------------------------------------------------------------------------------

def test_generate_body_replaces_the_ellipsis_and_keeps_the_docstring():
    out, engine = generated(ADD, "add", "return a + b\n\n\ndef sub(a, b):\n    return a - b\n")
    assert out == 'def add(a, b):\n    """Return the sum of a and b."""\n    return a + b\n'
    assert engine.prompts[0] == 'def add(a, b):\n    """Return the sum of a and b."""\n    '


def test_generate_body_after_a_docstring_only_body_and_in_an_inline_body():
    out, _ = generated('def add(a, b):\n    """Sum."""\n', "add", "total = a + b\n    return total\n")
    assert out == 'def add(a, b):\n    """Sum."""\n    total = a + b\n    return total\n'
    out, engine = generated('def add(a, b): """Sum."""; ...\n', "add", "return a + b\n")
    assert out == 'def add(a, b):\n    """Sum."""\n    return a + b\n'
    assert engine.prompts[0] == 'def add(a, b):\n    """Sum."""\n    '


def test_generate_method_body_sees_the_class_and_stops_at_the_next_method():
    text = "class Stack:\n    def __init__(self):\n        self.items = []\n\n    def push(self, item):\n        pass\n"
    out, engine = generated(text, "push", "self.items.append(item)\n\n    def pop(self):\n")
    assert out.endswith("    def push(self, item):\n        self.items.append(item)\n")
    assert "self.items = []" in engine.prompts[0]


def test_generate_code_for_a_comment_stops_at_the_blank_line_and_keeps_the_following_code():
    text = "import sys\n\ndef main():\n    # count the names\n\n    return 0\n"
    out, _ = generated(text, "count", "n = len(sys.argv)\n    print(n)\n\n    return n\n")
    assert out == "import sys\n\ndef main():\n    # count the names\n    n = len(sys.argv)\n    print(n)\n\n    return 0\n"
    out, _ = generated("# say hi", "say", "print('hi')\n")
    assert out == "# say hi\nprint('hi')"


def test_model_text_that_never_parses_is_withheld_and_the_line_limit_applies():
    assert generated(ADD, "add", "return (a +\n")[0] is None
    out, engine = generated(ADD, "add", "x = 1\n    y = 2\n    z = 3\n    return x\n", max_lines=2, max_new_tokens=9)
    assert out.endswith("    x = 1\n    y = 2\n") and engine.max_new_tokens == [9]


def test_non_ascii_text_before_the_function_and_a_cancelled_generation():
    text = 's = "héllo 😀"\n\ndef grüße(名前):\n    ...\n'
    out, _ = generated(text, "grüße", "return s + 名前\n")
    assert out.endswith("def grüße(名前):\n    return s + 名前\n") and parses(out)
    token = CancelToken()
    token.cancel()
    target = find_body_target(doc(ADD), 5)
    assert generate_body(FakeEngine("return a + b\n"), doc(ADD), target, cancel=token) == ""


def test_body_edit_of_each_target_kind_parses():
    for text, needle in ((ADD, "add"), ("def add(a, b): pass\n", "add"), ("if x:\n    # go\n\nelse:\n    y()\n", "go")):
        d = doc(text)
        target = find_body_target(d, text.index(needle))
        assert parses(body_edit(target, target.indent + "z = 1").apply(text)), text


def test_real_engine_body_for_add_parses_when_offered(engine):
    suggestion = suggest_body(doc(ADD), ADD.index("add"), engine, BodyOptions(max_new_tokens=64))
    if suggestion is not None:  # withholding is a valid answer; an offered edit must parse
        out = suggestion.edit.apply(ADD)
        assert parses(out) and out.startswith('def add(a, b):\n    """Return the sum of a and b."""\n')


def test_an_encoding_declaration_is_not_a_target_but_a_comment_mentioning_decoding_is():
    assert find_body_target(doc("# -*- coding: utf-8 -*-\n\nx = 1\n"), 3) is None
    assert find_body_target(doc("# decoding the header\n\n"), 3).kind == COMMENT


def test_make_body_stop_cuts_a_repetition_loop_to_one_copy():
    stop = make_body_stop("    ", 30, False)
    text = "x = 1\n    y.append(1)\n    y.append(1)\n    y.append(1)\n    z\n"
    assert text[:stop(text)] == "x = 1\n    y.append(1)"
    assert stop("x = 1\n    y.append(1)\n    y.append(1)\n    z\n") is None  # two copies can be right


def test_comment_in_an_otherwise_empty_function_gets_code_that_completes_it():
    text = "def read_lines(path):\n    # read the file and return its lines\n"
    after, _ = generated(text, "# read", "with open(path) as fh:\n        return fh.read().splitlines()\n")
    assert after == text + "    with open(path) as fh:\n        return fh.read().splitlines()\n"
    assert parses(after)


@pytest.mark.parametrize("signature, description, context, expected", [
    ("def mean(values):", "Return the mean of values.", "",
     'def mean(values):\n    """Return the mean of values."""\n    return sum(values) / len(values)\n'),
    ("    def area(self, values):", "# width times height", "class Rect:\n    w = h = 1",
     "class Rect:\n    w = h = 1\n\n    def area(self, values):\n        # width times height\n"
     "        return sum(values) / len(values)\n"),
    ("", "# the mean of values", "values = [1, 2]",
     "values = [1, 2]\n\n# the mean of values\nreturn sum(values) / len(values)\n"),
])
def test_generate_code_from_a_signature_and_a_docstring_or_comment(signature, description, context, expected):
    from lsp_server.assists.bodies import describe_and_locate, generate_code
    engine = FakeEngine("return sum(values) / len(values)\n\n")
    code = generate_code(engine, signature, description, context)
    text, offset = describe_and_locate(signature, description, context)
    suggestion = suggest_body(doc(text), offset, FakeEngine("return sum(values) / len(values)\n\n"))
    assert code == suggestion.code and code.strip() == "return sum(values) / len(values)"
    if signature:
        assert parses(suggestion.edit.apply(text)) and suggestion.edit.apply(text) == expected


def test_generate_code_withholds_code_that_does_not_parse_and_needs_a_comment_without_signature():
    from lsp_server.assists.bodies import generate_code
    assert generate_code(FakeEngine("return (\n\n"), "def f(x):", "Return x.") == ""
    with pytest.raises(ValueError, match="comment"):
        generate_code(FakeEngine("x\n"), "", "no comment marker")


def test_generate_code_with_the_shipped_model_returns_code_that_parses_or_nothing(engine):
    signature = "def clamp(value, low, high):"
    code = generate_code(engine, signature, "Return value limited to the range low..high.")
    assert code == "" or parses(f'{signature}\n    """Doc."""\n{code}\n')


def test_a_suffix_budget_makes_the_body_prompt_fim_with_the_code_after_the_function(engine):
    from lsp_server.assists.bodies import _prompt_ids, fim_body_prompt
    text = ADD + "\n\ndef sub(a, b):\n    return a - b\n"
    target = find_body_target(doc(text), text.index("add"))
    prefix_ids = _prompt_ids(target.prompt, engine.encode, 512)
    ids = fim_body_prompt(prefix_ids, target.trail + text[target.end:], engine, 64)
    special = engine.special
    assert ids[0] == special["<fim_suffix>"] and ids[-1] == special["<fim_middle>"]
    split = ids.index(special["<fim_prefix>"])
    assert engine.decode(ids[1:split]) == "\n\n\ndef sub(a, b):\n    return a - b\n"
    assert ids[split + 1:-1] == prefix_ids
    code = generate_body(engine, doc(text), target, BodyOptions(max_new_tokens=48, suffix_tokens=64))
    assert code == "" or parses(body_edit(target, code).apply(text))


def test_code_that_opens_a_string_the_rest_of_the_file_would_close_is_cut_back():
    from lsp_server.assists.bodies import standalone_parses
    assert not standalone_parses('    x = 1\n    """unclosed', "    ")
    assert standalone_parses("    if x:\n        return 1\n    return 2", "    ")
    text = ADD + '\n\ndef later():\n    """Doc."""\n'
    after, _ = generated(text, "add", 'total = a + b\n    """\n    return total\n')
    assert after is not None and '"""\n    return total' not in after and parses(after)


def test_a_degenerate_loop_ends_the_body_where_it_starts():
    stop = make_body_stop("    ", 30, False)
    text = "x = 1\n    y = f('test.test.test.test.test.test"
    assert text[:stop(text)] == "x = 1\n    y = f('test"


def test_when_greedy_gives_nothing_that_parses_the_next_branches_are_tried_best_first():
    from lsp_server.runtime.engine import Generation

    class BranchingEngine(FakeEngine):
        def generate_alternatives(self, prompt_ids, n, max_new_tokens=24, stop=None, deadline=None, cancel=None,
                                  cache=None, skip=0, heal="", bias=None, draft=None, halt=None):
            self.asked = (n, skip)
            texts = [("return (a +\n", -0.1), ("return b - a\n\n", -2.0), ("return a + b\n\n", -0.5)]
            return [Generation(t, [1], [lp], "eos", len(prompt_ids)) for t, lp in texts]

    engine = BranchingEngine("return (\n")  # greedy: an unclosed bracket, nothing parses
    suggestion = suggest_body(doc(ADD), ADD.index("add"), engine)
    assert suggestion is not None and suggestion.code == "    return a + b"  # the best branch that parses
    assert engine.asked == (4, 1)


# --- reviewer checks in the pipeline -------------------------------------------------------------------------

LOOPING = 'def check(validators):\n    """Raise ValueError when a validator is missing."""\n    ...\n'


def test_the_shipped_model_loops_on_check_and_the_loop_is_never_offered(engine):
    """The premise of the e2e test of the same text: greedy decoding (with the server's project mix) repeats an
    `if ...: raise` statement; what suggest_body offers has no statement repeated more than once in a row."""
    from lsp_server.assists.bodies import _parseable_body, body_bias
    from lsp_server.assists.body_checks import has_repeat
    from lsp_server.assists.body_scope import ModuleScope
    from lsp_server.config import ProjectConfig
    from lsp_server.project.mixing import ProjectContext

    project = ProjectContext(None, ProjectConfig().mix_rule())
    d = doc(LOOPING)
    target = find_body_target(d, LOOPING.index("check"))
    ids = engine.encode(target.prompt)
    stop = make_body_stop(target.indent, 30, False)
    bias = body_bias(engine, d, target, project, ids, [], ModuleScope.of(d))
    greedy = engine.generate_alternatives(ids, 1, 128, stop, bias=bias)[0].text
    assert has_repeat(_parseable_body(d, target, greedy, stop), target.indent)
    suggestion = suggest_body(d, LOOPING.index("check"), engine, project=project)
    assert suggestion is None or not has_repeat(suggestion.code, target.indent)


class ScriptedBranches(FakeEngine):
    """Greedy from the script, then fixed branches (text, mean log-probability)."""

    def __init__(self, script: str, branches: list[tuple[str, float]]):
        super().__init__(script)
        self.branches = branches
        self.asked: list[tuple[int, int]] = []

    def generate_alternatives(self, prompt_ids, n, max_new_tokens=24, stop=None, deadline=None, cancel=None,
                              cache=None, skip=0, heal="", bias=None, draft=None, halt=None):
        from lsp_server.runtime.engine import Generation
        self.asked.append((n, skip))
        if skip == 0:
            return super().generate_alternatives(prompt_ids, n, max_new_tokens, stop, deadline, cancel, bias=bias)
        return [Generation(t, [1], [lp], "eos", len(prompt_ids)) for t, lp in self.branches]


def test_a_looping_greedy_body_loses_to_a_clean_branch_and_an_undefined_name_is_cut_or_withheld():
    loop = "if not validators:\n        raise ValueError(msg)\n" * 4
    engine = ScriptedBranches(loop, [("raise ValueError(missing)\n", -0.1), ("if not validators:\n"
                                     "        raise ValueError('no validators')\n", -0.8)])
    suggestion = suggest_body(doc(LOOPING), 5, engine)
    assert suggestion.code == "    if not validators:\n        raise ValueError('no validators')"
    assert engine.asked == [(1, 0), (4, 1)]  # greedy was not kept as generated: the branches were asked
    engine = ScriptedBranches("n = len(validators)\n    return n + missing\n", [])
    assert suggest_body(doc(LOOPING), 5, engine).code == "    n = len(validators)"  # cut before `missing`
    engine = ScriptedBranches(loop, [("return msg\n", -0.1)])
    assert suggest_body(doc(LOOPING), 5, engine) is None
    assert engine.asked == [(1, 0), (4, 1), (4, 5), (4, 9)]  # nothing kept: three rounds, then withheld


def test_a_clean_greedy_body_is_offered_without_asking_for_branches():
    engine = ScriptedBranches("return list(validators)\n", [("return 1\n", 0.0)])
    assert suggest_body(doc(LOOPING), 5, engine).code == "    return list(validators)"
    assert engine.asked == [(1, 0)]


def test_the_project_context_steers_body_decoding():
    from lsp_server.assists.scoped_mix import ScopedMix
    from lsp_server.project.mixing import Mixer, ProjectContext
    engine = FakeEngine("return a + b\n")
    suggest_body(doc(ADD), 5, engine, project=ProjectContext())
    assert isinstance(engine.biases[0], ScopedMix) and isinstance(engine.biases[0].mixer, Mixer)
    engine = FakeEngine("return a + b\n")
    suggest_body(doc("from os.path import *\n\n" + ADD), 30, engine, project=ProjectContext())
    assert isinstance(engine.biases[0], Mixer)  # a star import: any name may be defined
    engine = FakeEngine("return a + b\n")
    suggest_body(doc(ADD), 5, engine)
    assert engine.biases == [None]


def test_a_cut_candidate_is_scored_on_the_tokens_it_keeps():
    from lsp_server.assists.bodies import kept_score
    from lsp_server.runtime.engine import Generation
    text = "x = 1\n    y = (\n"
    gen = Generation(text, list(text.encode()), [-0.1] * 6 + [-3.0] * (len(text) - 6), "max_tokens", 0)
    assert kept_score(FakeEngine(""), gen, "    x = 1") == pytest.approx(-0.1)  # `x = 1\n`: 6 byte tokens
    assert kept_score(FakeEngine(""), gen, "    x = 1\n    y = (") == pytest.approx(gen.mean_logprob)
