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


def test_the_docstring_models_neighbours_never_include_the_hidden_docstring(tmp_path):
    """eval runs the server's context (quill/evaluation/docstrings.py): the rest of the file and project are
    neighbours, the sampled function's own summary is not, though its file in the tables still has it."""
    from lsp_server.config import DocstringConfig
    from lsp_server.runtime.docstring_model import DocGeneration
    from quill.evaluation.docstrings import SEQ2SEQ, BundleModels, _one

    class ContextDocModel:
        max_source_tokens, uses_context = 256, True

        def __init__(self):
            self.codes = []

        def search(self, code, options, cancel=None, deadline=None):
            self.codes.append(code)
            return DocGeneration("Add an edge.", [1], -0.5, "eos", 10)

    graph = ('class Graph:\n    def add_edge(self, u, v):\n        """Connect node u to node v in the graph."""\n'
             '        self.add_node(u)\n        self._adj[u][v] = {}\n\n    def add_node(self, node):\n'
             '        """Add a single node to the graph."""\n        self._adj[node] = {}\n')
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "graph.py").write_text(graph)
    (tmp_path / "proj" / "edges.py").write_text('def remove_edge(graph, u, v):\n    """Remove the edge from u to v."""\n'
                                                '    del graph._adj[u][v]\n')
    source = SourceFile("proj/graph.py", graph)
    sample = next(s for s in documented_functions(source) if s.info.name == "add_edge")
    model = ContextDocModel()
    _one(BundleModels(None, None, model), sample, SEQ2SEQ, DocstringConfig(), ParamScores(),
         ProjectTables.build(tmp_path))
    (code,) = model.codes
    assert code.startswith("# class Graph\n") and "# see: Add a single node to the graph.\n" in code
    assert "# see: Remove the edge from u to v.\n" in code and sample.summary not in code


def test_a_namesakes_summary_is_shown_and_scored_beside_the_model_alone(tmp_path):
    """The summary of a documented function of the same name elsewhere in the project is what the server shows
    (docstring_project_share); docstring_bleu4_no_project scores what it shows without it (here the model's
    sentence); the sampled function's own summary is never its own namesake."""
    from lsp_server.config import DocstringConfig
    from lsp_server.runtime.docstring_model import DocGeneration
    from quill.evaluation.docstrings import SEQ2SEQ, BundleModels, eval_docstrings

    class DocModel:
        max_source_tokens, uses_context = 256, False

        def search(self, code, options, cancel=None, deadline=None):
            return DocGeneration("Write the rows to a file.", [1], -0.5, "eos", 10)

    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "csv_out.py").write_text(
        'def save(rows, path):\n    """Save the rows to a CSV file at path."""\n    open(path, "w").write(rows)\n')
    (tmp_path / "proj" / "json_out.py").write_text(
        'def save(rows, path):\n    """Save the rows to a JSON file at path."""\n    dump(rows, path)\n')
    source = SourceFile("proj/csv_out.py", (tmp_path / "proj" / "csv_out.py").read_text())
    samples = documented_functions(source)
    result = eval_docstrings(BundleModels(None, None, DocModel()), samples, SEQ2SEQ, DocstringConfig(min_score=-1.0),
                             ProjectTables.build(tmp_path))
    assert result["docstring_project_share"] == 1.0 and result["docstring_model_share"] == 0.0
    assert 0 < result["docstring_bleu4_no_project"] < result["docstring_bleu4"] < 100  # JSON's, not its own
    assert result["docstring_gate_sweep"]["-3"]["model_share"] == 0.0  # the namesake is shown whatever the gate
