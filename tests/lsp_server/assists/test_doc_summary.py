"""Docstring summaries from the bundle's docstring model (lsp_server/docstrings.py with lsp_server/doc_model.py):
the source it sees equals the training pairs' source, which model answers, and the fallback (the docstring's
own summary when there is one, else the `_summary_` placeholder; never a sentence made of the names)."""
import pytest
from doc_fixtures import doc_bundle, small_tokenizer, taught_seq2seq, tiny_seq2seq
from quill_fakes import FakeEngine

from lsp_server.assists.docstrings import (
    definition_source,
    suggest_docstring,
    summarize,
)
from lsp_server.runtime.cancel import CancelToken
from lsp_server.runtime.docstring_model import DocGeneration, DocstringModel
from lsp_server.syntax.definitions import find_definition
from lsp_server.syntax.documents import Document
from model.docpairs import extract_pairs
from model.tokenizer import load_tokenizer

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SENTENCE = "Return the configuration read from the file."
SAMPLE = '''import functools


@functools.lru_cache(maxsize=None)
@staticmethod
def load_config(path: str) -> dict:
    """Load the configuration file.

    More words here.
    """  # trailing comment

    with open(path) as f:
        return json.load(f)


class Store:
    """A store."""

    def get(self, key, default=None):
        \'\'\'Return the value for key, else default.\'\'\'
        if key in self.data:
            return self.data[key]

        return default

    @property
    def size(self) -> int:
        """The number of entries in the store."""
        def inner(x):
            """Count one item in the store."""
            return 1
        return sum(inner(x) for x in self.data)
'''


class FakeDocModel:
    """Records what summarize() asks the docstring model; answers a fixed text."""
    max_source_tokens, uses_context = 256, False  # the shipped kind: plain code

    def __init__(self, answer: str):
        self.answer, self.calls = answer, []

    def search(self, code, options, cancel=None, deadline=None):
        self.calls.append({"code": code, "beam": options.beam, "max_tokens": options.max_tokens})
        return DocGeneration(self.answer, [1], -0.5, "eos", 10)


@pytest.fixture(scope="module")
def tokenizer_path(stdlib_texts, tmp_path_factory):
    return small_tokenizer(stdlib_texts, tmp_path_factory.mktemp("tok"))


@pytest.fixture(scope="module")
def taught(tokenizer_path, tmp_path_factory):
    """The docstring model of a bundle, trained to answer SENTENCE."""
    codes = [pair["code"] for pair in extract_pairs(SAMPLE)]
    bundle = doc_bundle(tokenizer_path, taught_seq2seq(tokenizer_path, SENTENCE, codes), tmp_path_factory.mktemp("t"))
    return DocstringModel.load(bundle, threads=1)


def info_at(text: str, needle: str):
    return find_definition(Document("file:///s.py", text), text.index(needle))


def test_source_given_to_the_model_is_the_training_pairs_source():
    pairs = extract_pairs(SAMPLE)
    assert [p["name"] for p in pairs] == ["load_config", "get", "size", "inner"]
    doc = Document("file:///s.py", SAMPLE)
    for pair in pairs:
        info = find_definition(doc, SAMPLE.index(f"def {pair['name']}") + 4)
        assert definition_source(doc, info, 10_000) == pair["code"]
    assert definition_source(doc, info_at(SAMPLE, "load_config"), 10_000).startswith("@functools.lru_cache")


def test_source_of_an_undocumented_or_huge_function_is_bounded():
    text = "def f(a):\n" + "".join(f"    a += {i}\n" for i in range(5000))
    code = definition_source(Document("file:///s.py", text), info_at(text, "f(a)"), 2000)
    assert code.startswith("def f(a):\n    a += 0\n") and len(code) <= 2001


def test_summarize_uses_the_docstring_model_for_functions(taught):
    info = info_at(SAMPLE, "get(self")
    summary = summarize(None, Document("file:///s.py", SAMPLE), info, doc_model=taught, beam=2)
    assert (summary.text, summary.source) == (SENTENCE, "docstring-model")


