"""The bundle's docstring model: an encoder–decoder pair of ONNX graphs, decoded by beam search in numpy.

Per request the encoder runs once on the function's source and returns every decoder layer's
cross-attention keys/values (B=1); they are tiled to the beam width once and every decoder step reads the
first rows it needs. Decoding starts from `<docstring>` and ends at `<eos>`. Beam search keeps `beam`
hypotheses, bans n-grams a hypothesis already contains, ranks finished ones by log-probability divided by
length, and checks cancellation (and a deadline) between steps. Beam width 1 is greedy decoding.

The source is the function's code, or with manifest "source_format": "context-v1" (lsp_server/doc_format.py)
the code after a header of project context; `uses_context` says which one the caller builds. A bundle without
the key (the shipped one) is given plain code.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from tokenizers import Tokenizer

from ..doc_format import SOURCE_FORMAT
from ..errors import BundleCorrupt, ModelUnavailable
from .bundles import Bundle, load_bundle
from .cancel import CancelToken
from .ort_session import (
    bundle_tokenizer,
    check_cache_shapes,
    check_model_config,
    log_softmax,
    onnx_session,
    session_options,
)

SOURCE_CHARS_PER_TOKEN = 32  # more characters than any 256 tokens of code take: tokenize no more than that
StepFn = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (last tokens (n,), parent rows (n,)) -> (n, V) logprobs


@dataclass(frozen=True)
class BeamOptions:
    """Beam width (1: greedy), length limit, no-repeat n-gram size (0: off), length normalisation exponent."""
    beam: int = 4
    max_tokens: int = 40
    no_repeat_ngram: int = 3
    length_penalty: float = 1.0
    min_tokens: int = 1  # <eos> is banned before this many tokens: an empty summary is never the answer


@dataclass
class DocGeneration:
    """The best hypothesis of one search and how it went."""
    text: str
    token_ids: list[int]
    score: float        # sum of token log-probabilities / length ** length_penalty
    stop_reason: str    # eos | max_tokens | deadline | dead_end | empty_source
    source_tokens: int
    steps: int = 0
    encode_ms: float = 0.0
    decode_ms: float = 0.0


def repeated_ngram_tokens(tokens: list[int], n: int) -> list[int]:
    """The tokens that would complete an n-gram already in tokens (none for n < 1)."""
    if n < 1 or len(tokens) < n - 1:
        return []
    prefix = tokens[len(tokens) - n + 1:]
    return [tokens[i + n - 1] for i in range(len(tokens) - n + 1) if tokens[i:i + n - 1] == prefix]


def _normalised(logprob: float, length: int, penalty: float) -> float:
    return logprob / max(length, 1) ** penalty


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Flat indices of the k best finite scores, best first; ties by index (deterministic)."""
    flat = scores.ravel()
    k = min(k, flat.size)
    idx = np.argpartition(-flat, k - 1)[:k]
    idx = idx[np.lexsort((idx, -flat[idx]))]
    return idx[np.isfinite(flat[idx])]


