"""PyTorch -> ONNX with an explicit KV cache, parity against PyTorch, and int8 dynamic quantization."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from lsp_server.bundle_format import NUM_LOGITS
from model.transformer import DecoderLM

OPSET = 17


def io_names(n_layers: int) -> tuple[list[str], list[str]]:
    """ONNX input and output names: input_ids + past_{key,value}_i + num_logits -> logits + present_{key,value}_i."""
    past = [f"past_{kind}_{i}" for i in range(n_layers) for kind in ("key", "value")]
    present = [f"present_{kind}_{i}" for i in range(n_layers) for kind in ("key", "value")]
    return ["input_ids", *past, NUM_LOGITS], ["logits", *present]


def decoder_feed(session_inputs: list[str], ids: np.ndarray, past: list[np.ndarray], num_logits: int = 1) -> dict:
    """An onnxruntime feed for a decoder graph of either logits layout (num_logits only where it is an input)."""
    feed = {"input_ids": ids.astype(np.int64, copy=False)}
    feed.update(zip([n for n in session_inputs if n.startswith("past_")], past))
    if NUM_LOGITS in session_inputs:
        feed[NUM_LOGITS] = np.array(num_logits, dtype=np.int64)
    return feed


class DecoderStep(nn.Module):
    """One decoding step with flat cache tensors and num_logits last: logits (B, num_logits, V)."""

    def __init__(self, model: DecoderLM):
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, *past_and_count: torch.Tensor):
        *past_flat, num_logits = past_and_count
        past = [(past_flat[2 * i], past_flat[2 * i + 1]) for i in range(len(past_flat) // 2)]
        logits, present = self.model(input_ids, past=past, last_n=num_logits)
        return (logits, *[t for kv in present for t in kv])


def example_inputs(model: DecoderLM, batch: int, seq: int, past_len: int, seed: int = 0):
    """Random ids and a random cache; sizes other than 0/1 so that the exporter keeps them dynamic."""
    cfg = model.cfg
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, cfg.vocab_size, (batch, seq), generator=g)
    shape = (batch, cfg.n_heads, past_len, cfg.head_dim)
    past = [torch.randn(shape, generator=g) * 0.5 for _ in range(2 * cfg.n_layers)]
    return ids, past


def export_decoder(model: DecoderLM, out_path: Path, metadata: dict | None = None) -> Path:
    """Export the decoder step to a single .onnx file with dynamic batch/sequence/past axes."""
    model = model.eval()
    inputs, outputs = io_names(model.cfg.n_layers)
    ids, past = example_inputs(model, batch=2, seq=5, past_len=3)
    axes = {"input_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "positions"}}
    axes.update({n: {0: "batch", 2: "past"} for n in inputs[1:-1]})
    axes.update({n: {0: "batch", 2: "total"} for n in outputs[1:]})
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation notice
        torch.onnx.export(DecoderStep(model), (ids, *past, torch.tensor(2)), str(out_path), input_names=inputs,
                          output_names=outputs, dynamic_axes=axes, opset_version=OPSET, dynamo=False,
                          do_constant_folding=True)
    if metadata:
        set_metadata(out_path, metadata)
    return out_path


def set_metadata(path: Path, metadata: dict) -> None:
    """Write string metadata_props into an ONNX file (format version, config, tokenizer hash)."""
    import onnx
    proto = onnx.load(str(path))
    del proto.metadata_props[:]
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value if isinstance(value, str) else json.dumps(value)
    onnx.save(proto, str(path))


def quantize_int8(fp32_path: Path, int8_path: Path) -> Path:
    """Dynamic int8 quantization; shape pre-processing first so the tied LM head is quantized too."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process
    pre = Path(int8_path).with_suffix(".pre.onnx")
    quant_pre_process(str(fp32_path), str(pre), skip_symbolic_shape=True)
    quantize_dynamic(str(pre), str(int8_path), weight_type=QuantType.QInt8, per_channel=False)
    pre.unlink()
    return Path(int8_path)


def reference_cases(model: DecoderLM) -> dict[str, np.ndarray]:
    """Reference inputs and PyTorch logits: an empty-cache prompt, one step with a cache, a batch of 2 whose
    last 3 positions get logits (a drafted run being verified)."""
    model = model.eval()
    cases: dict[str, np.ndarray] = {}
    specs = {"prompt": (1, 12, 0, 1), "step": (1, 1, 12, 1), "batch": (2, 4, 6, 3)}
    for name, (b, t, p, n) in specs.items():
        ids, past = example_inputs(model, b, t, p, seed=len(name))
        with torch.no_grad():
            logits = DecoderStep(model)(ids, *past, torch.tensor(n))[0]
        cases[f"{name}.input_ids"] = ids.numpy()
        cases[f"{name}.num_logits"] = np.array(n, dtype=np.int64)
        for i, tensor in enumerate(past):
            cases[f"{name}.past.{i}"] = tensor.numpy()
        cases[f"{name}.logits"] = logits.numpy()
    return cases


def parity(onnx_path: Path, cases: dict[str, np.ndarray], n_layers: int) -> float:
    """Max abs difference between onnxruntime and the saved PyTorch logits over all reference cases."""
    import onnxruntime as ort
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    worst = 0.0
    for name in sorted({k.split(".")[0] for k in cases}):
        past = [cases[f"{name}.past.{i}"].astype(np.float32) for i in range(2 * n_layers)]
        feed = decoder_feed(names, cases[f"{name}.input_ids"], past, int(cases[f"{name}.num_logits"]))
        logits = session.run(["logits"], feed)[0]
        worst = max(worst, float(np.abs(logits - cases[f"{name}.logits"]).max()))
    return worst
