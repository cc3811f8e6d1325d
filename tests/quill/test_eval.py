"""`quill eval` (model/quality*.py): metric helpers, sampling, the eval-overlap guard and a small real run."""
from __future__ import annotations

import ast
import dataclasses
import random
import types
from pathlib import Path

import pytest
from bundle_fixtures import copy_bundle, resign

import quill.evaluation.docstrings as eval_docstrings
from lsp_server.runtime.bundles import Bundle, load_bundle
from lsp_server.syntax.definitions import find_definition
from lsp_server.syntax.documents import Document
from quill.cli import main as quill_main
from quill.evaluation.docstrings import (
    AUTO,
    LM,
    SEQ2SEQ,
    docstring_for,
    load_models,
    resolve_docstring_model,
)
from quill.evaluation.metrics import (
    docstring_value,
    edit_similarity,
    exact_match,
    first_sentence,
)
from quill.evaluation.runner import ROWS, EvalOptions, format_table, run_eval
from quill.evaluation.samples import (
    EvalError,
    EvalOverlap,
    SourceFile,
    check_overlap,
    content_hash,
    documented_functions,
    line_cuts,
    python_files,
    sample_functions,
    sample_line_cuts,
    select_files,
    without_body,
    without_docstring,
)
from quill.evaluation.tasks import TokenOptions, token_windows

MODULE = '''"""A small module."""
import math


def area(radius):
    """Return the area of a circle.

    Args:
        radius: its radius.
    """
    return math.pi * radius ** 2


class Shape:
    def scale(self, factor: float) -> "Shape":
        r"""Scale the shape by a factor, e.g. 2.0 doubles it."""
        self.size = self.size * factor
        return self

    def name(self):
        """The shape's name"""
'''


def source(text: str = MODULE, rel: str = "shapes.py") -> SourceFile:
    return SourceFile(rel, text)


def parses(text: str) -> bool:
    ast.parse(text)
    return True


# --- metric helpers --------------------------------------------------------------------------------------------

def test_exact_match_compares_whitespace_separated_tokens():
    assert exact_match("x  = foo( a)", " x = foo( a)\n")
    assert not exact_match("x = foo(a)", "x = foo( a)")
    assert exact_match("", "  ")


def test_edit_similarity_is_fuzzywuzzy_ratio_and_zero_for_an_empty_side():
    assert edit_similarity("return x", "return x") == 100
    assert edit_similarity("abc", "abd") == 67  # 2 * 2 matching / 6 characters = 0.667
    assert edit_similarity("", "return x") == 0 and edit_similarity("", "") == 0
    long_a, long_b = "value = compute(a, b)\n" * 12, "value = compute(a, c)\n" * 12
    assert edit_similarity(long_a, long_b, autojunk=False) > 90  # autojunk would junk the common characters


def test_first_sentence_takes_the_summary_of_the_first_paragraph():
    assert first_sentence("Return the area of a circle.\n\n    Args:\n        radius: r.") == \
        "Return the area of a circle."
    assert first_sentence("\n    Scale the shape by a factor, e.g. 2.0\n    doubles it. More.\n") == \
        "Scale the shape by a factor, e.g. 2.0 doubles it."
    assert first_sentence("The shape's name") == "The shape's name"
    assert first_sentence("Version 1.2 of it! Then") == "Version 1.2 of it!"


def test_docstring_value_reads_the_literal_and_refuses_bytes():
    assert docstring_value('r"""a\\b"""') == "a\\b"
    assert docstring_value("'x' 'y'") == "xy"
    assert docstring_value('b"x"') is None


# --- docstring and body removal --------------------------------------------------------------------------------

def test_documented_functions_find_functions_and_methods_with_their_summaries():
    found = {s.info.name: s.summary for s in documented_functions(source())}
    assert found == {"area": "Return the area of a circle.",
                     "scale": "Scale the shape by a factor, e.g. 2.0 doubles it.",
                     "name": "The shape's name"}


def test_removing_a_docstring_leaves_code_that_parses_without_it():
    for sample in documented_functions(source()):
        text = without_docstring(sample)
        assert text is not None and parses(text)
        assert MODULE[sample.info.docstring[0]:sample.info.docstring[1]] not in text
    only_doc = next(s for s in documented_functions(source()) if s.info.name == "name")
    assert without_docstring(only_doc).endswith("    def name(self):\n        pass\n")


