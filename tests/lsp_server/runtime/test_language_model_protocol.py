"""LanguageModel, the part of the engine the assists' cores use: the shipped Engine and the tests' FakeEngine
both satisfy it, and the fake's methods take exactly the real engine's parameters (so it cannot drift)."""
import inspect

import pytest
from quill_fakes import FakeEngine

from lsp_server.runtime.engine import Engine, LanguageModel

METHODS = sorted(name for name, value in vars(LanguageModel).items()
                 if callable(value) and not name.startswith("_"))


def test_the_protocol_is_the_members_the_cores_use():
    assert METHODS == ["decode", "encode", "generate", "generate_alternatives"]
    assert list(LanguageModel.__annotations__) == ["special"]


def test_the_fake_and_the_shipped_engine_are_language_models(engine):
    assert isinstance(FakeEngine("x"), LanguageModel)
    assert isinstance(engine, LanguageModel)
    assert not isinstance(object(), LanguageModel)


def _parameters(function) -> list[tuple[str, object, object]]:
    """(name, kind, default) of each parameter: annotations aside, what a caller can pass."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


@pytest.mark.parametrize("method", METHODS)
def test_the_fake_takes_the_real_engines_parameters(method):
    real = _parameters(getattr(Engine, method))
    assert [name for name, _, _ in _parameters(getattr(FakeEngine, method))] == [name for name, _, _ in real]
    assert _parameters(getattr(FakeEngine, method)) == real  # kinds and defaults too


@pytest.mark.parametrize("method", METHODS)
def test_the_protocol_declares_the_real_engines_signatures(method):
    assert inspect.signature(getattr(LanguageModel, method)) == inspect.signature(getattr(Engine, method))
