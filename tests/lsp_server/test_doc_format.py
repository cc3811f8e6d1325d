"""The docstring model's input layout and neighbour ranking (lsp_server/doc_format.py), shared by training
(model/docpairs.py, model/train_doc.py) and serving (lsp_server/assists/docstrings.py)."""
from lsp_server.doc_format import (
    ELSEWHERE,
    MAX_NEIGHBOUR_CHARS,
    SAME_CLASS,
    SAME_FILE,
    SAME_FOLDER,
    doc_source,
    identifier_words,
    rank_neighbours,
)

CODE = "def number_of_edges(self, u=None, v=None):\n    return len(self.edges(u, v))\n"


def test_no_context_gives_the_plain_code():
    assert doc_source(CODE, None, []) == CODE


def test_header_is_the_class_then_the_neighbours_then_the_code():
    text = doc_source(CODE, "Graph", ["Return the number of nodes in the graph.", "Add a single node."])
    assert text == ("# class Graph\n# see: Return the number of nodes in the graph.\n# see: Add a single node.\n"
                    + CODE)


def test_header_keeps_three_one_line_summaries_of_bounded_length():
    text = doc_source(CODE, None, ["First\n  line.", "b " * 200, "c", "d"])
    header = text[:-len(CODE)].splitlines()
    assert header[0] == "# see: First line." and len(header) == 3
    assert len(header[1]) <= len("# see: ") + MAX_NEIGHBOUR_CHARS


def test_identifier_words_split_snake_and_camel_case_without_keywords_or_self():
    words = identifier_words("def addEdge(self, u_of_edge, HTTPServer):\n    return None if x else y")
    assert words == {"add", "edge", "of", "http", "server"}


def test_a_similar_neighbour_ranks_above_an_unrelated_one_and_sharing_nothing_is_left_out():
    target = identifier_words("def add_edges_from(self, ebunch):\n    for e in ebunch:\n        self.add_edge(*e)")
    candidates = [
        ("Parse the configuration file.", identifier_words("def parse_config(path): return load(path)"), SAME_FILE),
        ("Add an edge between u and v.", identifier_words("def add_edge(self, u, v):\n    self._adj[u][v] = {}"),
         SAME_FOLDER),
        ("Remove an edge.", identifier_words("def remove_edge(self, u, v): del self._adj[u][v]"), ELSEWHERE),
    ]
    assert rank_neighbours(target, candidates) == ["Add an edge between u and v.", "Remove an edge."]


def test_nearness_breaks_ties_and_duplicates_are_dropped():
    words = {"load", "file"}
    candidates = [("Far.", words, ELSEWHERE), ("Same class.", words, SAME_CLASS), ("Same class.", words, SAME_FILE),
                  ("Folder.", words, SAME_FOLDER), ("Other.", words, SAME_FILE)]
    assert rank_neighbours({"load", "file"}, candidates, k=3) == ["Same class.", "Other.", "Folder."]
    assert rank_neighbours(set(), candidates) == []