def test_removing_a_body_keeps_signature_and_docstring_and_returns_the_body():
    area = next(s for s in documented_functions(source()) if s.info.name == "area")
    case = without_body(area, max_lines=30)
    assert parses(case.text) and "math.pi" not in case.text and '    """' in case.text
    assert case.reference == "return math.pi * radius ** 2"
    assert without_body(area, max_lines=0) is None
    only_doc = next(s for s in documented_functions(source()) if s.info.name == "name")
    assert without_body(only_doc, max_lines=30) is None  # nothing to regenerate


# --- sampling ------------------------------------------------------------------------------------------------

def test_line_cuts_fall_inside_non_blank_lines_after_the_indentation():
    cuts = line_cuts(MODULE, random.Random(1), 50)
    assert len(cuts) == sum(1 for line in MODULE.split("\n") if line.strip())
    for cut in cuts:
        line_start = MODULE.rfind("\n", 0, cut.offset) + 1
        line = MODULE[line_start:cut.line_end]
        assert cut.offset - line_start >= len(line) - len(line.lstrip())  # never inside the indentation
        assert MODULE[cut.offset:cut.line_end].rstrip() == cut.target and cut.target.strip()


def test_sampling_is_deterministic_for_a_seed(tmp_path):
    files = [source(), source(MODULE.replace("area", "surface"), "b.py")]
    assert sample_line_cuts(files, 3, 5, 8) == sample_line_cuts(files, 3, 5, 8)
    assert sample_line_cuts(files, 3, 5, 8) != sample_line_cuts(files, 4, 5, 8)
    found = [documented_functions(f) for f in files]
    names = [[s.info.name for s in sample_functions(found, random.Random(seed), 2, 10)] for seed in (7, 7)]
    assert names[0] == names[1] and len(names[0]) == 4
    for i in range(6):
        (tmp_path / f"m{i}.py").write_text(f"x = {i}\n")
    (tmp_path / "bad.py").write_text("def (:\n")
    paths = python_files(tmp_path)
    picks = [[f.rel for f in select_files(tmp_path, paths, 3, 5).files] for _ in range(2)]
    assert picks[0] == picks[1] and len(picks[0]) == 3
    everything = select_files(tmp_path, paths, 10, 5)
    assert len(everything.files) == 6 and everything.skipped == {"unparsable": 1}


def test_token_windows_respect_the_caps():
    options = TokenOptions(max_tokens=1000, window=100, windows_per_file=2)
    windows = token_windows([450, 30, 5000], random.Random(0), options)
    assert (1, 0, 29) in windows and sum(n for _, _, n in windows) <= 2 * 100 + 29 + 2 * 100
    assert all(sum(1 for i, _, _ in windows if i == k) <= 2 for k in range(3))
    assert all(start + n <= [450, 30, 5000][i] - 1 for i, start, n in windows)
    capped = token_windows([5000] * 10, random.Random(0), options)
    assert sum(n for _, _, n in capped) == 1000


# --- overlap guard and docstring model choice -----------------------------------------------------------------

def test_content_hash_is_the_corpus_one_and_ignores_line_endings_and_trailing_spaces():
    corpus = pytest.importorskip("model.corpus")
    assert corpus.content_hash is content_hash  # one definition: lsp_server.bundle_format
    assert content_hash("a = 1  \r\nb = 2\t\n") == content_hash("a = 1\nb = 2\n") != content_hash("a = 1\n")
    assert content_hash("x\ry\n\n") == content_hash("x\ny\n\n")
    assert content_hash("a = 1  \r\n") == content_hash("a = 1\n") and len(content_hash("")) == 16


def _bundle_with_hashes(tmp_path: Path, texts: list[str]) -> Path:
    folder = copy_bundle(tmp_path / "bundle")
    (folder / "corpus_hashes.txt").write_text("".join(f"{h}\n" for h in sorted(map(content_hash, texts))))
    resign(folder, "corpus_hashes.txt")
    return folder


def test_overlap_guard_refuses_a_folder_with_training_files(tmp_path, capsys):
    corpus = tmp_path / "eval"
    corpus.mkdir()
    (corpus / "fresh.py").write_text("def fresh():\n    return 1\n")
    (corpus / "seen.py").write_text("x = 1   \n")
    folder = _bundle_with_hashes(tmp_path, ["x = 1\n", "unrelated = 2\n"])
    with pytest.raises(EvalOverlap, match="seen.py"):
        check_overlap(corpus, python_files(corpus), load_bundle(folder))
    with pytest.raises(SystemExit) as exit_info:
        quill_main(["eval", "--corpus", str(corpus), "--bundle", str(folder), "--max-files", "2"])
    assert "training corpus" in str(exit_info.value.code) and exit_info.value.code != 0
    (corpus / "seen.py").write_text("x = 2\n")
    assert check_overlap(corpus, python_files(corpus), load_bundle(folder)) is None


