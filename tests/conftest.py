"""Shared fixtures: small real Python corpora taken from the running interpreter's standard library."""
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
