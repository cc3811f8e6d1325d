"""Project context for a docstring model trained with it (manifest source_format "context-v1"): the class name
and neighbour summaries from the document and the workspace (lsp_server/assists/docstrings.py doc_context,
lsp_server/project/doc_summaries.py); a model without it (the shipped bundle) keeps reading plain code."""
from lsp_server.assists.docstrings import definition_source, doc_context, model_summary
from lsp_server.doc_format import doc_source
from lsp_server.project.doc_summaries import (
    DocSummaries,
    ProjectSummaries,
    file_summaries,
)
from lsp_server.runtime.docstring_model import DocGeneration
from lsp_server.syntax.definitions import find_definition
from lsp_server.syntax.documents import Document

GRAPH = '''class Graph:
    def add_node(self, node):
        """Add a single node and update its attributes."""
        self._nodes[node] = {}

    def add_edge(self, u, v):
        """Add an edge between u and v."""
        self.add_node(u)
        self.add_node(v)
        self._adj[u][v] = {}

    def add_edges_from(self, ebunch):
        for u, v in ebunch:
            self.add_edge(u, v)


def parse_config(path):
    """Read the configuration file at path."""
    return open(path).read()
'''
VIEWS = 'def edge_view(graph, u):\n    """Show the edges of node u."""\n    return graph._adj[u]\n'


class FakeDocModel:
    """Records the source model_summary gives the docstring model."""
    max_source_tokens = 256

    def __init__(self, uses_context: bool):
        self.uses_context, self.codes = uses_context, []

    def search(self, code, options, cancel=None, deadline=None):
        self.codes.append(code)
        return DocGeneration("Add several edges at once.", [1], -0.5, "eos", 10)


def at(text: str, needle: str):
    doc = Document("file:///w/graphs/graph.py", text)
    return doc, find_definition(doc, text.index(needle))


def workspace() -> ProjectSummaries:
    table = DocSummaries()
    table.update("/w/graphs/views.py", VIEWS)
    table.update("/w/graphs/graph.py", "def stale():\n    '''An old copy of this very file, never read.'''\n    x = 1\n")
    return ProjectSummaries(table, "/w/graphs/graph.py")


def test_file_summaries_keep_documented_functions_with_their_class():
    entries = file_summaries(GRAPH)
    assert [(e.summary, e.class_name) for e in entries] == [
        ("Add a single node and update its attributes.", "Graph"), ("Add an edge between u and v.", "Graph"),
        ("Read the configuration file at path.", None)]
    assert "add" in entries[0].words and "attributes" not in entries[0].words  # the docstring is not code


def test_context_is_the_class_and_the_nearest_similar_summaries_of_document_and_workspace():
    doc, info = at(GRAPH, "add_edges_from")
    code = definition_source(doc, info, 10_000)
    cls, neighbours = doc_context(doc, info, code, workspace())
    assert cls == "Graph"
    assert neighbours == ["Add an edge between u and v.", "Add a single node and update its attributes.",
                          "Show the edges of node u."]


def test_a_documented_functions_own_summary_is_never_its_neighbour():
    doc, info = at(GRAPH, "add_edge(")
    _, neighbours = doc_context(doc, info, definition_source(doc, info, 10_000), workspace())
    assert "Add an edge between u and v." not in neighbours and neighbours


def test_a_context_model_reads_the_header_and_the_shipped_kind_reads_plain_code():
    doc, info = at(GRAPH, "add_edges_from")
    plain = definition_source(doc, info, 256 * 8)
    shipped, context = FakeDocModel(False), FakeDocModel(True)
    model_summary(None, doc, info, doc_model=shipped, summaries=workspace())
    model_summary(None, doc, info, doc_model=context, summaries=workspace())
    assert shipped.codes == [plain]
    assert context.codes == [doc_source(plain, "Graph", ["Add an edge between u and v.",
                                                         "Add a single node and update its attributes.",
                                                         "Show the edges of node u."])]
    assert context.codes[0].startswith("# class Graph\n# see: Add an edge between u and v.\n")


def test_the_workspace_table_ranks_its_folder_before_other_folders_and_forgets_removed_files():
    table = DocSummaries()
    table.update("/w/a/x.py", VIEWS)
    table.update("/w/b/y.py", VIEWS.replace("edge_view", "edge_view2"))
    near = {(s, n) for s, _, n in table.candidates("/w/a/z.py")}
    assert near == {("Show the edges of node u.", 2), ("Show the edges of node u.", 3)}
    table.remove("/w/a/x.py")
    assert [n for _, _, n in table.candidates("/w/a/z.py")] == [3] and len(table) == 1
