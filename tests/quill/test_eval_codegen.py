"""`quill eval`'s body generation: the reviewer-check shares measured on what the server would offer, and the
samples it takes (stubs left out: the server offers no body there)."""
from __future__ import annotations

from quill_fakes import FakeEngine

import quill.evaluation.tasks as tasks
from quill.evaluation.samples import SourceFile, documented_functions, without_body
from quill.evaluation.tasks import eval_codegen

MODULE = '''import abc


def check(validators):
    """Raise ValueError when a validator is missing."""
    if not validators:
        raise ValueError("no validators")
    return validators


class Base(abc.ABC):
    @abc.abstractmethod
    def run(self):
        """Run it."""
        raise NotImplementedError
'''
LOOP = "if not validators:\n        raise ValueError(msg)\n" * 4


def samples():
    return documented_functions(SourceFile("pkg/mod.py", MODULE))


def test_stub_functions_are_not_body_samples():
    found = {s.info.name: s for s in samples()}
    assert not found["check"].stub and found["run"].stub
    assert without_body(found["check"], 30) is not None and without_body(found["run"], 30) is None


def test_offered_bodies_carry_no_loop_and_no_undefined_name():
    check = [s for s in samples() if s.info.name == "check"]
    result = eval_codegen(FakeEngine(LOOP), check)
    assert result["n_codegen_withheld"] == 1  # one copy kept, then cut before `msg`: nothing left
    assert result["codegen_repeat_share"] is None and result["codegen_undefined_name_share"] is None
    result = eval_codegen(FakeEngine("if not validators:\n        raise ValueError('none')\n"), check)
    assert result["codegen_syntax_ok"] == 1.0 and result["codegen_repeat_share"] == 0.0
    assert result["codegen_undefined_name_share"] == 0.0


def test_the_shares_count_what_a_body_generator_without_checks_would_offer(monkeypatch):
    """The measurement itself: bodies with a loop or an undefined name are counted when they are offered."""
    check = [s for s in samples() if s.info.name == "check"]
    monkeypatch.setattr(tasks, "generate_body", lambda engine, doc, target, options, project=None:
                        "    " + LOOP.rstrip())
    result = eval_codegen(FakeEngine(""), check)
    assert result["codegen_repeat_share"] == 1.0 and result["codegen_undefined_name_share"] == 1.0
    monkeypatch.setattr(tasks, "generate_body", lambda engine, doc, target, options, project=None:
                        "    return validators or missing")
    result = eval_codegen(FakeEngine(""), check)
    assert result["codegen_repeat_share"] == 0.0 and result["codegen_undefined_name_share"] == 1.0