def beam_search(step: StepFn, bos: int, eos: int, options: BeamOptions, banned: np.ndarray | None = None,
                deadline: float | None = None) -> tuple[list[int], float, str, int]:
    """(tokens, normalised score, stop reason, steps) of the best hypothesis; step() raises Cancelled.

    A hypothesis ends when <eos> is among the `beam` best candidates; the search ends once `beam` have
    ended (HF's early_stopping=True), at the length limit, or at the deadline (time.monotonic()).
    """
    width, vocab_banned = max(options.beam, 1), banned if banned is not None else np.zeros(0, dtype=np.int64)
    live: list[tuple[list[int], float]] = [([], 0.0)]
    finished: list[tuple[float, list[int]]] = []
    tokens, parents = np.array([bos], dtype=np.int64), np.zeros(1, dtype=np.int64)
    reason, steps = "max_tokens", 0
    for t in range(options.max_tokens):
        if deadline is not None and time.monotonic() > deadline:
            reason = "deadline"
            break
        logprobs = step(tokens, parents)  # (n, V)
        steps += 1
        logprobs[:, vocab_banned] = -np.inf
        if t < options.min_tokens:
            logprobs[:, eos] = -np.inf
        for row, (seq, _) in enumerate(live):
            logprobs[row, repeated_ngram_tokens(seq, options.no_repeat_ngram)] = -np.inf
        totals = logprobs + np.array([score for _, score in live], dtype=np.float32)[:, None]
        next_live, next_tokens, next_parents = [], [], []
        for rank, idx in enumerate(_top(totals, 2 * width)):
            row, token = divmod(int(idx), totals.shape[1])
            seq, score = live[row][0], float(totals[row, token])
            if token == eos:
                if rank < width:  # an <eos> outside the best `width` candidates does not end a hypothesis
                    finished.append((_normalised(score, len(seq) + 1, options.length_penalty), seq))
                continue
            next_live.append((seq + [token], score))
            next_tokens.append(token)
            next_parents.append(row)
            if len(next_live) == width:
                break
        if len(finished) >= width:
            reason = "eos"
            break
        if not next_live:  # every continuation banned: the live hypotheses end here
            reason = "dead_end"
            break
        live = next_live
        tokens, parents = np.array(next_tokens, dtype=np.int64), np.array(next_parents, dtype=np.int64)
    ended = [(score, seq, "eos") for score, seq in finished]
    if reason != "eos":
        ended += [(_normalised(score, len(seq), options.length_penalty), seq, reason) for seq, score in live]
    if not ended:
        return [], float("-inf"), reason, steps
    score, seq, why = max(ended, key=lambda item: item[0])  # the first of equal scores: deterministic
    return seq, score, why, steps


class _DecoderSteps:
    """The StepFn of one request: reorders the self-attention cache by parent row, runs one decoder step."""

    def __init__(self, model: "DocstringModel", cross: list[np.ndarray], width: int, cancel: CancelToken):
        self.model, self.cancel = model, cancel
        self.cross = [np.repeat(c, width, axis=0) for c in cross]  # (beam, H, S, Dh): rows are identical
        self.past = model.empty_past(1)

    def __call__(self, tokens: np.ndarray, parents: np.ndarray) -> np.ndarray:
        n = len(tokens)
        if n != self.past[0].shape[0] or not np.array_equal(parents, np.arange(n)):
            self.past = [p[parents] for p in self.past]
        feed = {"input_ids": tokens[:, None]}
        feed.update(zip(self.model.cross_names, (c[:n] for c in self.cross)))
        feed.update(zip(self.model.past_names, self.past))
        with self.cancel.running() as run_options:
            logits, *self.past = self.model.decoder.run(self.model.decoder_outputs, feed, run_options)
        return log_softmax(logits)


