"""Seq2Seq docstring model -> two ONNX graphs (encoder once per request, decoder per token), with parity.

doc_encoder.onnx: input_ids (B, S) -> memory (B, S, C) and, per decoder layer, cross_key_i / cross_value_i
(B, H, S, Dh): the cross-attention keys/values of the source, computed once per request.
doc_decoder.onnx: input_ids (B, T), cross_key_i / cross_value_i, past_key_i / past_value_i (B, H, P, Dh)
-> logits of the last position (B, V) and present_key_i / present_value_i (B, H, P+T, Dh).
Same legacy exporter, opset, metadata and int8 quantization as the code LM (export/onnx_export.py).
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from lsp_server.bundle_format import (
    DOC_DECODER_FILE,
    DOC_ENCODER_FILE,
    DOC_REFERENCE_FILE,
)
from model.seq2seq import Seq2Seq

from .onnx_export import OPSET, set_metadata

ENCODER_FILE, DECODER_FILE, REFERENCE_FILE = DOC_ENCODER_FILE, DOC_DECODER_FILE, DOC_REFERENCE_FILE
GRAPH_KINDS = {ENCODER_FILE: "seq2seq_encoder", DECODER_FILE: "seq2seq_decoder"}  # metadata quill.kind


def _per_layer(prefix: str, n_layers: int) -> list[str]:
    return [f"{prefix}_{kind}_{i}" for i in range(n_layers) for kind in ("key", "value")]


def encoder_io_names(n_layers: int) -> tuple[list[str], list[str]]:
    """input_ids -> memory + cross_{key,value}_i."""
    return ["input_ids"], ["memory", *_per_layer("cross", n_layers)]


def decoder_io_names(n_layers: int) -> tuple[list[str], list[str]]:
    """input_ids + cross_{key,value}_i + past_{key,value}_i -> logits + present_{key,value}_i."""
    inputs = ["input_ids", *_per_layer("cross", n_layers), *_per_layer("past", n_layers)]
    return inputs, ["logits", *_per_layer("present", n_layers)]


def _pairs(flat) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(flat[2 * i], flat[2 * i + 1]) for i in range(len(flat) // 2)]


class EncoderGraph(nn.Module):
    """The encoder and every decoder layer's cross-attention projection of its output."""

    def __init__(self, model: Seq2Seq):
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor):
        memory = self.model.encode(input_ids)  # (B, S, C); one unpadded source per row, so no mask
        return (memory, *[t for kv in self.model.cross_kv(memory) for t in kv])


class DecoderGraph(nn.Module):
    """One decoding step over flat cross/past tensors; logits for the last position only: (B, V)."""

    def __init__(self, model: Seq2Seq):
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, *flat: torch.Tensor):
        n = 2 * self.model.cfg.n_layers
        cross, past = _pairs(flat[:n]), _pairs(flat[n:])
        logits, present = self.model.decode(input_ids, cross, past=past, last_only=True)
        return (logits, *[t for kv in present for t in kv])


def example_decoder_inputs(model: Seq2Seq, batch: int, seq: int, source: int, past_len: int, seed: int = 0):
    """Random ids, cross keys/values and cache (sizes other than 0/1 keep the exporter's axes dynamic)."""
    cfg = model.cfg
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, cfg.vocab_size, (batch, seq), generator=g)
    cross = [torch.randn((batch, cfg.n_heads, source, cfg.head_dim), generator=g) * 0.5
             for _ in range(2 * cfg.n_layers)]
    past = [torch.randn((batch, cfg.n_heads, past_len, cfg.head_dim), generator=g) * 0.5
            for _ in range(2 * cfg.n_layers)]
    return ids, cross, past


