"""Tests of the decoder LM: KV-cache decoding, causality, last-position logits, safetensors round trip."""
import json

import pytest
import torch

from model.transformer import (
    DecoderLM,
    ModelConfig,
    causal_mask,
    load_model,
    save_model,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CFG = dict(vocab_size=97, d_model=32, n_layers=2, n_heads=2, d_ff=64, max_seq_len=64)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return DecoderLM(ModelConfig(**CFG)).eval()


@pytest.fixture(scope="module")
def ids():
    return torch.randint(0, CFG["vocab_size"], (2, 12), generator=torch.Generator().manual_seed(1))


@torch.no_grad()
def test_kv_cache_decoding_equals_full_recomputation(model, ids):
    full, _ = model(ids)
    # A 4-token prompt into an empty cache, then one token at a time, batch 2.
    logits, past = model(ids[:, :4], past=model.empty_past(batch=2))
    steps = [logits]
    for t in range(4, ids.shape[1]):
        logits, past = model(ids[:, t:t + 1], past=past)
        steps.append(logits)
    torch.testing.assert_close(torch.cat(steps, dim=1), full, atol=1e-5, rtol=0)
    assert past[0][0].shape == (2, CFG["n_heads"], ids.shape[1], CFG["d_model"] // CFG["n_heads"])


@torch.no_grad()
def test_kv_cache_from_no_past_equals_full_recomputation(model, ids):
    full, _ = model(ids)
    logits, past = model(ids[:, :1])  # no cache at all for the first token
    steps = [logits]
    for t in range(1, ids.shape[1]):
        logits, past = model(ids[:, t:t + 1], past=past)
        steps.append(logits)
    torch.testing.assert_close(torch.cat(steps, dim=1), full, atol=1e-5, rtol=0)


@torch.no_grad()
def test_multi_token_chunks_with_a_cache_equal_full_recomputation(model, ids):
    full, _ = model(ids)
    first, past = model(ids[:, :5])
    second, _ = model(ids[:, 5:], past=past)
    torch.testing.assert_close(torch.cat([first, second], dim=1), full, atol=1e-5, rtol=0)


@torch.no_grad()
def test_last_only_equals_last_row_of_full_logits(model, ids):
    full, present_full = model(ids)
    last, present_last = model(ids, last_only=True)
    assert last.shape == (2, CFG["vocab_size"])
    torch.testing.assert_close(last, full[:, -1], atol=1e-6, rtol=0)
    for (k1, v1), (k2, v2) in zip(present_full, present_last):
        assert torch.equal(k1, k2) and torch.equal(v1, v2)


@torch.no_grad()
def test_last_only_with_a_cache_equals_last_row(model, ids):
    _, past = model(ids[:, :6])
    full, _ = model(ids[:, 6:], past=past)
    last, _ = model(ids[:, 6:], past=past, last_only=True)
    torch.testing.assert_close(last, full[:, -1], atol=1e-6, rtol=0)


@torch.no_grad()
def test_changing_a_future_token_does_not_change_earlier_logits(model, ids):
    changed = ids.clone()
    changed[:, 7] = (changed[:, 7] + 1) % CFG["vocab_size"]
    before, _ = model(ids)
    after, _ = model(changed)
    torch.testing.assert_close(after[:, :7], before[:, :7], atol=1e-6, rtol=0)
    assert not torch.allclose(after[:, 7:], before[:, 7:], atol=1e-4)


@torch.no_grad()
def test_batch_rows_are_independent(model, ids):
    both, _ = model(ids)
    alone, _ = model(ids[1:])
    torch.testing.assert_close(both[1:], alone, atol=1e-5, rtol=0)


def test_causal_mask_lets_each_query_see_the_past_and_itself():
    mask = causal_mask(2, 3)
    assert mask.tolist() == [
        [True, True, True, False, False],
        [True, True, True, True, False],
        [True, True, True, True, True],
    ]


def test_output_shapes_and_tied_head(model, ids):
    logits, present = model(ids)
    assert logits.shape == (2, 12, CFG["vocab_size"])
    assert len(present) == CFG["n_layers"]
    # Tied head: the embedding is the only (vocab, d_model) matrix.
    shaped = [k for k, v in model.state_dict().items() if v.shape == (CFG["vocab_size"], CFG["d_model"])]
    assert shaped == ["embed.weight"]


@torch.no_grad()
def test_save_and_load_round_trip_gives_identical_outputs(model, ids, tmp_path):
    save_model(model, model.cfg, tmp_path / "ckpt")
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["config.json", "model.safetensors"]
    loaded = load_model(tmp_path / "ckpt")
    assert not loaded.training
    assert loaded.cfg == model.cfg
    assert torch.equal(loaded(ids)[0], model(ids)[0])


def test_load_model_rejects_weights_that_do_not_match_the_config(model, tmp_path):
    save_model(model, model.cfg, tmp_path / "ckpt")
    config = json.loads((tmp_path / "ckpt" / "config.json").read_text())
    config["d_ff"] = 128
    (tmp_path / "ckpt" / "config.json").write_text(json.dumps(config))
    with pytest.raises(RuntimeError, match="size mismatch"):
        load_model(tmp_path / "ckpt")


def test_model_config_json_round_trip():
    cfg = ModelConfig(**CFG)
    assert ModelConfig.from_json(json.loads(json.dumps(cfg.to_json()))) == cfg


def test_model_config_from_json_rejects_unknown_keys():
    with pytest.raises(ValueError, match=r"unknown ModelConfig fields: \['n_embd'\]"):
        ModelConfig.from_json({**CFG, "n_embd": 32})


def test_model_config_rejects_heads_that_do_not_divide_d_model():
    with pytest.raises(ValueError, match="heads"):
        DecoderLM(ModelConfig(**{**CFG, "n_heads": 3}))
    with pytest.raises(ValueError, match="even size"):
        DecoderLM(ModelConfig(**{**CFG, "d_model": 30, "n_heads": 2}))  # head_dim 15 cannot be rotated
