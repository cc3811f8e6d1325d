"""Tests of weight recovery from bundles (export/recover.py): the shipped int8 bundle, fresh exports, refusals."""
import json
import shutil

import numpy as np
import onnx
import pytest
import torch

from export.bundle import build_bundle
from export.recover import (
    RecoveryError,
    dequantized_weights,
    logits_gap,
    recover_model,
    reference_cases,
    structural_map,
)
from lsp_server.runtime.bundles import default_bundle_path, load_bundle
from model.tokenizer import train_tokenizer
from model.transformer import DecoderLM, ModelConfig, save_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")

QUIET = {"log": lambda *_: None}


@pytest.fixture(scope="module")
def tiny_model(stdlib_texts, tmp_path_factory):
    """A tiny model with a tokenizer, saved as a checkpoint: (model, checkpoint folder, tokenizer path)."""
    root = tmp_path_factory.mktemp("recover")
    tok_path = root / "tokenizer.json"
    train_tokenizer(stdlib_texts[:20], vocab_size=400).save(str(tok_path))
    torch.manual_seed(3)
    model = DecoderLM(ModelConfig(vocab_size=400, d_model=32, n_layers=2, n_heads=2, d_ff=64, max_seq_len=64))
    save_model(model, model.cfg, root / "ckpt")
    return model, root / "ckpt", tok_path


@pytest.fixture(scope="module", params=[True, False], ids=["int8", "fp32"])
def tiny_bundle(request, tiny_model, tmp_path_factory):
    model, ckpt, tok_path = tiny_model
    out = tmp_path_factory.mktemp("bundle")
    build_bundle(ckpt, tok_path, out, int8=request.param, **QUIET)
    return out


@pytest.mark.parametrize("with_map", [True, False], ids=["weight_map", "graph"])
def test_recovering_the_shipped_bundle_gives_logits_that_match_onnxruntime(with_map, tmp_path):
    folder = default_bundle_path()
    if not with_map:  # bundles from before the manifest's weight_map: the graph structure is read
        folder = tmp_path / "bundle"
        shutil.copytree(default_bundle_path(), folder)
        manifest = json.loads((folder / "manifest.json").read_text())
        del manifest["weight_map"]
        (folder / "manifest.json").write_text(json.dumps(manifest))
    bundle = load_bundle(folder)
    assert ("weight_map" in bundle.manifest) == with_map
    model = recover_model(folder, **QUIET)
    gaps = logits_gap(model, bundle.onnx_bytes, reference_cases(bundle.path, bundle.manifest))
    # int8 weights and activations: the shipped ONNX is itself ~0.3 away from its PyTorch model (logits ~14).
    assert gaps["vs_onnx"] < 0.35
    assert gaps["vs_reference"] < 0.35
    # The recovered model is as close to onnxruntime as the exporting one was (the shipped bundle was itself
    # re-exported from recovered weights by export.upgrade, so the two are the same weights up to rounding).
    assert gaps["vs_onnx"] < 1.05 * gaps["reference_vs_onnx"]


def test_a_new_bundle_records_a_weight_map_that_covers_every_parameter(tiny_bundle, tiny_model):
    manifest = json.loads((tiny_bundle / "manifest.json").read_text())
    assert set(manifest["weight_map"]) == set(tiny_model[0].state_dict())
    # The tied head is a second, transposed copy of the embedding in the legacy export.
    assert [c["transposed"] for c in manifest["weight_map"]["embed.weight"]] == [False, True]
    assert all(c["transposed"] for c in manifest["weight_map"]["blocks.1.mlp.up.weight"])


def test_structural_map_agrees_with_the_exported_weight_map(tiny_bundle):
    manifest = json.loads((tiny_bundle / "manifest.json").read_text())
    proto = onnx.load(str(tiny_bundle / "model.onnx"))
    cfg = ModelConfig.from_json(manifest["model_config"])
    assert structural_map(proto, cfg, dequantized_weights(proto)) == manifest["weight_map"]


def test_recovery_from_a_bundle_reproduces_the_model(tiny_bundle, tiny_model):
    model = recover_model(tiny_bundle, **QUIET)
    precision = json.loads((tiny_bundle / "manifest.json").read_text())["onnx"]["precision"]
    for name, want in tiny_model[0].state_dict().items():
        got = model.state_dict()[name]
        if precision == "fp32":
            torch.testing.assert_close(got, want, rtol=0, atol=0)
        else:  # per-tensor int8: within half a quantization step of the tensor's range
            assert (got - want).abs().max() <= want.abs().max() / 127 + 1e-6, name


def test_a_bundle_without_map_is_recovered_from_the_graph(tiny_bundle, tmp_path):
    copy = shutil.copytree(tiny_bundle, tmp_path / "nomap")
    manifest = json.loads((copy / "manifest.json").read_text())
    del manifest["weight_map"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    assert isinstance(recover_model(copy, **QUIET), DecoderLM)


def test_a_wrong_weight_map_is_refused_by_the_logit_check(tiny_bundle, tmp_path):
    copy = shutil.copytree(tiny_bundle, tmp_path / "swapped")
    manifest = json.loads((copy / "manifest.json").read_text())
    names = manifest["weight_map"]
    q, out = "blocks.0.attn.q_proj.weight", "blocks.0.attn.out_proj.weight"
    names[q], names[out] = names[out], names[q]  # same shape (d, d): assembly succeeds, only the logits can tell
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(RecoveryError, match="do not reproduce the bundle"):
        recover_model(copy, **QUIET)


def test_a_tampered_reference_file_is_refused(tiny_bundle, tmp_path):
    copy = shutil.copytree(tiny_bundle, tmp_path / "tampered")
    with np.load(copy / "reference.npz") as ref:
        cases = {k: (v + 1 if k.endswith(".logits") else v) for k, v in ref.items()}
    np.savez_compressed(copy / "reference.npz", **cases)
    with pytest.raises(RecoveryError, match="reference.npz"):
        recover_model(copy, **QUIET)
