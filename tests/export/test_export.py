"""Tests of ONNX export and bundles: parity with PyTorch, greedy decoding parity, manifest verification."""
import json
import shutil

import numpy as np
import onnx
import pytest
import torch

from export.bundle import build_bundle
from export.onnx_export import (
    DecoderStep,
    decoder_feed,
    example_inputs,
    export_decoder,
    io_names,
    parity,
    reference_cases,
)
from lsp_server.bundle_format import FORMAT_VERSION, sha256_file
from lsp_server.errors import BundleCorrupt, ModelUnavailable
from lsp_server.runtime.engine import Engine
from model.tokenizer import SPECIAL_TOKENS, load_tokenizer, train_tokenizer
from model.transformer import DecoderLM, ModelConfig, save_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TOLERANCE = 1e-4
PROMPT = "import json\n\n\ndef load(path):\n    with open(path) as fh:\n        return"


@pytest.fixture(scope="module")
def tokenizer_path(stdlib_texts, tmp_path_factory):
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    train_tokenizer(stdlib_texts, vocab_size=600).save(str(path))
    return path


@pytest.fixture(scope="module")
def model(tokenizer_path):
    vocab = load_tokenizer(tokenizer_path).get_vocab_size()
    torch.manual_seed(0)
    cfg = ModelConfig(vocab_size=vocab, d_model=32, n_layers=2, n_heads=2, d_ff=64, max_seq_len=128)
    model = DecoderLM(cfg).eval()
    # At the usual init (std 0.02) the tied head makes an untrained model repeat its input token forever,
    # which would let a broken KV cache pass the greedy test; larger weights make each step differ.
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() >= 2:
                p.normal_(0.0, 0.3)
    return model


@pytest.fixture(scope="module")
def onnx_path(model, tmp_path_factory):
    return export_decoder(model, tmp_path_factory.mktemp("onnx") / "decoder.onnx", {"quill.test": "yes"})


@pytest.fixture(scope="module")
def cases(model):
    return reference_cases(model)


@pytest.fixture(scope="module")
def checkpoint(model, tmp_path_factory):
    ckpt = tmp_path_factory.mktemp("ckpt")
    save_model(model, model.cfg, ckpt)
    return ckpt


@pytest.fixture(scope="module")
def bundle(checkpoint, tokenizer_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle")
    manifest = build_bundle(checkpoint, tokenizer_path, out, corpus_dir=None, int8=False, log=lambda *_: None)
    return out, manifest


@pytest.fixture
def bundle_copy(bundle, tmp_path):
    """A private copy that a test may damage."""
    return shutil.copytree(bundle[0], tmp_path / "bundle")


def one_case(cases: dict, name: str) -> dict:
    return {k: v for k, v in cases.items() if k.split(".")[0] == name}


@pytest.mark.parametrize("name, batch, seq, past, count", [("prompt", 1, 12, 0, 1), ("step", 1, 1, 12, 1),
                                                           ("batch", 2, 4, 6, 3)])
def test_onnxruntime_logits_match_pytorch(onnx_path, cases, model, name, batch, seq, past, count):
    case = one_case(cases, name)
    assert case[f"{name}.input_ids"].shape == (batch, seq)
    assert case[f"{name}.past.0"].shape == (batch, model.cfg.n_heads, past, model.cfg.head_dim)
    assert case[f"{name}.logits"].shape == (batch, count, model.cfg.vocab_size)
    assert parity(onnx_path, case, model.cfg.n_layers) < TOLERANCE


def test_num_logits_gives_the_last_positions_of_a_full_forward_pass(onnx_path, model):
    """Verifying drafted tokens reads logits at several positions: they must equal the whole forward pass's."""
    import onnxruntime as ort
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    ids, past = example_inputs(model, 1, 7, 5, seed=3)
    names = [i.name for i in session.get_inputs()]
    with torch.no_grad():
        full, _ = model(ids, past=[(past[2 * i], past[2 * i + 1]) for i in range(model.cfg.n_layers)])
    for count in (1, 4, 7):
        got = session.run(["logits"], decoder_feed(names, ids.numpy(), [p.numpy() for p in past], count))[0]
        assert got.shape == (1, count, model.cfg.vocab_size)
        np.testing.assert_allclose(got[0], full[0, -count:].numpy(), atol=TOLERANCE, rtol=0)


def test_onnx_graph_has_the_documented_inputs_outputs_and_metadata(onnx_path, model):
    proto = onnx.load(str(onnx_path))
    inputs, outputs = io_names(model.cfg.n_layers)
    assert [i.name for i in proto.graph.input] == inputs
    assert [o.name for o in proto.graph.output] == outputs
    assert {p.key: p.value for p in proto.metadata_props} == {"quill.test": "yes"}


def test_onnx_cache_outputs_match_pytorch_cache(onnx_path, model, cases):
    import onnxruntime as ort
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    inputs, outputs = io_names(model.cfg.n_layers)
    case = one_case(cases, "batch")
    past = [case[f"batch.past.{i}"] for i in range(2 * model.cfg.n_layers)]
    got = session.run(outputs, decoder_feed(inputs, case["batch.input_ids"], past, 3))
    ids = torch.from_numpy(case["batch.input_ids"])
    with torch.no_grad():
        want = DecoderStep(model)(ids, *map(torch.from_numpy, past), torch.tensor(3))
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w.numpy(), atol=TOLERANCE, rtol=0)
    assert got[1].shape[2] == 6 + 4  # past + new positions


