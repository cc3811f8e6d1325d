"""Completion items ranked by model + project cache, and the document's prompt pass reused between requests."""
from __future__ import annotations

from lsp_server.assists.name_ranking import NameOptions, NameRequest, complete_names
from lsp_server.inline.typing_state import DocumentReuse
from lsp_server.project.index import ProjectIndex
from lsp_server.project.mixing import Mixer, MixRule, ProjectContext
from lsp_server.syntax.documents import Document

NAME = "frobnicate_widget_tree"
OTHER = f"def load(path):\n    return {NAME}(path)\n\n\ndef save(path):\n    return {NAME}(path)\n"


def project(engine) -> ProjectContext:
    index = ProjectIndex(engine.encode_batch)
    index.update([("helpers.py", OTHER)])
    return ProjectContext(index)


def test_the_project_cache_raises_a_names_score(engine):
    prompt = engine.encode("def read(path):\n    return")
    pre = engine.prefill(prompt)
    seq = [engine.encode(" " + NAME)]
    index = ProjectIndex(engine.encode_batch)
    index.update([("helpers.py", OTHER)])
    plain = engine.score(pre, seq)[0]
    mixed = engine.score(pre, seq, bias=Mixer(prompt, MixRule(), project=index))[0]  # the server's rule
    assert mixed > plain + 3.0, (plain, mixed)


def test_a_name_only_the_project_uses_is_proposed_with_the_cache_and_not_without(engine):
    text = "import helpers\n\n\ndef read(path):\n    return frob"
    doc = Document("file:///w/reader.py", text)
    options = NameOptions(max_items=10)
    without = complete_names(doc, len(text), engine, options)
    assert NAME not in [n.text for n in without.names]
    with_cache = complete_names(doc, len(text), engine, options, request=NameRequest(project(engine)))
    assert with_cache.names[0].text == NAME, [n.text for n in with_cache.names]


def test_the_next_request_in_the_same_word_reuses_the_prompt_pass(engine):
    reuse = DocumentReuse()
    text = "def read(path):\n    data = open(path).read()\n    return da"
    first = complete_names(Document("file:///w/r.py", text), len(text), engine, request=NameRequest(reuse=reuse))
    assert first is not None and reuse.names_prompt.last is not None
    ran = reuse.names_prompt.last
    more = text + "t"
    complete_names(Document("file:///w/r.py", more), len(more), engine, request=NameRequest(reuse=reuse))
    assert reuse.names_prompt.last is ran  # the prompt ends before the word: the very same pass
    longer = text + "ta\n    x = da"
    complete_names(Document("file:///w/r.py", longer), len(longer), engine, request=NameRequest(reuse=reuse))
    assert reuse.names_prompt.last.reused >= ran.prompt_tokens - 2  # all but the prompt's last tokens
