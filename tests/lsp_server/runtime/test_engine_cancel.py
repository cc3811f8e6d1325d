"""Unit tests of generation cancellation (lsp_server.engine.CancelToken), with no model loaded."""

import threading

import onnxruntime as ort
import pytest

from lsp_server.runtime.cancel import CancelToken
from lsp_server.runtime.engine import Engine


def engine_without_session(max_seq_len=64):
    """An Engine with only what generate() reads before its first step; step() must never run."""
    engine = Engine.__new__(Engine)
    engine.max_seq_len = max_seq_len

    def step(*_args, **_kwargs):
        raise AssertionError("a cancelled generation must not run the model")

    engine.step = step
    return engine


def test_new_token_is_not_cancelled():
    assert CancelToken().cancelled is False


def test_cancel_terminates_attached_run_options():
    token, run_options = CancelToken(), ort.RunOptions()
    assert token._attach(run_options) is True
    assert run_options.terminate is False
    token.cancel()
    assert token.cancelled
    assert run_options.terminate is True


def test_cancel_is_idempotent():
    token, run_options = CancelToken(), ort.RunOptions()
    token._attach(run_options)
    token.cancel()
    token.cancel()
    assert token.cancelled
    assert run_options.terminate is True


def test_detached_run_options_are_left_alone():
    token, run_options = CancelToken(), ort.RunOptions()
    token._attach(run_options)
    token._detach(run_options)
    token.cancel()
    assert run_options.terminate is False


def test_attach_after_cancel_reports_cancelled():
    token = CancelToken()
    token.cancel()
    assert token._attach(ort.RunOptions()) is False


def test_cancel_from_another_thread():
    token, run_options = CancelToken(), ort.RunOptions()
    token._attach(run_options)
    worker = threading.Thread(target=token.cancel)
    worker.start()
    worker.join(timeout=5)
    assert token.cancelled and run_options.terminate is True


def test_generate_with_a_token_cancelled_beforehand_returns_cancelled_without_running():
    token = CancelToken()
    token.cancel()
    gen = engine_without_session().generate([5, 6, 7], max_new_tokens=8, cancel=token)
    assert gen.stop_reason == "cancelled"
    assert gen.text == ""
    assert gen.token_ids == []
    assert gen.prompt_tokens == 3
    assert token._running == set()  # nothing is left attached


def test_generate_needs_a_prompt():
    with pytest.raises(ValueError):
        engine_without_session().generate([], cancel=CancelToken())
