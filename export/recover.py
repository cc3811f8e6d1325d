"""Recover PyTorch weights from a bundle's model.onnx (int8 or fp32), so a shipped model can be fine-tuned.

A bundle carries no PyTorch weights. `quantize_dynamic` stores each weight as `<name>_quantized` (int8, or
uint8 for the embedding Gather) with `<name>_scale` and `<name>_zero_point`; the legacy exporter stores
Linear weights transposed as `onnx::MatMul_*` and the tied LM head as a second, transposed copy of the
embedding. Each torch parameter is found in its initializer(s) through the manifest's `weight_map` (written
by `build_bundle`) or, for older bundles, through the graph structure; the recovered model is then checked against the
bundle's reference logits and its own onnxruntime logits, and refused when it does not match.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from lsp_server.bundle_format import REFERENCE_FILE, sha256_file
from model.transformer import DecoderLM, ModelConfig

LINEARS = ("attn.q_proj", "attn.kv_proj", "attn.out_proj", "mlp.up", "mlp.down")  # graph order in a block
NORMS = ("ln_attn", "ln_mlp")
QUANT = "_quantized"
TOLERANCE_FACTOR = 1.5


class RecoveryError(ValueError):
    """The bundle's weights cannot be mapped back to a DecoderLM, or the rebuilt model does not match."""


def weight_map(onnx_path: Path, model: DecoderLM) -> dict[str, list[dict]]:
    """{parameter: [{"initializer", "transposed"}, ...]}: every fp32 initializer equal (exactly) to it.

    A parameter may have several copies (the tied embedding: the Gather's and the LM head's transposed one),
    and one initializer may serve several parameters (the exporter merges equal tensors, such as the norms
    of an untrained model). Empty when some parameter has no copy: recovery then reads the graph structure.
    """
    import onnx
    from onnx import numpy_helper
    inits = [(i.name, numpy_helper.to_array(i)) for i in onnx.load(str(onnx_path)).graph.initializer]
    inits = [(name, v) for name, v in inits if v.dtype == np.float32 and v.ndim > 0]
    found: dict[str, list[dict]] = {}
    for param, tensor in model.state_dict().items():
        p = tensor.detach().cpu().numpy()
        copies = [{"initializer": name, "transposed": False} for name, v in inits
                  if v.shape == p.shape and np.array_equal(v, p)]
        copies += [{"initializer": name, "transposed": True} for name, v in inits
                   if p.ndim == 2 and v.shape == p.shape[::-1] and np.array_equal(v, p.T)]
        if not copies:
            return {}
        found[param] = copies
    return found


