"""The summary line from the project (lsp_server/assists/descriptions.project_summary): the summary of a documented
definition of the same name elsewhere in the workspace, nearest first, before any model; never the definition's
own, never one that only restates the names. tests/data/param_project: seqtools/ranked.py's head() shares its
name with a function documented in seqtools/sorting.py."""
from __future__ import annotations

from pathlib import Path

from lsp_server.assists.descriptions import PROJECT, ProjectDocs, project_summary
from lsp_server.assists.docstrings import suggest_docstring, summarize
from lsp_server.project.param_docs import ParamDocs
from lsp_server.syntax.definitions import find_definition
from lsp_server.syntax.documents import Document
from tests.quill_fakes import FakeEngine

PROJECT_DIR = Path(__file__).parents[2] / "data" / "param_project"
RANKED, SORTING = "seqtools/ranked.py", "seqtools/sorting.py"


def table(files: dict[str, str] | None = None) -> ParamDocs:
    docs = ParamDocs()
    if files is None:
        files = {p.relative_to(PROJECT_DIR).as_posix(): p.read_text() for p in sorted(PROJECT_DIR.rglob("*.py"))}
    for key, text in files.items():
        docs.update(key, text)
    return docs


def definition(rel: str, name: str, text: str | None = None):
    text = text if text is not None else (PROJECT_DIR / rel).read_text()
    doc = Document(f"file:///p/{rel}", text)
    return doc, find_definition(doc, text.index(f"def {name}") + 4)


def test_an_undocumented_method_gets_the_summary_of_the_documented_function_of_its_name():
    doc, info = definition(RANKED, "head")
    engine = FakeEngine("Pick the best ranked elements.\n")
    summary = summarize(engine, doc, info, project=ProjectDocs(table(), RANKED))
    assert (summary.text, summary.source) == ("The first items.", PROJECT)
    assert engine.prompts == []  # the project answered: no model ran
    suggestion = suggest_docstring(doc, info.name_start, engine, project=ProjectDocs(table(), RANKED))
    assert suggestion.text.startswith('"""The first items.\n\nArgs:\n    seq: The items to work on, in any order.')


def test_without_a_documented_namesake_the_model_writes_the_summary():
    doc, info = definition(RANKED, "last")
    summary = summarize(FakeEngine("Pick the lowest ranked element.\n"), doc, info, project=ProjectDocs(table(), RANKED))
    assert (summary.text, summary.source) == ("Pick the lowest ranked element.", "model")


def test_the_nearest_namesake_wins_and_the_definitions_own_summary_is_never_offered():
    files = {"a/far.py": 'def load(path):\n    """Read a config file from disk."""\n',
             "b/near.py": 'def load(path):\n    """Open the cached image at path."""\n',
             "b/here.py": 'def load(path):\n    """Load the thing we have here."""\n    return path\n'}
    doc, info = definition("b/here.py", "load", files["b/here.py"])
    # Regenerate on here.py's own docstring: its sibling in the same folder, not itself.
    assert project_summary(doc, info, ProjectDocs(table(files), "b/here.py")) == "Open the cached image at path."
    files.pop("b/near.py")
    assert project_summary(doc, info, ProjectDocs(table(files), "b/here.py")) == "Read a config file from disk."
    files.pop("a/far.py")
    assert project_summary(doc, info, ProjectDocs(table(files), "b/here.py")) is None


def test_a_namesakes_summary_that_only_restates_the_names_is_skipped():
    files = {"a/other.py": 'def load(path):\n    """Load the given path."""\n'}
    doc, info = definition("a/mine.py", "load", "def load(path):\n    return path\n")
    assert project_summary(doc, info, ProjectDocs(table(files), "a/mine.py")) is None
    assert project_summary(doc, info, None) is None