def _export(module: nn.Module, args: tuple, path: Path, inputs: list[str], outputs: list[str], axes: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation notice
        torch.onnx.export(module, args, str(path), input_names=inputs, output_names=outputs, dynamic_axes=axes,
                          opset_version=OPSET, dynamo=False, do_constant_folding=True)


def export_seq2seq(model: Seq2Seq, out_dir: Path, metadata: dict | None = None) -> tuple[Path, Path]:
    """Write doc_encoder.onnx and doc_decoder.onnx (single files, dynamic batch/source/seq/past axes)."""
    model = model.eval()
    n = model.cfg.n_layers
    out_dir = Path(out_dir)
    enc_in, enc_out = encoder_io_names(n)
    src = torch.randint(0, model.cfg.vocab_size, (2, 7), generator=torch.Generator().manual_seed(0))
    axes = {"input_ids": {0: "batch", 1: "source"}, "memory": {0: "batch", 1: "source"}}
    axes.update({name: {0: "batch", 2: "source"} for name in enc_out[1:]})
    _export(EncoderGraph(model), (src,), out_dir / ENCODER_FILE, enc_in, enc_out, axes)
    dec_in, dec_out = decoder_io_names(n)
    ids, cross, past = example_decoder_inputs(model, batch=2, seq=3, source=7, past_len=4)
    axes = {"input_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch"}}
    axes.update({name: {0: "batch", 2: "source"} for name in dec_in[1:1 + 2 * n]})
    axes.update({name: {0: "batch", 2: "past"} for name in dec_in[1 + 2 * n:]})
    axes.update({name: {0: "batch", 2: "total"} for name in dec_out[1:]})
    _export(DecoderGraph(model), (ids, *cross, *past), out_dir / DECODER_FILE, dec_in, dec_out, axes)
    if metadata:
        for name, kind in GRAPH_KINDS.items():
            set_metadata(out_dir / name, {**metadata, "quill.kind": kind})
    return out_dir / ENCODER_FILE, out_dir / DECODER_FILE


# Decoder cases: (batch, new tokens, source length, past length): the first step after <docstring>,
# a beam step with a cache, and several tokens at once on top of a cache.
DECODER_CASES = {"first": (1, 1, 11, 0), "beam": (3, 1, 9, 5), "block": (2, 4, 6, 3)}


def reference_cases(model: Seq2Seq) -> dict[str, np.ndarray]:
    """Reference inputs and PyTorch outputs: one encoder case, three decoder cases."""
    model = model.eval()
    cfg = model.cfg
    cases: dict[str, np.ndarray] = {}
    src = torch.randint(0, cfg.vocab_size, (1, 13), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        memory, *cross = EncoderGraph(model)(src)
    cases["encoder.input_ids"], cases["encoder.memory"] = src.numpy(), memory.numpy()
    cases.update({f"encoder.cross.{i}": t.numpy() for i, t in enumerate(cross)})
    for seed, (name, (b, t, s, p)) in enumerate(DECODER_CASES.items(), start=2):
        ids, cross, past = example_decoder_inputs(model, b, t, s, p, seed=seed)
        with torch.no_grad():
            logits = DecoderGraph(model)(ids, *cross, *past)[0]
        cases[f"{name}.input_ids"], cases[f"{name}.logits"] = ids.numpy(), logits.numpy()
        cases.update({f"{name}.cross.{i}": x.numpy() for i, x in enumerate(cross)})
        cases.update({f"{name}.past.{i}": x.numpy() for i, x in enumerate(past)})
    return cases


def _session(path_or_bytes):
    import onnxruntime as ort
    source = str(path_or_bytes) if isinstance(path_or_bytes, Path) else path_or_bytes
    return ort.InferenceSession(source, providers=["CPUExecutionProvider"])


def parity(encoder: Path, decoder: Path, cases: dict[str, np.ndarray], n_layers: int) -> dict[str, float]:
    """Max abs difference of onnxruntime vs the saved PyTorch outputs: encoder (memory and cross K/V), decoder
    (logits)."""
    _, enc_out = encoder_io_names(n_layers)
    got = _session(Path(encoder)).run(enc_out, {"input_ids": cases["encoder.input_ids"].astype(np.int64)})
    want = [cases["encoder.memory"], *[cases[f"encoder.cross.{i}"] for i in range(2 * n_layers)]]
    worst_encoder = max(float(np.abs(g - w).max()) for g, w in zip(got, want))
    session = _session(Path(decoder))
    dec_in, _ = decoder_io_names(n_layers)
    worst_decoder = 0.0
    for name in DECODER_CASES:
        tensors = [cases[f"{name}.cross.{i}"] for i in range(2 * n_layers)]
        tensors += [cases[f"{name}.past.{i}"] for i in range(2 * n_layers)]
        feed = {"input_ids": cases[f"{name}.input_ids"].astype(np.int64)}
        feed.update(zip(dec_in[1:], (t.astype(np.float32) for t in tensors)))
        logits = session.run(["logits"], feed)[0]
        worst_decoder = max(worst_decoder, float(np.abs(logits - cases[f"{name}.logits"]).max()))
    return {"encoder": worst_encoder, "decoder": worst_decoder}