def dequantized_weights(proto) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Base name -> (fp32 value, quantization step) of every float or dynamically quantized initializer."""
    from onnx import numpy_helper
    inits = {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, value in inits.items():
        base = name[:-len(QUANT)] if name.endswith(QUANT) else None
        if base is not None and f"{base}_scale" in inits:
            scale = _broadcast(inits[f"{base}_scale"].astype(np.float32), value.shape)
            zero = _broadcast(inits.get(f"{base}_zero_point", np.zeros((), np.int32)).astype(np.float32), value.shape)
            out[base] = ((value.astype(np.float32) - zero) * scale, scale)
        elif value.dtype == np.float32 and name not in out:
            out[name] = (value, np.zeros((), np.float32))
    return out


def _broadcast(param: np.ndarray, shape: tuple) -> np.ndarray:
    """A per-tensor (scalar) or per-channel (1-D, along the axis of that length) quantization parameter."""
    if param.size == 1:
        return param.reshape(())
    axis = len(shape) - 1 if shape[-1] == param.size else 0
    return param.reshape([-1 if i == axis else 1 for i in range(len(shape))])


def structural_map(proto, cfg: ModelConfig, weights: dict) -> dict[str, list[dict]]:
    """The weight map read from the graph: weight MatMuls, LayerNorms and the embedding Gather in node order.

    Node order is a topological order, so inside a block q_proj comes before out_proj (which reads its
    output) and up before down; kv_proj differs from both in shape. Shapes are checked on assembly.
    """
    # The exporter merges equal tensors and names the copies through Identity nodes.
    alias = {node.output[0]: node.input[0] for node in proto.graph.node if node.op_type == "Identity"}

    def base(name: str) -> str:
        while name in alias:
            name = alias[name]
        return name[:-len(QUANT)] if name.endswith(QUANT) else name

    matmuls, norms, embeds = [], [], []
    for node in proto.graph.node:
        if node.op_type in ("MatMul", "MatMulInteger") and base(node.input[1]) in weights:
            matmuls.append(base(node.input[1]))
        elif node.op_type == "LayerNormalization":
            norms.append((base(node.input[1]), base(node.input[2])))
        elif node.op_type == "Gather" and base(node.input[0]) in weights \
                and weights[base(node.input[0])][0].shape == (cfg.vocab_size, cfg.d_model):
            embeds.append(base(node.input[0]))
    linears = [f"blocks.{i}.{m}.weight" for i in range(cfg.n_layers) for m in LINEARS]
    if len(matmuls) == len(linears) + 1:
        linears.append("embed.weight")  # the tied LM head, exported as its own transposed copy
    norm_names = [f"blocks.{i}.{n}" for i in range(cfg.n_layers) for n in NORMS] + ["ln_f"]
    if len(matmuls) != len(linears) or len(norms) != len(norm_names) or len(embeds) != 1:
        raise RecoveryError(f"the ONNX graph has {len(matmuls)} weight MatMuls, {len(norms)} LayerNorms and "
                            f"{len(embeds)} embedding lookups; a DecoderLM with {cfg.n_layers} layers has "
                            f"{5 * cfg.n_layers}(+1), {len(norm_names)} and 1: this is not a Quill decoder export")
    mapping = {param: [{"initializer": name, "transposed": True}] for name, param in zip(matmuls, linears)}
    for (w, b), prefix in zip(norms, norm_names):
        mapping[f"{prefix}.weight"] = [{"initializer": w, "transposed": False}]
        mapping[f"{prefix}.bias"] = [{"initializer": b, "transposed": False}]
    mapping.setdefault("embed.weight", []).insert(0, {"initializer": embeds[0], "transposed": False})
    return mapping


def _combine(estimates: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """One value from several copies: an exact (fp32) copy, else their mean (the tied embedding has a uint8
    and an int8 copy; their mean is measurably closer to the original than either)."""
    for value, step in estimates:
        if not np.any(step):
            return value
    return np.mean([v for v, _ in estimates], axis=0).astype(np.float32)


def assemble(model: DecoderLM, weights: dict, mapping: dict[str, list[dict]]) -> dict:
    """A state dict for model from the mapped initializers; RecoveryError names what is missing or misshaped."""
    import torch
    state = {}
    for param, tensor in model.state_dict().items():
        estimates = []
        for copy in mapping.get(param, []):
            if copy["initializer"] not in weights:
                raise RecoveryError(f"the weight map names {copy['initializer']} for {param}, which model.onnx "
                                    "does not have")
            value, step = weights[copy["initializer"]]
            if copy["transposed"]:
                value, step = value.T, (step.T if step.ndim == 2 else step)
            if tuple(value.shape) != tuple(tensor.shape):
                raise RecoveryError(f"{copy['initializer']} has shape {value.shape} but {param} needs "
                                    f"{tuple(tensor.shape)}")
            estimates.append((value, step))
        if not estimates:
            raise RecoveryError(f"no ONNX initializer for {param}")
        state[param] = torch.from_numpy(np.array(_combine(estimates), dtype=np.float32))
    return state


def reference_cases(bundle_dir: Path, manifest: dict) -> dict[str, np.ndarray]:
    """The bundle's reference.npz (inputs and the exporting PyTorch model's logits), sha256-checked."""
    path = Path(bundle_dir) / REFERENCE_FILE
    expected = manifest.get("files", {}).get(REFERENCE_FILE, {}).get("sha256")
    if not path.exists() or (expected and sha256_file(path) != expected):
        raise RecoveryError(f"{path} is missing or does not match the manifest: cannot verify recovered weights")
    with np.load(path) as ref:
        return dict(ref)


def logits_gap(model: DecoderLM, onnx_bytes: bytes, cases: dict[str, np.ndarray]) -> dict[str, float]:
    """Max abs logit differences of the recovered model vs the reference logits and vs onnxruntime."""
    import onnxruntime as ort
    import torch

    from .onnx_export import DecoderStep, decoder_feed
    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    gaps = {"vs_reference": 0.0, "vs_onnx": 0.0, "reference_vs_onnx": 0.0, "logit_scale": 0.0}
    for name in sorted({k.split(".")[0] for k in cases}):
        past = [cases[f"{name}.past.{i}"].astype(np.float32) for i in range(2 * model.cfg.n_layers)]
        ids = cases[f"{name}.input_ids"].astype(np.int64)
        count = int(cases.get(f"{name}.num_logits", 1))  # older bundles: last position only, (B, V)
        onnx_logits = session.run(["logits"], decoder_feed(names, ids, past, count))[0]
        with torch.no_grad():
            ours = DecoderStep(model.eval())(torch.from_numpy(ids), *map(torch.from_numpy, past),
                                             torch.tensor(count))[0].numpy()
        if f"{name}.num_logits" not in cases:
            ours = ours[:, -1]
        onnx_logits = onnx_logits.reshape(ours.shape)
        ref = cases[f"{name}.logits"]
        for key, a, b in (("vs_reference", ours, ref), ("vs_onnx", ours, onnx_logits),
                          ("reference_vs_onnx", ref, onnx_logits)):
            gaps[key] = max(gaps[key], float(np.abs(a - b).max()))
        gaps["logit_scale"] = max(gaps["logit_scale"], float(np.abs(ref).max()))
    return gaps


def check_recovered(gaps: dict[str, float], int8: bool) -> None:
    """Refuse a recovered model whose logits are further from the reference or from onnxruntime than
    quantization explains: 1.5x the bundle's own int8-vs-PyTorch gap, or 1e-3 of the logit range."""
    tolerance = TOLERANCE_FACTOR * max(gaps["reference_vs_onnx"], 1e-3 * gaps["logit_scale"])
    worst = max(gaps["vs_reference"], gaps["vs_onnx"])
    if worst > tolerance:
        raise RecoveryError(f"recovered weights do not reproduce the bundle: logits differ by {worst:.3g} "
                            f"(tolerance {tolerance:.3g}, {'int8' if int8 else 'fp32'} export gap "
                            f"{gaps['reference_vs_onnx']:.3g}); the weight map is wrong for this export, so "
                            "fine-tune from a PyTorch checkpoint (`--init runs/lm/final`) instead")