def test_without_hashes_the_guard_only_warns():
    shipped = load_bundle()
    files = {k: v for k, v in shipped.manifest["files"].items() if k != "corpus_hashes.txt"}
    bundle = Bundle(shipped.path, {**shipped.manifest, "files": files}, b"", "")
    assert "cannot be checked" in check_overlap(Path("."), [], bundle)


def test_seq2seq_needs_a_docstring_model_in_the_manifest():
    shipped = load_bundle()
    bundle = Bundle(shipped.path, {k: v for k, v in shipped.manifest.items() if k != "docstring"}, b"", "")
    assert resolve_docstring_model(AUTO, shipped) == SEQ2SEQ  # the shipped bundle carries one
    with pytest.raises(EvalError, match="no docstring model"):
        resolve_docstring_model(SEQ2SEQ, bundle)
    assert resolve_docstring_model(AUTO, bundle) == LM
    assert resolve_docstring_model(LM, Bundle(bundle.path, {**bundle.manifest, "docstring": {}}, b"", "")) == LM
    with pytest.raises(EvalError):
        resolve_docstring_model("gpt", bundle)


def test_the_seq2seq_path_loads_the_bundles_docstring_model_and_scores_its_first_sentence(monkeypatch):
    seen = {}

    class FakeDocstringModel:
        @classmethod
        def load(cls, path):
            seen["path"] = path
            return cls()

        max_source_tokens, uses_context = 256, False  # the shipped kind: plain code

        def search(self, code: str, options, cancel=None, deadline=None):
            seen["code"] = code
            return types.SimpleNamespace(text="Compute the area. Uses math.pi.", score=-0.2)

    monkeypatch.setattr(eval_docstrings, "DocstringModel", FakeDocstringModel)
    shipped = load_bundle()
    bundle = Bundle(shipped.path, {**shipped.manifest, "docstring": {}}, b"", "")
    assert resolve_docstring_model(SEQ2SEQ, bundle) == SEQ2SEQ
    models = load_models(bundle, engine=None, which=SEQ2SEQ)
    area = next(s for s in documented_functions(source()) if s.info.name == "area")
    doc = Document(area.source.uri, without_docstring(area))
    assert docstring_for(models, doc, find_definition(doc, area.info.name_start), SEQ2SEQ) == \
        ("Compute the area.", "docstring-model", "Compute the area.")
    assert seen["path"] == shipped.path
    assert seen["code"].rstrip() == "def area(radius):\n    return math.pi * radius ** 2"


def test_the_gate_sweep_scores_each_gate_as_the_server_would_show_it():
    from lsp_server.assists.docstrings import Summary
    from quill.evaluation.docstrings import GATE_SWEEP, Gated, gate_sweep
    refs = ["Return the area of a circle.", "Open the file for reading."]
    found = [Gated(Summary("Return the area of a circle.", "docstring-model"), "", -0.5,
                   "Return the area of a circle.", Summary("_summary_", "placeholder")),
             Gated(Summary("_summary_", "placeholder"), "", -2.6, "Open the file for reading.",
                   Summary("_summary_", "placeholder")),
             None]
    sweep = gate_sweep(refs + ["Never shown."], found)
    assert list(sweep) == [f"{g:g}" for g in GATE_SWEEP]
    assert sweep["-3"]["model_share"] == pytest.approx(2 / 3, abs=1e-3)  # both clear a gate of -3
    assert sweep["-2.5"]["model_share"] == pytest.approx(1 / 3, abs=1e-3)  # -2.6 is held back
    assert sweep["-0.5"]["model_share"] == pytest.approx(1 / 3, abs=1e-3)  # >= is through
    assert sweep["-3"]["bleu4"] > sweep["-2.5"]["bleu4"] > 0        # the held-back sentence was right


# --- a small real run ----------------------------------------------------------------------------------------

