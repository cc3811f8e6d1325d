"""The ONNX inference engine: greedy decoding with a KV cache, stop rules, deadline and cancellation."""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from .bundle import Bundle, load_bundle
from .errors import BundleCorrupt

StopFn = Callable[[str], "int | None"]  # generated text so far -> cut index to stop at, or None to go on


class CancelToken:
    """Cancels a generation between tokens and terminates the onnxruntime step that is running."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._running: set[ort.RunOptions] = set()

    @property
    def cancelled(self) -> bool:
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


@dataclass
class Generation:
    """What one generate() call produced and why it stopped."""
    text: str
    token_ids: list[int]
    logprobs: list[float]
    stop_reason: str  # eos | stop | max_tokens | deadline | cancelled
    prompt_tokens: int
    prompt_ms: float = 0.0
    decode_ms: float = 0.0
    timings: dict = field(default_factory=dict)

    @property
    def mean_logprob(self) -> float:
        return float(np.mean(self.logprobs)) if self.logprobs else float("-inf")


def _log_softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max()
    return x - np.log(np.exp(x).sum())


class Engine:
    """One onnxruntime session over a verified bundle. Thread-safe: ORT sessions allow concurrent run()."""

    def __init__(self, bundle: Bundle, threads: int = 0):
        self.bundle = bundle
        cfg = bundle.model_config
        self.n_layers, self.n_heads = int(cfg["n_layers"]), int(cfg["n_heads"])
        self.head_dim = int(cfg["d_model"]) // self.n_heads
        self.max_seq_len = int(cfg["max_seq_len"])
        try:
            self.tokenizer = Tokenizer.from_str(bundle.tokenizer_json)
        except Exception as exc:  # tokenizers raises bare Exception subclasses for malformed JSON
            raise BundleCorrupt(f"{bundle.path}/tokenizer.json cannot be loaded: {exc}") from None
        # Source text containing "<eos>" must stay text: special ids are only ever added by us.
        self.tokenizer.encode_special_tokens = True
        self.special = {name: int(i) for name, i in bundle.special_tokens.items()}
        self.eos_id = self.special["<eos>"]
        self._banned = np.array([i for n, i in self.special.items() if n != "<eos>"], dtype=np.int64)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or min(2, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        try:
            # From the verified bytes, not the path: what was hashed is what runs, and external-data
            # references cannot be resolved (so cannot escape the bundle).
            self.session = ort.InferenceSession(bundle.onnx_bytes, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped Fail/InvalidProtobuf errors
            raise BundleCorrupt(f"{bundle.path}/model.onnx cannot be loaded by onnxruntime: {exc}") from None
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]
        if len(self.input_names) != 1 + 2 * self.n_layers:
            raise BundleCorrupt(f"{bundle.path}/model.onnx has {len(self.input_names)} inputs; expected "
                                f"input_ids + {2 * self.n_layers} cache tensors")

    @classmethod
    def load(cls, path: Path | str | None = None, threads: int = 0) -> "Engine":
        """Verify and load a bundle (the shipped default when path is None)."""
        return cls(load_bundle(path), threads=threads)

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    def empty_past(self, batch: int = 1) -> list[np.ndarray]:
        shape = (batch, self.n_heads, 0, self.head_dim)
        return [np.zeros(shape, dtype=np.float32) for _ in range(2 * self.n_layers)]

    def step(self, ids: np.ndarray, past: list[np.ndarray], run_options: ort.RunOptions | None = None):
        """One forward pass: ids (B, T) -> last-position logits (B, V) and the extended cache."""
        feed = {"input_ids": ids.astype(np.int64, copy=False)}
        feed.update(zip(self.input_names[1:], past))
        outputs = self.session.run(self.output_names, feed, run_options)
        return outputs[0], outputs[1:]

    def generate(self, prompt_ids: list[int], max_new_tokens: int = 24, stop: StopFn | None = None,
                 deadline: float | None = None, cancel: CancelToken | None = None) -> Generation:
        """Greedy decoding; checks cancel and the deadline (time.monotonic()) between tokens."""
        if not prompt_ids:
            raise ValueError("generate() needs at least one prompt token")
        budget = min(max_new_tokens, self.max_seq_len - len(prompt_ids))
        prompt_ids = prompt_ids[-(self.max_seq_len - max(budget, 1)):]
        budget = min(max_new_tokens, self.max_seq_len - len(prompt_ids))  # an over-long prompt left room for 1
        run_options = ort.RunOptions()
        cancel = cancel or CancelToken()
        gen = Generation("", [], [], "max_tokens", len(prompt_ids))
        try:
            if not cancel._attach(run_options):
                gen.stop_reason = "cancelled"
                return gen
            self._decode_loop(gen, prompt_ids, budget, stop, deadline, cancel, run_options)
        finally:
            cancel._detach(run_options)
        return gen

    def _decode_loop(self, gen: Generation, prompt_ids, budget, stop, deadline, cancel, run_options) -> None:
        ids, past = np.array([prompt_ids], dtype=np.int64), self.empty_past()
        t0 = time.perf_counter()
        for i in range(budget):
            if cancel.cancelled:
                gen.stop_reason = "cancelled"
                return
            if deadline is not None and time.monotonic() > deadline:
                gen.stop_reason = "deadline"
                return
            try:
                logits, past = self.step(ids, past, run_options)
            except Exception:  # onnxruntime signals RunOptions.terminate with a generic Fail error
                if cancel.cancelled:
                    gen.stop_reason = "cancelled"
                    return
                raise
            if i == 0:
                gen.prompt_ms = (time.perf_counter() - t0) * 1000
            logits = logits[0]
            logits[self._banned] = -np.inf  # never emit FIM/task tokens
            token = int(logits.argmax())
            if token == self.eos_id:
                gen.stop_reason = "eos"
                break
            gen.token_ids.append(token)
            gen.logprobs.append(float(_log_softmax(logits)[token]))
            gen.text = self.decode(gen.token_ids)
            cut = stop(gen.text) if stop else None
            if cut is not None:
                gen.text, gen.stop_reason = gen.text[:cut], "stop"
                break
            ids = np.array([[token]], dtype=np.int64)
        gen.decode_ms = (time.perf_counter() - t0) * 1000 - gen.prompt_ms
