"""Project symbols: workspace modules' names offered through the current file's imports."""
from __future__ import annotations

import functools
from pathlib import Path

import pytest

from lsp_server.assists.name_ranking import complete_names
from lsp_server.project.module_symbols import absolute, module_names_of
from lsp_server.project.symbols import ProjectSymbols
from lsp_server.syntax.documents import Document
from lsp_server.syntax.identifiers import WordAt, word_at

CURSOR = "‸"
FILES = {
    "pkg/__init__.py": 'from .core import Engine\nfrom . import base as _base\n__version__ = "1"\n',
    "pkg/base.py": (
        "class Base:\n"
        "    def __init__(self):\n"
        "        self.name = ''\n"
        "    def close(self):\n"
        "        self.closed: bool = True\n"),
    "pkg/core.py": (
        "import os\n"
        "from .base import Base\n"
        "\n"
        "LIMIT = 3\n"
        "_hidden = 1\n"
        "first, second = 1, 2\n"
        "total: int = 0\n"
        "\n"
        "def run(x):\n"
        "    local = x\n"
        "\n"
        "@decorator\n"
        "async def start():\n"
        "    pass\n"
        "\n"
        "class Engine(Base):\n"
        "    kind = 'fast'\n"
        "    def __init__(self, size):\n"
        "        self.size = size\n"
        "        self._cache = {}\n"
        "        other.not_mine = 1\n"
        "    def step(this):\n"
        "        this.steps, this.errors = 0, 0\n"
        "\n"
        "try:\n"
        "    import fast\n"
        "except ImportError:\n"
        "    FALLBACK = True\n"),
    "pkg/sub/__init__.py": "",
    "pkg/sub/deep.py": "def deep_fn():\n    pass\n",
    "app.py": "",
}
CORE_NAMES = [("Engine", "class"), ("FALLBACK", "constant"), ("LIMIT", "constant"), ("first", "variable"),
              ("run", "function"), ("second", "variable"), ("start", "function"), ("total", "variable")]


def workspace(root: Path, files: dict[str, str] = FILES) -> ProjectSymbols:
    store = ProjectSymbols()
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        store.update(str(path), root, text)
    return store


def at(text: str, uri: str = "file:///ws/app.py") -> tuple[Document, int]:
    offset = text.index(CURSOR)
    return Document(uri, text.replace(CURSOR, "")), offset


def offered(store: ProjectSymbols, text: str, key: str | None = None, word: WordAt | None = None):
    doc, offset = at(text)
    word = word or word_at(doc, offset)
    return [(n.text, n.kind) for n in store.names_at(doc, word, key)]


@pytest.fixture
def store(tmp_path):
    return workspace(tmp_path)


def test_from_import_offers_the_modules_top_level_names_and_hides_private_ones(store):
    doc, offset = at(f"from pkg.core import {CURSOR}\n")
    empty = WordAt(offset, offset, "", None, False)
    assert [(n.text, n.kind) for n in store.names_at(doc, empty)] == CORE_NAMES
    assert offered(store, f"from pkg.core import r{CURSOR}") == [("run", "function")]
    assert offered(store, f"from pkg.core import (LIMIT,\n    f{CURSOR}") == [("FALLBACK", "constant"),
                                                                          ("first", "variable")]
    assert offered(store, f"from pkg.core import _{CURSOR}") == [("_hidden", "variable")]
    assert offered(store, f"from pkg.core import run as r{CURSOR}") == []  # a new name


def test_a_package_offers_its_submodules_and_re_exports(store):
    assert offered(store, f"from pkg import E{CURSOR}") == [("Engine", "class")]
    assert offered(store, f"from pkg import s{CURSOR}") == [("sub", "module")]
    assert offered(store, f"from pkg import _{CURSOR}") == [("__version__", "variable"), ("_base", "module")]


def test_import_paths_offer_workspace_modules(store):
    assert offered(store, f"import pkg.{CURSOR}") == [("base", "module"), ("core", "module"), ("sub", "module")]
    assert offered(store, f"from pkg.sub.{CURSOR}") == [("deep", "module")]
    assert offered(store, f"import os, p{CURSOR}") == [("pkg", "module")]
    assert offered(store, f"import pkg.nothing.{CURSOR}") == []


def test_module_attributes_follow_import_aliases(store):
    assert offered(store, f"import pkg.core as eng\neng.{CURSOR}") == CORE_NAMES
    assert offered(store, f"import pkg.core\npkg.core.r{CURSOR}") == [("run", "function")]
    assert offered(store, f"from pkg import core\ncore.L{CURSOR}") == [("LIMIT", "constant")]
    assert offered(store, f"import pkg\npkg.{CURSOR}") == [("Engine", "class"), ("base", "module"),
                                                          ("core", "module"), ("sub", "module")]
    assert offered(store, f"import pkg.core as eng\nengine.{CURSOR}") == []  # not an import: type unknown