class DocstringModel:
    """Encoder and decoder sessions over a verified bundle's docstring files. Thread-safe like Engine."""

    def __init__(self, bundle: Bundle, threads: int = 0, tokenizer: Tokenizer | None = None):
        """`tokenizer`: the code LM engine's (the same verified tokenizer.json), so it is parsed once."""
        if bundle.docstring is None:
            raise ModelUnavailable(f"bundle {bundle.name} ({bundle.path}) has no docstring model; add one with "
                                   f"`quill export-doc --checkpoint DIR --bundle {bundle.path}`")
        section = bundle.docstring.section
        cfg = section["model_config"]
        self.n_layers = int(cfg["n_layers"])
        self.n_heads, self.head_dim = check_model_config(cfg, f"{bundle.path}/manifest.json (docstring)")
        self.max_seq_len = int(cfg["max_seq_len"])
        self.max_source_tokens = min(int(section["max_source_tokens"]), self.max_seq_len)
        # Trained on doc_format.doc_source (class and neighbour summaries before the code), else plain code.
        self.uses_context = section.get("source_format") == SOURCE_FORMAT
        self.tokenizer = tokenizer or bundle_tokenizer(bundle)
        special = {name: int(i) for name, i in bundle.special_tokens.items()}
        self.bos_id, self.eos_id = special[section["bos_token"]], special[section["eos_token"]]
        self.banned = np.array(sorted(i for i in special.values() if i != self.eos_id), dtype=np.int64)
        options = session_options(threads)
        files = section["files"]
        self.encoder = onnx_session(bundle.docstring.encoder_bytes, options, f"{bundle.path}/{files['encoder']}")
        self.decoder = onnx_session(bundle.docstring.decoder_bytes, options, f"{bundle.path}/{files['decoder']}")
        layers = [f"{kind}_{i}" for i in range(self.n_layers) for kind in ("key", "value")]
        self.cross_names = [f"cross_{name}" for name in layers]
        self.past_names = [f"past_{name}" for name in layers]
        self.decoder_outputs = ["logits", *(f"present_{name}" for name in layers)]
        self._check_io(bundle.path, files)
        for role, session in (("encoder", self.encoder), ("decoder", self.decoder)):
            check_cache_shapes(session, self.n_heads, self.head_dim, f"{bundle.path}/{files[role]}")

    def _check_io(self, folder: Path, files: dict) -> None:
        """The graphs have the inputs and outputs this class feeds and reads (else BundleCorrupt)."""
        expected = {files["encoder"]: (self.encoder, ["input_ids"], ["memory", *self.cross_names]),
                    files["decoder"]: (self.decoder, ["input_ids", *self.cross_names, *self.past_names],
                                       self.decoder_outputs)}
        for name, (session, inputs, outputs) in expected.items():
            found = ([i.name for i in session.get_inputs()], [o.name for o in session.get_outputs()])
            if found != (inputs, outputs):
                raise BundleCorrupt(f"{folder}/{name} has inputs {found[0]} and outputs {found[1]}; expected "
                                    f"{inputs} and {outputs}: re-export it with `quill export-doc`")

    @classmethod
    def load(cls, source: Bundle | Path | str | None = None, threads: int = 0) -> "DocstringModel":
        """The docstring model of a bundle (a loaded Bundle, a folder, or the shipped one for None)."""
        bundle = source if isinstance(source, Bundle) else load_bundle(source)
        return cls(bundle, threads)

    def empty_past(self, batch: int = 1) -> list[np.ndarray]:
        """A self-attention cache of length 0 for every decoder layer."""
        shape = (batch, self.n_heads, 0, self.head_dim)
        return [np.zeros(shape, dtype=np.float32) for _ in range(2 * self.n_layers)]

    def source_ids(self, code: str) -> list[int]:
        """The encoder's input: the first max_source_tokens tokens of the code."""
        head = code[:self.max_source_tokens * SOURCE_CHARS_PER_TOKEN]
        return self.tokenizer.encode(head, add_special_tokens=False).ids[:self.max_source_tokens]

    def encode(self, ids: list[int], cancel: CancelToken) -> list[np.ndarray]:
        """Cross-attention keys/values of every decoder layer for one source: (1, H, S, Dh) each."""
        with cancel.running() as run_options:
            return self.encoder.run(self.cross_names, {"input_ids": np.array([ids], dtype=np.int64)}, run_options)

    def search(self, code: str, options: BeamOptions = BeamOptions(), cancel: CancelToken | None = None,
               deadline: float | None = None) -> DocGeneration:
        """Beam search for the summary of code (a function without its docstring); raises Cancelled."""
        cancel = cancel or CancelToken()
        ids = self.source_ids(code)
        if not ids:
            return DocGeneration("", [], float("-inf"), "empty_source", 0)
        t0 = time.perf_counter()
        cross = self.encode(ids, cancel)
        t1 = time.perf_counter()
        limit = BeamOptions(options.beam, min(options.max_tokens, self.max_seq_len - 1), options.no_repeat_ngram,
                            options.length_penalty, options.min_tokens)
        steps = _DecoderSteps(self, cross, max(options.beam, 1), cancel)
        tokens, score, reason, n = beam_search(steps, self.bos_id, self.eos_id, limit, self.banned, deadline)
        text = self.tokenizer.decode(tokens, skip_special_tokens=True).strip()
        return DocGeneration(text, tokens, score, reason, len(ids), n, (t1 - t0) * 1000,
                             (time.perf_counter() - t1) * 1000)

    def generate(self, code: str, beam: int = 4, max_tokens: int = 40, no_repeat_ngram: int = 3,
                 cancel: CancelToken | None = None, deadline: float | None = None) -> str:
        """The summary text (special tokens left out) for code; raises Cancelled."""
        return self.search(code, BeamOptions(beam, max_tokens, no_repeat_ngram), cancel, deadline).text
