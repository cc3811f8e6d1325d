"""The ONNX inference engine: greedy decoding with a KV cache, stop rules, deadline and cancellation."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path
from typing import Callable, Protocol, runtime_checkable

import numpy as np
import onnxruntime as ort

from ..bundle_format import NUM_LOGITS
from ..errors import BundleCorrupt
from .bundles import Bundle, load_bundle
from .cancel import Cancelled, CancelToken
from .heal_index import HealIndex
from .ort_session import (
    bundle_tokenizer,
    check_cache_shapes,
    check_model_config,
    log_softmax,
    onnx_session,
    session_options,
)
from .scoring import Bias, score

StopFn = Callable[[str], "int | None"]  # generated text so far -> cut index to stop at, or None to go on
# Prompt-lookup drafts: (a row's generated token ids so far, at most how many) -> token ids the caches
# expect next; the engine checks them in one pass and keeps the longest prefix that decoding would choose.
Draft = Callable[[list[int], int], list[int]]
# A row's early end: (its generation so far, the next token, its log-probability) -> a stop reason to end the
# row before that token, or None (lsp_server.inline.early_stop: what the show-less stages would cut anyway).
Halt = Callable[["Generation", int, float], "str | None"]
MAX_DRAFT = 8


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
        """The model's confidence: mean log-probability of the generated tokens (-inf for none)."""
        return float(np.mean(self.logprobs)) if self.logprobs else float("-inf")


@dataclass
class Prefill:
    """One prompt pass, shared by every continuation that follows it (and by the next request's prompt)."""
    logprobs: np.ndarray     # (V,) next-token log-probabilities; special tokens except <eos> are -inf
    past: list[np.ndarray]   # per layer keys then values, each (1, heads, T, head_dim)
    prompt_tokens: int
    ms: float
    ids: tuple[int, ...] = ()  # the prompt, as run (after clipping)
    reused: int = 0            # leading tokens whose keys/values came from an earlier pass
    owner: object = None       # Engine.cache_key of the model that computed it: never reused by another


class PromptCache:
    """The prompt pass of one document's previous request; the next request runs only what changed.

    Keys and values of a causal model at position i depend only on tokens 0..i, so the cache of the
    common token prefix of the old and the new prompt is exactly what a fresh pass would compute
    (up to float rounding, and int8's per-tensor activation scales). Used by one thread at a time.
    """

    def __init__(self) -> None:
        self.last: Prefill | None = None


def shared_prefix(a: tuple[int, ...] | list[int], b: tuple[int, ...] | list[int]) -> int:
    """Length of the longest common prefix of two token sequences."""
    n = min(len(a), len(b))
    if tuple(a[:n]) == tuple(b[:n]):
        return n
    lo, hi = 0, n  # a[:lo] == b[:lo] and a[:hi] != b[:hi]: bisect on slices, which compare in C
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if tuple(a[lo:mid]) == tuple(b[lo:mid]):
            lo = mid
        else:
            hi = mid
    return lo


@runtime_checkable
class LanguageModel(Protocol):
    """The part of Engine that the docstring and code-generation cores (lsp_server.assists) use: special
    token ids, the tokenizer both ways, and greedy generation with branches. Engine is one; so is a test's
    scripted stand-in. Name ranking (prefill, scores) and the inline pipeline take the Engine itself."""

    special: dict[str, int]  # special-token name (<fim_prefix>, <eos>, ...) -> token id

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: list[int]) -> str: ...

    def generate(self, prompt_ids: list[int], max_new_tokens: int = 24, stop: StopFn | None = None,
                 deadline: float | None = None, cancel: CancelToken | None = None) -> Generation: ...

    def generate_alternatives(self, prompt_ids: list[int], n: int, max_new_tokens: int = 24,
                              stop: StopFn | None = None, deadline: float | None = None,
                              cancel: CancelToken | None = None,
                              cache: PromptCache | None = None, skip: int = 0, heal: str = "",
                              bias: Bias | None = None, draft: Draft | None = None,
                              halt: Halt | None = None) -> list[Generation]: ...