def test_eval_runs_end_to_end_on_a_small_folder(tmp_path):
    corpus = tmp_path / "proj"
    (corpus / "pkg").mkdir(parents=True)
    (corpus / "shapes.py").write_text(MODULE)
    (corpus / "pkg" / "text.py").write_text(  # every documented function documents `word`: each knows it
        'def shout(word):\n    """Return the word in capitals.\n\n    Args:\n        word: The word to change.\n'
        '    """\n    return word.upper() + "!"\n\n\n'
        'def count_letters(word):\n    """Count the letters of a word.\n\n    Args:\n        word: The word to count.\n'
        '    """\n    letters = list(word)\n    return len(letters)\n\n\n'
        'def whisper(word):\n    """Say it quietly.\n\n    Args:\n        word: The word to say.\n    """\n'
        '    return word.lower()\n')
    (corpus / "pkg" / "__init__.py").write_text("from .text import shout\n")
    (corpus / "broken.py").write_bytes(b"\xff\xfe not utf-8")
    options = EvalOptions(corpus, max_files=10, seed=1, tokens=TokenOptions(max_tokens=300, batch=4),
                          line_samples=6, docstring_samples=4, codegen_samples=3)
    result = run_eval(options)
    assert result["n_files"] == 3 and result["n_files_skipped"] == 1
    assert 0 < result["n_tokens"] <= 300 and result["n_lines"] == 6
    assert result["n_docstrings"] == 4 and 1 <= result["n_codegen"] <= 3
    for key, _, count, latency in ROWS:
        assert key in result and (count is None or result[count] > 0) and (latency is None or result[latency] > 0)
    for key in ("token_accuracy", "token_top5", "line_exact_match", "docstring_model_share", "codegen_syntax_ok"):
        assert 0.0 <= result[key] <= 1.0
    for key in ("line_edit_similarity", "docstring_bleu4", "codegen_edit_similarity", "docstring_param_bleu4"):
        assert 0.0 <= result[key] <= 100.0
    # A sampled text.py function's `word` is described by another function of the project, never by itself.
    assert result["docstring_param_coverage_known"] == 1.0 and result["docstring_filler_lines"] == 0
    assert result["token_top5"] >= result["token_accuracy"]
    config = result["config"]
    assert config["bundle"] == load_bundle().name and config["seed"] == 1 and config["docstring_model"] == SEQ2SEQ
    assert sorted(config["files"]) == ["pkg/__init__.py", "pkg/text.py", "shapes.py"]
    assert "docstring smoothed BLEU-4" in format_table(result)


def test_eval_settings_are_the_servers_and_a_bad_one_is_an_error():
    from quill.cli_run import eval_settings as _eval_settings
    config = _eval_settings('{"inline": {"prefix_tokens": 512}, "codegen": {"suffix_tokens": 64}}')
    assert config.inline.suggest_options().budget.prefix_tokens == 512
    assert config.codegen.body_options().suffix_tokens == 64
    assert _eval_settings(None).inline.prefix_tokens == 256
    with pytest.raises(SystemExit, match="inline.prefix_tokenz"):
        _eval_settings('{"inline": {"prefix_tokenz": 512}}')
    with pytest.raises(SystemExit, match="not JSON"):
        _eval_settings("{inline")


# --- project context -------------------------------------------------------------------------------------------

USES = "\n".join(f"value_{i} = zorblax_quuxify(value_{i - 1}, {i})" for i in range(1, 40)) + "\n"


def test_project_context_uses_the_other_files_of_the_project_and_never_the_scored_one(tmp_path):
    from lsp_server.runtime.engine import Engine
    from quill.evaluation.projects import ProjectSetup
    corpus = tmp_path / "corpus"
    (corpus / "alpha").mkdir(parents=True)
    (corpus / "beta").mkdir()
    (corpus / "alpha" / "uses.py").write_text(USES)
    (corpus / "alpha" / "more.py").write_text(USES.replace("value_", "other_"))
    (corpus / "beta" / "alone.py").write_text("def zorblax_quuxify(a, b):\n    return a + b\n")
    engine = Engine.load()
    setup = ProjectSetup.build(corpus, engine)
    assert set(setup.indexes) == {"alpha", "beta"}
    uses = SourceFile("alpha/uses.py", USES)
    context = engine.encode("x = zorblax_qu")[-3:]
    index = setup.index_for(uses)
    assert index.lookup(context) is not None  # more.py has it
    assert index.lookup(context, exclude=uses.uri) is not None
    assert setup.indexes["beta"].lookup(context, exclude=SourceFile("beta/alone.py", "").uri) is None

    options = EvalOptions(corpus, max_files=10, seed=1, tokens=TokenOptions(max_tokens=400, batch=4),
                          line_samples=8, docstring_samples=0, codegen_samples=0)
    result = run_eval(options)
    assert result["config"]["project_context"] is True
    assert result["token_accuracy"] > result["token_accuracy_no_project"]
    assert set(result["per_project"]) <= {"alpha", "beta"}
    for key in ("line_exact_match", "line_edit_similarity", "line_precision_shown", "line_shown_share"):
        assert f"{key}_no_project" in result
    alone = run_eval(dataclasses.replace(options, project_context=False))
    assert alone["config"]["project_context"] is False and "token_accuracy_no_project" not in alone
    assert alone["token_accuracy"] == result["token_accuracy_no_project"]