def test_suggested_docstring_carries_the_docstring_models_summary(taught):
    doc = Document("file:///s.py", SAMPLE)
    found = suggest_docstring(doc, SAMPLE.index("load_config"), None, "google", doc_model=taught)
    assert found.summary.source == "docstring-model"
    assert found.text.startswith(f'"""{SENTENCE}\n\nArgs:\n    path (str):')


def test_summarize_passes_the_source_beam_and_token_budget():
    fake = FakeDocModel("Look up an entry of the store.")
    info = info_at(SAMPLE, "get(self")
    summary = summarize(FakeEngine("never used"), Document("file:///s.py", SAMPLE), info, 12, doc_model=fake, beam=3)
    assert summary.source == "docstring-model"
    assert fake.calls == [{"code": "def get(self, key, default=None):\n    if key in self.data:\n        return "
                                   "self.data[key]\n\n    return default\n", "beam": 3, "max_tokens": 12}]


def test_classes_keep_the_code_lm(taught):
    engine = FakeEngine("A store of entries.\n")
    fake = FakeDocModel("Never asked.")
    summary = summarize(engine, Document("file:///s.py", SAMPLE), info_at(SAMPLE, "Store"), doc_model=fake)
    assert (summary.text, summary.source, fake.calls) == ("A store of entries.", "model", [])


OWN = "Return the value for key, else default."  # get's docstring in SAMPLE


@pytest.mark.parametrize("answer", ["", "return self.data[key]", "the the the the", "Return the",
                                    "Return the value for key."])  # the last only restates the names: filler
def test_unusable_model_text_falls_back_to_the_docstrings_own_summary(answer):
    engine = FakeEngine("Return the value.\n")  # the code LM is not asked when a docstring model exists
    summary = summarize(engine, Document("file:///s.py", SAMPLE), info_at(SAMPLE, "get(self"),
                        doc_model=FakeDocModel(answer))
    assert (summary.text, summary.source) == (OWN, "own") and engine.prompts == []


def test_unusable_model_text_on_an_undocumented_function_gives_the_placeholder():
    text = "def get(self, key):\n    return self.data[key]\n"
    summary = summarize(None, Document("file:///s.py", text), info_at(text, "get"),
                        doc_model=FakeDocModel("Return the value for key."))
    assert (summary.text, summary.source) == ("_summary_", "placeholder")


def test_random_docstring_model_and_cancelled_requests_fall_back(tokenizer_path, tmp_path):
    vocab = load_tokenizer(tokenizer_path).get_vocab_size()
    model = DocstringModel.load(doc_bundle(tokenizer_path, tiny_seq2seq(vocab), tmp_path), threads=1)
    doc, info = Document("file:///s.py", SAMPLE), info_at(SAMPLE, "get(self")
    assert summarize(None, doc, info, doc_model=model).source == "own"
    token = CancelToken()
    token.cancel()
    assert summarize(None, doc, info, cancel=token, doc_model=model).source == "own"


@pytest.mark.parametrize("score, source", [(-0.5, "docstring-model"), (-1.0, "docstring-model"), (-1.5, "own")])
def test_an_unsure_docstring_model_gives_way_to_the_fallback(score, source):
    class ScoredDocModel(FakeDocModel):
        def search(self, code, options, cancel=None, deadline=None):
            self.calls.append({"beam": options.beam, "max_tokens": options.max_tokens})
            return DocGeneration(self.answer, [1, 2], score, "eos", 10)

    model = ScoredDocModel("Look up an entry of the store.")
    doc, info = Document("file:///s.py", SAMPLE), info_at(SAMPLE, "get(self")
    summary = summarize(None, doc, info, 20, doc_model=model, beam=2, min_score=-1.0)
    assert summary.source == source and model.calls == [{"beam": 2, "max_tokens": 20}]
    assert summary.text == ("Look up an entry of the store." if source != "own" else OWN)