def test_relative_imports_resolve_against_the_documents_module(store, tmp_path):
    key = str(tmp_path / "pkg/sub/deep.py")
    assert offered(store, f"from ..core import r{CURSOR}", key) == [("run", "function")]
    assert offered(store, f"from ..base import B{CURSOR}", key) == [("Base", "class")]
    assert offered(store, f"from . import d{CURSOR}", key) == [("deep", "module")]
    assert offered(store, f"from .. import core\ncore.s{CURSOR}", key) == [("second", "variable"),
                                                                          ("start", "function")]
    assert offered(store, f"from .core import r{CURSOR}", str(tmp_path / "pkg/new.py")) == [("run", "function")]
    assert offered(store, f"from ..core import r{CURSOR}") == []  # no key: the document's package is unknown
    assert offered(store, f"from .... import c{CURSOR}", key) == []  # beyond the top-level package


def test_self_in_a_subclass_offers_the_bases_members_from_other_files(store):
    source = "from pkg.core import Engine\n\nclass Turbo(Engine):\n    def go(self):\n        self.{}\n"
    assert offered(store, source.format(CURSOR)) == [
        ("close", "method"), ("closed", "field"), ("errors", "field"), ("kind", "field"), ("name", "field"),
        ("size", "field"), ("step", "method"), ("steps", "field")]
    assert offered(store, source.format("_" + CURSOR)) == [("__init__", "method"), ("_cache", "field")]
    assert ("not_mine", "field") not in offered(store, source.format("n" + CURSOR))


def test_self_through_a_local_base_and_an_aliased_module(store):
    source = ("import pkg.base as b\n\nclass Local(b.Base):\n    def helper(self):\n        pass\n\n"
              "class Leaf(Local):\n    def go(self):\n        self.{}\n")
    assert offered(store, source.format(CURSOR)) == [("close", "method"), ("closed", "field"),
                                                     ("helper", "method"), ("name", "field")]


def test_class_attributes_leave_out_instance_attributes(store):
    names = offered(store, f"from pkg import Engine\nEngine.{CURSOR}")
    assert names == [("close", "method"), ("kind", "field"), ("step", "method")]


def test_unknown_objects_get_nothing(store):
    assert offered(store, f"from pkg.core import Engine\ne = Engine(1)\ne.{CURSOR}") == []
    assert offered(store, f"x = 1\nx.{CURSOR}") == []
    assert offered(store, f"def f(self):\n    self.{CURSOR}") == []
    assert offered(store, f"import os\nos.{CURSOR}") == []


def test_updating_a_file_changes_its_names(store, tmp_path):
    store.update(str(tmp_path / "pkg/core.py"), tmp_path, "def fresh():\n    pass\nLIMIT = 4\n")
    assert [n.text for n in store.module_names("pkg.core")] == ["LIMIT", "fresh"]
    assert offered(store, f"from pkg.core import r{CURSOR}") == []


def test_removing_a_file_removes_its_names_and_module(store, tmp_path):
    store.remove(str(tmp_path / "pkg/core.py"))
    assert store.module_names("pkg.core") == []
    assert offered(store, f"import pkg.{CURSOR}") == [("base", "module"), ("sub", "module")]
    store.remove(str(tmp_path / "pkg/sub/deep.py"), str(tmp_path / "pkg/sub/__init__.py"))
    assert offered(store, f"import pkg.{CURSOR}") == [("base", "module")]
    store.clear()
    assert offered(store, f"import p{CURSOR}") == []


def test_a_file_with_syntax_errors_still_yields_what_parses(tmp_path):
    broken = "def ok():\n    pass\n\ndef broken(:\n    x\n\nclass Later:\n    def m(self):\n        self.q = 1\nZ = 3\n"
    store = workspace(tmp_path, {"mod.py": broken})
    names = [(n.text, n.kind) for n in store.module_names("mod")]
    assert ("ok", "function") in names and ("Later", "class") in names and ("Z", "variable") in names


def test_module_names_follow_the_src_layout_and_skip_non_identifiers(tmp_path):
    assert module_names_of(str(tmp_path / "src/pkg/mod.py"), tmp_path) == (("pkg.mod", "src.pkg.mod"), False)
    assert module_names_of(str(tmp_path / "pkg/__init__.py"), tmp_path) == (("pkg",), True)
    assert module_names_of(str(tmp_path / "my-scripts/run.py"), tmp_path) == ((), False)
    assert absolute(1, "x", "pkg.mod", False) == "pkg.x"
    assert absolute(1, "", "pkg", True) == "pkg"
    assert absolute(2, "x", "pkg.mod", False) is None


def test_complete_names_merges_project_names_after_the_buffers(store):
    doc, offset = at(f"import pkg.core as eng\nLIMIT_HERE = eng.LIMIT\neng.{CURSOR}")
    project = functools.partial(store.names_at, doc, key=None)
    result = complete_names(doc, offset, None, project_names=project)
    names = [(n.text, n.kind) for n in result.names]
    assert names[0] == ("LIMIT", "field")  # the buffer uses it on `eng`: its entry wins and ranks first
    assert ("run", "function") in names and ("Engine", "class") in names
    assert not result.incomplete
    without = complete_names(doc, offset, None)
    assert [n.text for n in without.names] == ["LIMIT"]


def test_complete_names_ranks_import_names_before_buffer_names(store):
    doc, offset = at(f"rabbit = 1\nfrom pkg.core import r{CURSOR}")
    result = complete_names(doc, offset, None, project_names=functools.partial(store.names_at, doc))
    assert [n.text for n in result.names][:2] == ["run", "rabbit"]
