"""inline.snippets: windows of other workspace files go before the prefix, within half the budget."""
from __future__ import annotations

from lsp_server.inline.options import SuggestOptions
from lsp_server.inline.pipeline import suggest
from lsp_server.inline.prompt import CONTEXT_HEADER, PromptBudget
from lsp_server.project.mixing import ProjectContext
from lsp_server.project.snippets import SnippetIndex
from tests.lsp_server.inline.test_pipeline_stages import SPECIAL, FakeEngine, at

OTHER = "def open_channel(host, port):\n    sock = make_frobnicated_socket(host, port)\n    return sock\n"


def prompt_text(engine, snippets: int, project: ProjectContext | None):
    doc, offset = at("def reopen(host, port):\n    s = make_frobnicated_socket(host, port)\n    ‸\n")
    options = SuggestOptions(budget=PromptBudget(96, 16), fim_order="psm", snippets=snippets)
    suggest(doc, offset, engine, options, project=project)
    ids = engine.calls[-1]["prompt_ids"]
    body = ids[1:ids.index(SPECIAL["<fim_suffix>"])] if SPECIAL["<fim_suffix>"] in ids else ids  # FIM or L2R
    return "".join(chr(i - 10) for i in body)


def test_the_most_similar_window_of_another_file_comes_before_the_prefix():
    index = SnippetIndex()
    index.update([("/w/net/client.py", OTHER)])
    project = ProjectContext(snippets=index, exclude="/w/net/server.py")
    text = prompt_text(FakeEngine("s.close()"), 2, project)
    assert text.startswith(f"{CONTEXT_HEADER}net/client.py\ndef open_channel(host, port):")
    assert text.endswith("s = make_frobnicated_socket(host, port)\n    ")
    assert prompt_text(FakeEngine("s.close()"), 0, project).startswith("def reopen")  # off: no snippet


def test_no_snippet_from_the_document_itself():
    index = SnippetIndex()
    index.update([("/w/net/client.py", OTHER)])
    project = ProjectContext(snippets=index, exclude="/w/net/client.py")
    assert prompt_text(FakeEngine("s.close()"), 2, project).startswith("def reopen")
