"""benchmarks/model_shapes.py's core on the tiny preset: a real train step, a real int8 export, the server's Engine."""
import json

import pytest

from benchmarks import model_shapes

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_a_shape_is_measured_for_training_and_serving_on_the_tiny_preset(json_corpus, tmp_path):
    out = tmp_path / "shapes.json"
    corpus, tokenizer = json_corpus
    argv = ["--corpus", str(corpus), "--tokenizer", str(tokenizer), "--presets", "tiny", "--steps", "2",
            "--warmup", "1", "--block", "64", "--batch", "2", "--runs", "1", "--no-compile", "--out", str(out)]
    assert model_shapes.main(argv) == 0
    result = json.loads(out.read_text())
    (row,) = result["shapes"]
    assert row["preset"] == "tiny" and row["model"]["n_layers"] == 2 and row["params"] > 0
    assert row["train"]["tokens_per_s"] > 0 and row["train"]["last_loss"] > 0
    for threads in ("ort_threads_1", "ort_threads_default"):
        timing = row["serve"][threads]
        assert 0 < timing["per_token_ms"] < timing["total_ms"]
    assert row["serve"]["parity_int8_max_abs_diff"] is not None
    assert "| tiny | 2x64 |" in model_shapes.table(result["shapes"])


def test_the_larger_presets_have_64_wide_heads_and_grow():
    from model.train import PRESETS
    shapes = [PRESETS[p]["model"] for p in ("small", "medium", "large")]
    assert [s["d_model"] // s["n_heads"] for s in shapes] == [64, 64, 64]
    assert [s["n_layers"] * s["d_model"] ** 2 for s in shapes] == sorted(s["n_layers"] * s["d_model"] ** 2
                                                                           for s in shapes)
