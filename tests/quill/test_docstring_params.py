"""The parameter metrics of `quill eval` (quill/evaluation/docstring_params.py): the sampled function's own
docstring is hidden, the rest of its project is not."""
from __future__ import annotations

import shutil
from pathlib import Path

from lsp_server.syntax.definitions import find_definition
from lsp_server.syntax.documents import Document
from quill.evaluation.docstring_params import ParamScores, ProjectTables, references
from quill.evaluation.samples import SourceFile, documented_functions, without_docstring

PROJECT = Path(__file__).parents[1] / "data" / "param_project"


def scores_of(root: Path, rel: str, name: str) -> dict:
    tables = ProjectTables.build(root)
    source = SourceFile(rel, (root / rel).read_text())
    sample = next(s for s in documented_functions(source) if s.info.name == name)
    doc = Document(source.uri, without_docstring(sample))
    info = find_definition(doc, sample.info.name_start)
    scores = ParamScores()
    scores.add(sample, info, "_summary_", "google", tables.docs_for(source, doc))
    return scores.result()


def test_references_are_the_real_descriptions_of_the_signatures_parameters():
    source = SourceFile("p/seqtools/sorting.py", (PROJECT / "seqtools" / "sorting.py").read_text())
    sample = next(s for s in documented_functions(source) if s.info.name == "sort_items")
    assert references(sample) == {"seq": "The items to work on, in any order.",
                                  "key": "A function of one item that gives its sort key."}


def test_a_parameter_only_its_own_docstring_describes_is_not_covered(tmp_path):
    shutil.copytree(PROJECT, tmp_path / "p")
    result = scores_of(tmp_path, "p/seqtools/sorting.py", "sort_items")
    # seq: described elsewhere (legacy/merging.py); key: only by sort_items itself, which is hidden.
    assert result["n_docstring_params"] == 2 and result["docstring_param_coverage"] == 0.5
    assert result["n_docstring_params_known"] == 1 and result["docstring_param_coverage_known"] == 1.0
    assert result["docstring_filler_lines"] == 0 and 0 < result["docstring_param_bleu4"] < 100


def test_each_top_level_folder_is_its_own_project(tmp_path):
    shutil.copytree(PROJECT / "seqtools", tmp_path / "one" / "seqtools")
    shutil.copytree(PROJECT / "legacy", tmp_path / "two" / "legacy")
    result = scores_of(tmp_path, "one/seqtools/sorting.py", "sort_items")
    assert result["docstring_param_coverage"] == 0.0  # "A list of lists." lives in another project
