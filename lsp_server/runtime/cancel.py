"""Cancellation of model runs: a token that stops decoding between tokens and terminates the running step."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

import onnxruntime as ort

from ..errors import QuillError


class Cancelled(QuillError):
    """A generation or scoring run was cancelled (by $/cancelRequest or a newer edit)."""


class CancelToken:
    """Cancels a generation between tokens and terminates the onnxruntime step that is running."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._running: set[ort.RunOptions] = set()

    @property
    def cancelled(self) -> bool:
        """True once cancel() was called."""
        return self._event.is_set()

    def cancel(self) -> None:
        """Idempotent; safe from any thread (the event loop cancels, a worker generates)."""
        self._event.set()
        with self._lock:
            for run_options in self._running:
                run_options.terminate = True

    def _attach(self, run_options: ort.RunOptions) -> bool:
        with self._lock:
            self._running.add(run_options)
        return not self.cancelled

    def _detach(self, run_options: ort.RunOptions) -> None:
        with self._lock:
            self._running.discard(run_options)

    @contextmanager
    def running(self) -> Iterator[ort.RunOptions]:
        """RunOptions for one onnxruntime run that cancel() terminates; raises Cancelled before or during it."""
        run_options = ort.RunOptions()
        try:
            if not self._attach(run_options):
                raise Cancelled("cancelled before the step")
            try:
                yield run_options
            except Exception:  # onnxruntime signals RunOptions.terminate with a generic Fail error
                if self.cancelled:
                    raise Cancelled("cancelled during the step") from None
                raise
        finally:
            self._detach(run_options)
