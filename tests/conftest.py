"""Shared fixtures: small real Python corpora taken from the running interpreter's standard library, and the
shipped model's engine."""
import sysconfig
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def stdlib_dir() -> Path:
    """The standard library folder of the interpreter running the tests."""
    return Path(sysconfig.get_paths()["stdlib"])


@pytest.fixture(scope="session")
def stdlib_texts(stdlib_dir) -> list[str]:
    """About 400 KB of real code: the json/ and email/ packages of the standard library."""
    paths = [p for d in ("json", "email") for p in sorted((stdlib_dir / d).rglob("*.py"))]
    return [p.read_text(encoding="utf-8") for p in paths]


@pytest.fixture(scope="session")
def json_corpus(stdlib_dir, tmp_path_factory) -> tuple[Path, Path]:
    """(corpus folder, tokenizer.json): `quill corpus` of the standard library's json/ package and a 600-token
    tokenizer trained on its train split, built once for every test that trains a tiny model on it."""
    from model.corpus import build_corpus, load_split
    from model.tokenizer import train_tokenizer

    root = tmp_path_factory.mktemp("json_corpus")
    build_corpus([stdlib_dir / "json"], root / "corpus")
    tok = train_tokenizer((r["text"] for r in load_split(root / "corpus", "train")), vocab_size=600)
    tok.save(str(root / "tokenizer.json"))
    return root / "corpus", root / "tokenizer.json"


@pytest.fixture(scope="session")
def engine():
    """The shipped bundle's code LM engine (one thread), loaded once for the whole run (imported here: only
    the tests that use it load it). Tests must not change it."""
    from lsp_server.runtime.engine import Engine

    return Engine.load(threads=1)


@pytest.fixture(scope="module")
def one_torch_thread():
    """Run torch on one thread: with tiny models, more threads only fight other CPU users (a training run)."""
    import torch  # here, not at the top: the server's tests must not import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def pytest_collection_modifyitems(config, items):
    """End-to-end tests start real servers with the shipped model: run them last."""
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)