class Engine:
    """One onnxruntime session over a verified bundle. Thread-safe: ORT sessions allow concurrent run()."""

    def __init__(self, bundle: Bundle, threads: int = 0):
        self.bundle = bundle
        self.cache_key = object()  # identifies this model in cached prompt passes, without keeping it alive
        cfg = bundle.model_config
        self.n_layers = int(cfg["n_layers"])
        self.n_heads, self.head_dim = check_model_config(cfg, f"{bundle.path}/manifest.json")
        self.max_seq_len = int(cfg["max_seq_len"])
        self.tokenizer = bundle_tokenizer(bundle)
        self.special = {name: int(i) for name, i in bundle.special_tokens.items()}
        self.eos_id = self.special["<eos>"]
        self._banned = np.array([i for n, i in self.special.items() if n != "<eos>"], dtype=np.int64)
        options = session_options(threads)
        self.session = onnx_session(bundle.onnx_bytes, options, f"{bundle.path}/model.onnx")
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.cache_names = [n for n in self.input_names if n.startswith("past_")]
        # Graphs with a num_logits input return logits for the last n positions: drafts are checked in one pass.
        self.verifies = NUM_LOGITS in self.input_names
        if len(self.cache_names) != 2 * self.n_layers or self.input_names[0] != "input_ids" or \
                len(self.input_names) != 1 + 2 * self.n_layers + self.verifies:
            raise BundleCorrupt(f"{bundle.path}/model.onnx has inputs {self.input_names}; expected "
                                f"input_ids + {2 * self.n_layers} cache tensors (+ {NUM_LOGITS})")
        check_cache_shapes(self.session, self.n_heads, self.head_dim, f"{bundle.path}/model.onnx")

    @classmethod
    def load(cls, path: Path | str | None = None, threads: int = 0) -> "Engine":
        """Verify and load a bundle (the shipped default when path is None)."""
        return cls(load_bundle(path), threads=threads)

    def encode(self, text: str) -> list[int]:
        """Token ids of text (special-token names in text stay text)."""
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        """encode() of several texts in one call."""
        return [e.ids for e in self.tokenizer.encode_batch(texts, add_special_tokens=False)]

    def decode(self, ids: list[int]) -> str:
        """Text of token ids, special tokens left out."""
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    def empty_past(self, batch: int = 1) -> list[np.ndarray]:
        """A KV cache of length 0 for every layer."""
        shape = (batch, self.n_heads, 0, self.head_dim)
        return [np.zeros(shape, dtype=np.float32) for _ in range(2 * self.n_layers)]

    def step(self, ids: np.ndarray, past: list[np.ndarray], run_options: ort.RunOptions | None = None,
             positions: int = 1):
        """One forward pass: ids (B, T) -> logits and the extended cache. Logits are (B, V) for the last
        position, or (B, positions, V) for the last `positions` (graphs that verify only)."""
        feed = {"input_ids": ids.astype(np.int64, copy=False)}
        feed.update(zip(self.cache_names, past))
        if self.verifies:
            feed[NUM_LOGITS] = np.array(positions, dtype=np.int64)
        elif positions != 1:
            raise ValueError("this bundle's graph returns logits for the last position only")
        outputs = self.session.run(self.output_names, feed, run_options)
        logits = outputs[0]
        return (logits[:, 0] if self.verifies and positions == 1 else logits), outputs[1:]

    @cached_property
    def token_texts(self) -> list[str]:
        """The text of every token id on its own ('' for special tokens)."""
        ids = [[i] for i in range(self.tokenizer.get_vocab_size())]
        return self.tokenizer.decode_batch(ids, skip_special_tokens=True)

    def extend(self, ids: np.ndarray, past: list[np.ndarray], cancel: CancelToken, positions: int = 1):
        """step() under cancellation: (B, V) — or (B, positions, V) — log-probabilities (special tokens but
        <eos> banned) and the extended cache; raises Cancelled."""
        with cancel.running() as run_options:
            logits, past = self.step(ids, past, run_options, positions)
        logits[..., self._banned] = -np.inf  # never emit FIM/task tokens
        return log_softmax(logits), past

    def _clip(self, prompt_ids: list[int], max_new_tokens: int) -> tuple[list[int], int]:
        """Keep the end of an over-long prompt so that at least one new token fits; (ids, token budget)."""
        if not prompt_ids:
            raise ValueError("the model needs at least one prompt token")
        budget = min(max_new_tokens, self.max_seq_len - len(prompt_ids))
        prompt_ids = prompt_ids[-(self.max_seq_len - max(budget, 1)):]
        return prompt_ids, min(max_new_tokens, self.max_seq_len - len(prompt_ids))

    def prefill(self, prompt_ids: list[int], cancel: CancelToken | None = None, reserve: int = 1,
                reuse: Prefill | None = None) -> Prefill:
        """Run the prompt once (keeping room for `reserve` more tokens); raises Cancelled.

        With `reuse` (an earlier pass of this engine), only the tokens after the common prefix run.
        """
        ids, _ = self._clip(prompt_ids, reserve)
        t0 = time.perf_counter()
        keep = shared_prefix(reuse.ids, ids) if reuse is not None and reuse.owner is self.cache_key else 0
        if keep == len(ids) == len(reuse.ids if reuse is not None else ()):
            return reuse  # the very same prompt (a second call of one request): nothing to run
        keep = min(keep, len(ids) - 1)  # at least one token must run: its logits predict the next one
        # A view of the first `keep` positions: onnxruntime copies it into the concatenated present.
        past = [np.ascontiguousarray(p[:, :, :keep]) for p in reuse.past] if keep else self.empty_past()
        logprobs, past = self.extend(np.array([ids[keep:]], dtype=np.int64), past, cancel or CancelToken())
        return Prefill(logprobs[0], past, len(ids), (time.perf_counter() - t0) * 1000, tuple(ids), keep,
                       self.cache_key)

    def generate(self, prompt_ids: list[int], max_new_tokens: int = 24, stop: StopFn | None = None,
                 deadline: float | None = None, cancel: CancelToken | None = None) -> Generation:
        """Greedy decoding; checks cancel and the deadline (time.monotonic()) between tokens."""
        return self.generate_alternatives(prompt_ids, 1, max_new_tokens, stop, deadline, cancel)[0]

    def generate_alternatives(self, prompt_ids: list[int], n: int, max_new_tokens: int = 24,
                              stop: StopFn | None = None, deadline: float | None = None,
                              cancel: CancelToken | None = None,
                              cache: PromptCache | None = None, skip: int = 0, heal: str = "",
                              bias: Bias | None = None, draft: Draft | None = None,
                              halt: Halt | None = None) -> list[Generation]:
        """Greedy continuations of the n most likely first tokens, sharing one prompt pass.

        The first is plain greedy decoding; all n branches decode together as one batch. With a
        `cache`, the prompt pass reuses the previous one's common prefix and replaces it. `skip`
        leaves out the `skip` most likely first tokens (branches a previous call already decoded).
        With `bias`, every step decodes from bias(row's tokens so far, model log-probabilities); with
        `draft` (and a graph that verifies), a lone row checks drafted tokens several per pass; `halt` may
        end a row before any token after its first.
        """
        prompt_ids, budget = self._clip(prompt_ids, max_new_tokens)
        cancel = cancel or CancelToken()
        gens = [Generation("", [], [], "max_tokens", len(prompt_ids)) for _ in range(max(n, 1))]
        try:
            if cancel.cancelled:
                raise Cancelled("cancelled before the prompt")
            if budget <= 0:
                return gens
            if deadline is not None and time.monotonic() > deadline:
                for gen in gens:
                    gen.stop_reason = "deadline"
                return gens
            pre = self.prefill(prompt_ids, cancel, budget, cache.last if cache is not None else None)
            if cache is not None:
                cache.last = pre
            self._branch_loop(gens, pre, budget, stop, deadline, cancel, skip, heal, bias, draft, halt)
        except Cancelled:
            for gen in gens:
                gen.stop_reason = "cancelled"
        return gens

    def _accept(self, gen: Generation, token: int, logprob: float, stop: StopFn | None,
                halt: Halt | None = None) -> bool:
        """Append one token to gen; False when gen is finished (eos, `halt` before the token, its stop rule)."""
        if token == self.eos_id or not np.isfinite(logprob):
            gen.stop_reason = "eos"
            return False
        reason = halt(gen, token, logprob) if halt is not None else None
        if reason is not None:
            gen.stop_reason = reason
            return False
        gen.token_ids.append(token)
        gen.logprobs.append(logprob)
        gen.text = self.decode(gen.token_ids)
        cut = stop(gen.text) if stop else None
        if cut is not None:
            gen.text, gen.stop_reason = gen.text[:cut], "stop"
            return False
        return True

    @cached_property
    def healing(self) -> HealIndex:
        """Token healing's index over this model's token texts (built at the first healed request)."""
        return HealIndex(self.token_texts)

    def heal_mask(self, remaining: str) -> np.ndarray:
        """(V,) bool: tokens whose text starts with `remaining` or is a non-empty start of it."""
        return self.healing.mask(remaining)

    def _branch_loop(self, gens: list[Generation], pre: Prefill, budget: int, stop, deadline, cancel,
                     skip: int = 0, heal: str = "", bias: Bias | None = None, draft: Draft | None = None,
                     halt: Halt | None = None) -> None:
        """Decode every branch greedily from its own first token; finished rows leave the batch.

        With `heal` (text the user typed that the prompt leaves out, see lsp_server.inline.healing.heal_text), tokens are
        constrained to reproduce it first: token healing, so `impo` can become `import` though the
        tokenizer would never split `import` as `impo` + `rt`. With `draft`, a lone row checks the tokens
        the caches expect in one pass (prompt-lookup decoding): same tokens, fewer model calls.
        """
        t0 = time.perf_counter()
        accept = partial(self._accept, stop=stop, halt=halt)
        first_logprobs = bias([], pre.logprobs) if bias is not None else pre.logprobs
        first_logprobs = self.healing.constrain(first_logprobs, "", heal) if heal else first_logprobs
        first = np.argsort(-first_logprobs, kind="stable")[skip:skip + len(gens)]
        rows, next_ids = [], []  # rows: index into gens of each live batch row
        for i, (gen, token) in enumerate(zip(gens, first)):
            gen.prompt_ms = pre.ms
            gen.timings["reused_tokens"] = pre.reused
            gen.timings.update(model_calls=0, drafted=0, draft_accepted=0)
            if accept(gen, int(token), float(first_logprobs[token])):
                rows.append(i)
                next_ids.append(int(token))
        past = [np.repeat(p, len(rows), axis=0) for p in pre.past]
        pick = partial(self._pick, bias=bias, heal=heal)
        while rows and len(gens[rows[0]].token_ids) < budget:
            if deadline is not None and time.monotonic() > deadline:
                for i in rows:
                    gens[i].stop_reason = "deadline"
                break
            if len(rows) == 1 and draft is not None and self.verifies:
                gen = gens[rows[0]]
                proposed = draft(gen.token_ids, min(MAX_DRAFT, budget - len(gen.token_ids) - 1))
                if proposed:
                    next_ids, past = self._verify_row(gen, next_ids[0], proposed, past, accept, cancel, pick)
                    rows = rows if next_ids else []
                    continue
            logprobs, past = self.extend(np.array(next_ids, dtype=np.int64)[:, None], past, cancel)
            keep, next_ids = [], []
            for r, i in enumerate(rows):
                gens[i].timings["model_calls"] += 1
                token, logprob = pick(gens[i], logprobs[r])
                if accept(gens[i], token, logprob):
                    keep.append(r)
                    next_ids.append(token)
            if len(keep) < len(rows):
                past = [p[keep] for p in past]
            rows = [rows[r] for r in keep]
        for gen in gens:
            gen.decode_ms = (time.perf_counter() - t0) * 1000

    def _pick(self, gen: Generation, logprobs: np.ndarray, bias: Bias | None, heal: str) -> tuple[int, float]:
        """The greedy next token of one row from its model log-probabilities, after bias and healing."""
        row = bias(gen.token_ids, logprobs) if bias is not None else logprobs
        row = self.healing.constrain(row, gen.text, heal) if heal else row
        token = int(row.argmax())
        return token, float(row[token])

    def _verify_row(self, gen: Generation, last: int, proposed: list[int], past: list[np.ndarray], accept,
                    cancel: CancelToken, pick) -> tuple[list[int], list[np.ndarray]]:
        """One pass over [last, *proposed]: accept greedy tokens while they equal the proposal (the first
        that differs is accepted too, as a plain step would have); the cache keeps only the checked inputs.
        Returns ([the next input token], cache), or ([], cache) when the row finished."""
        length = past[0].shape[2]
        inputs = [last, *proposed]
        logprobs, past = self.extend(np.array([inputs], dtype=np.int64), past, cancel, positions=len(inputs))
        gen.timings["model_calls"] += 1
        gen.timings["drafted"] += len(proposed)
        for j in range(len(inputs)):
            token, logprob = pick(gen, logprobs[0, j])
            if not accept(gen, token, logprob):
                return [], past
            if j == len(proposed) or token != proposed[j]:
                break
            gen.timings["draft_accepted"] += 1
        # Inputs 0..j are what the row decoded; keys/values of later drafted inputs are dropped.
        return [token], [np.ascontiguousarray(p[:, :, :length + j + 1]) for p in past]

    def score(self, pre: Prefill, continuations: list[list[int]], continue_mask: np.ndarray | None = None,
              cancel: CancelToken | None = None, bias: Bias | None = None) -> list[float]:
        """Log-probability of each token sequence after the prompt (lsp_server.runtime.scoring.score)."""
        return score(self, pre, continuations, continue_mask, cancel, bias)