def test_parity_detects_a_different_model(onnx_path, cases, model):
    wrong = {k: (v + 1.0 if k.endswith(".logits") else v) for k, v in cases.items()}
    assert parity(onnx_path, wrong, model.cfg.n_layers) > 0.5


@torch.no_grad()
def torch_greedy(model: DecoderLM, prompt: list[int], max_new: int, eos: int, banned: list[int]) -> list[int]:
    """Reference greedy decoding in PyTorch with the KV cache, using the engine's rules."""
    logits, past = model(torch.tensor([prompt]), past=model.empty_past(1), last_only=True)
    out = []
    for _ in range(max_new):
        logits = logits[0].clone()
        logits[banned] = -float("inf")
        token = int(logits.argmax())
        if token == eos:
            break
        out.append(token)
        logits, past = model(torch.tensor([[token]]), past=past, last_only=True)
    return out


@pytest.mark.parametrize("text", [PROMPT, "x", "class Message:\n    def __init__(self):\n        self."])
def test_engine_greedy_decoding_matches_pytorch(bundle, model, text):
    engine = Engine.load(bundle[0], threads=1)
    prompt = engine.encode(text)
    gen = engine.generate(prompt, max_new_tokens=16)
    eos = engine.special["<eos>"]
    banned = [i for name, i in engine.special.items() if name != "<eos>"]
    want = torch_greedy(model, prompt, 16, eos, banned)
    assert gen.token_ids == want
    assert len(set(want)) > 1 or len(want) < 2  # a non-degenerate sequence
    assert gen.stop_reason == ("max_tokens" if len(want) == 16 else "eos")
    assert gen.text == engine.decode(want)
    assert len(gen.logprobs) == len(want) and all(lp <= 0 for lp in gen.logprobs)


@pytest.mark.parametrize("length, kept, new_tokens", [(124, 124, 4), (127, 127, 1), (128, 127, 1), (300, 127, 1)])
def test_engine_keeps_prompt_and_new_tokens_inside_max_seq_len(bundle, model, length, kept, new_tokens):
    engine = Engine.load(bundle[0], threads=1)
    assert engine.max_seq_len == 128
    prompt = [20 + (i * 7) % 500 for i in range(length)]
    gen = engine.generate(prompt, max_new_tokens=16)
    assert gen.prompt_tokens == kept  # the newest tokens are kept
    want = torch_greedy(model, prompt[-kept:], new_tokens, engine.eos_id,
                        [i for name, i in engine.special.items() if name != "<eos>"])
    assert gen.token_ids == want
    assert len(want) == new_tokens or gen.stop_reason == "eos"


def test_engine_special_tokens_come_from_the_manifest(bundle):
    engine = Engine.load(bundle[0], threads=1)
    assert engine.special == {t: i for i, t in enumerate(SPECIAL_TOKENS)}
    assert engine.encode("<eos>") != [engine.eos_id]  # source text never becomes the special token


def test_manifest_lists_sha256_and_size_of_every_file(bundle):
    out, manifest = bundle
    on_disk = json.loads((out / "manifest.json").read_text())
    assert on_disk == manifest
    assert set(manifest["files"]) == {"model.onnx", "tokenizer.json", "reference.npz"}
    for name, entry in manifest["files"].items():
        assert entry == {"sha256": sha256_file(out / name), "bytes": (out / name).stat().st_size}
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["tokenizer"]["sha256"] == manifest["files"]["tokenizer.json"]["sha256"]
    assert manifest["onnx"]["precision"] == "fp32"
    assert manifest["metrics"]["parity_fp32_max_abs_diff"] < TOLERANCE
    assert manifest["model_config"]["d_model"] == 32
    assert manifest["corpus"] == {}


def test_bundle_model_metadata_repeats_the_essentials(bundle, tokenizer_path, model):
    proto = onnx.load(str(bundle[0] / "model.onnx"))
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["quill.format_version"] == str(FORMAT_VERSION)
    assert meta["quill.tokenizer_sha256"] == sha256_file(tokenizer_path)
    assert json.loads(meta["quill.model_config"]) == model.cfg.to_json()


def test_bundle_reference_logits_check_the_shipped_model(bundle, model):
    with np.load(bundle[0] / "reference.npz") as ref:
        cases = dict(ref)
    assert {k.split(".")[0] for k in cases} == {"prompt", "step", "batch"}
    assert parity(bundle[0] / "model.onnx", cases, model.cfg.n_layers) < TOLERANCE


def test_load_rejects_a_model_modified_by_one_byte(bundle_copy):
    path = bundle_copy / "model.onnx"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(BundleCorrupt, match=r"sha256 mismatch for .*model\.onnx"):
        Engine.load(bundle_copy)