def recover_model(bundle_dir: Path | str, log=print) -> DecoderLM:
    """A DecoderLM with a verified bundle's weights; RecoveryError when they cannot be mapped or checked."""
    import onnx

    from lsp_server.runtime.bundles import load_bundle
    bundle = load_bundle(bundle_dir)  # sha256 of model.onnx and tokenizer.json first
    cfg = ModelConfig.from_json(bundle.model_config)
    if cfg.arch != "decoder_lm":
        raise RecoveryError(f"{bundle_dir} holds a {cfg.arch} model; only decoder_lm bundles can be fine-tuned")
    proto = onnx.load_from_string(bundle.onnx_bytes)
    weights = dequantized_weights(proto)
    mapping = bundle.manifest.get("weight_map") or structural_map(proto, cfg, weights)
    model = DecoderLM(cfg)
    model.load_state_dict(assemble(model, weights, mapping))
    gaps = logits_gap(model, bundle.onnx_bytes, reference_cases(bundle.path, bundle.manifest))
    check_recovered(gaps, bundle.manifest.get("onnx", {}).get("precision") == "int8")
    source = "the manifest's weight map" if bundle.manifest.get("weight_map") else "the graph structure"
    log(f"recovered {model.num_params():,} parameters from {bundle_dir} via {source}; logits within "
        f"{max(gaps['vs_reference'], gaps['vs_onnx']):.3g} of the reference and of onnxruntime")
    return model.train()
