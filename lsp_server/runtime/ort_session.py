"""onnxruntime sessions and the tokenizer from verified bundle bytes, shared by both models."""
from __future__ import annotations

import os

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from ..errors import BundleCorrupt
from .bundles import Bundle

# onnxruntime's pool threads spin while they wait for work by default: on two cores shared with the
# editor, the event loop and tree-sitter, spinning takes the CPU from them (benchmarks/engine.py measures).
ALLOW_SPINNING = False


def session_options(threads: int = 0, spinning: bool = ALLOW_SPINNING) -> ort.SessionOptions:
    """onnxruntime options for decoding one request at a time: `threads` intra-op (0: min(2, cores))."""
    options = ort.SessionOptions()
    cores = os.cpu_count() or 1
    options.intra_op_num_threads = min(threads, cores) if threads > 0 else min(2, cores)
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    return options


def log_softmax(x: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax of (..., V) logits (-inf entries stay -inf)."""
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def check_model_config(cfg: dict, where: str) -> tuple[int, int]:
    """(n_heads, head_dim) of a manifest's model_config; BundleCorrupt when d_model does not split into heads."""
    n_heads, d_model = int(cfg["n_heads"]), int(cfg["d_model"])
    if d_model % n_heads:
        raise BundleCorrupt(f"{where}: model_config d_model {d_model} is not a multiple of n_heads {n_heads}; "
                            "the manifest does not describe this model: re-export the bundle")
    return n_heads, d_model // n_heads


def check_cache_shapes(session: ort.InferenceSession, n_heads: int, head_dim: int, where: str) -> None:
    """Every cache input (past_*, cross_*) of the graph is (batch, n_heads, length, head_dim) as the manifest
    says; otherwise every request would fail at its first step, so the bundle is refused at load."""
    for tensor in session.get_inputs():
        if not tensor.name.startswith(("past_", "cross_")):
            continue
        shape = list(tensor.shape)
        heads, dim = (shape[1], shape[3]) if len(shape) == 4 else (None, None)
        if len(shape) != 4 or (isinstance(heads, int) and heads != n_heads) or (isinstance(dim, int) and dim != head_dim):
            raise BundleCorrupt(f"{where}: input {tensor.name} has shape {shape}, but the manifest's model_config "
                                f"says {n_heads} heads of {head_dim}; the manifest does not describe this graph: "
                                "re-export the bundle")


def bundle_tokenizer(bundle: Bundle) -> Tokenizer:
    """The bundle's verified tokenizer; text containing "<eos>" stays text (special ids are only added by us)."""
    try:
        tokenizer = Tokenizer.from_str(bundle.tokenizer_json)
    except Exception as exc:  # tokenizers raises bare Exception subclasses for malformed JSON
        raise BundleCorrupt(f"{bundle.path}/tokenizer.json cannot be loaded: {exc}") from None
    tokenizer.encode_special_tokens = True
    return tokenizer


def onnx_session(data: bytes, options: ort.SessionOptions, where: str) -> ort.InferenceSession:
    """A session from verified bytes, not a path: what was hashed is what runs. Loaded from bytes,
    onnxruntime would still resolve external data against the working directory, so load_bundle refuses
    any external-data reference first (lsp_server.runtime.onnx_refs)."""
    try:
        return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped Fail/InvalidProtobuf errors
        raise BundleCorrupt(f"{where} cannot be loaded by onnxruntime: {exc}") from None