def test_load_rejects_a_modified_tokenizer(bundle_copy):
    path = bundle_copy / "tokenizer.json"
    path.write_text(path.read_text() + " ")
    with pytest.raises(BundleCorrupt, match=r"sha256 mismatch for .*tokenizer\.json"):
        Engine.load(bundle_copy)


def test_load_rejects_a_bundle_without_manifest(bundle_copy):
    (bundle_copy / "manifest.json").unlink()
    with pytest.raises(BundleCorrupt, match="no manifest.json"):
        Engine.load(bundle_copy)


def test_load_rejects_a_manifest_that_is_not_json(bundle_copy):
    (bundle_copy / "manifest.json").write_text("{not json")
    with pytest.raises(BundleCorrupt, match="not valid JSON"):
        Engine.load(bundle_copy)


@pytest.mark.parametrize("version", [FORMAT_VERSION + 1, None, "1"])
def test_load_rejects_a_wrong_format_version(bundle_copy, version):
    manifest = json.loads((bundle_copy / "manifest.json").read_text())
    manifest["format_version"] = version
    (bundle_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleCorrupt, match=f"format version {version!r}.*reads version {FORMAT_VERSION}"):
        Engine.load(bundle_copy)


def test_load_rejects_a_bundle_without_tokenizer(bundle_copy):
    (bundle_copy / "tokenizer.json").unlink()
    with pytest.raises(BundleCorrupt, match="missing tokenizer.json"):
        Engine.load(bundle_copy)


def test_load_rejects_a_manifest_that_does_not_list_the_tokenizer(bundle_copy):
    manifest = json.loads((bundle_copy / "manifest.json").read_text())
    del manifest["files"]["tokenizer.json"]
    (bundle_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleCorrupt, match="does not list model.onnx, tokenizer.json"):
        Engine.load(bundle_copy)


def test_load_of_a_missing_folder_says_the_model_is_unavailable(tmp_path):
    with pytest.raises(ModelUnavailable, match="does not exist"):
        Engine.load(tmp_path / "nowhere")


def test_build_bundle_rejects_a_tokenizer_of_another_size(checkpoint, stdlib_texts, tmp_path):
    other = tmp_path / "other.json"
    train_tokenizer(stdlib_texts[:5], vocab_size=400).save(str(other))
    with pytest.raises(ValueError, match="tokenizer has 400 tokens but the model expects 600"):
        build_bundle(checkpoint, other, tmp_path / "out", corpus_dir=None, int8=False, log=lambda *_: None)


def test_int8_bundle_loads_and_stays_close_to_pytorch(tokenizer_path, model, tmp_path):
    # A model at its usual init: int8 error is judged against the logits' range, as for a trained model.
    torch.manual_seed(1)
    save_model(DecoderLM(model.cfg), model.cfg, tmp_path / "ckpt")
    manifest = build_bundle(tmp_path / "ckpt", tokenizer_path, tmp_path / "int8", corpus_dir=None, int8=True,
                            log=lambda *_: None)
    assert manifest["onnx"]["precision"] == "int8"
    with np.load(tmp_path / "int8" / "reference.npz") as ref:
        scale = max(float(np.abs(ref[k]).max()) for k in ref.files if k.endswith(".logits"))
    assert 0 < manifest["metrics"]["parity_int8_max_abs_diff"] < 0.05 * scale
    meta = {p.key for p in onnx.load(str(tmp_path / "int8" / "model.onnx")).metadata_props}
    assert "quill.format_version" in meta
    engine = Engine.load(tmp_path / "int8", threads=1)
    assert engine.generate(engine.encode(PROMPT), max_new_tokens=4).stop_reason in {"eos", "max_tokens"}


def test_the_bundle_records_the_content_hashes_of_every_training_corpus(tmp_path, checkpoint, tokenizer_path):
    import json as _json

    from export.bundle import build_bundle
    from lsp_server.bundle_format import content_hash
    from lsp_server.runtime.bundles import load_bundle
    corpora = []
    for i, texts in enumerate([["a = 1\n", "b = 2\n"], ["c = 3\r\n"]]):
        c = tmp_path / f"corpus{i}"
        c.mkdir()
        (c / "train.jsonl").write_text("".join(_json.dumps({"path": f"f{j}.py", "text": t}) + "\n"
                                               for j, t in enumerate(texts)))
        corpora.append(c)
    earlier = tmp_path / "earlier_hashes.txt"
    earlier.write_text("00000000deadbeef\n")
    manifest = build_bundle(checkpoint, tokenizer_path, tmp_path / "out", corpus_dir=corpora[0], int8=False,
                            log=lambda *_: None, trained_on=(corpora[1], earlier))
    lines = (tmp_path / "out" / "corpus_hashes.txt").read_text().split()
    assert lines == sorted({content_hash("a = 1\n"), content_hash("b = 2\n"), content_hash("c = 3\n"),
                            "00000000deadbeef"})
    assert "corpus_hashes.txt" in manifest["files"]
    load_bundle(tmp_path / "out")  # the extra file is hashed like every other
