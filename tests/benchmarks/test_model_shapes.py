"""benchmarks/model_shapes.py's core on the tiny preset: a real train step, a real int8 export, the server's Engine."""
import json
from pathlib import Path

import pytest

from benchmarks import model_shapes
from model.corpus import build_corpus, load_split
from model.tokenizer import train_tokenizer

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def corpus(stdlib_dir, tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("shapes")
    build_corpus([stdlib_dir / "json"], root / "corpus")
    tok = train_tokenizer((r["text"] for r in load_split(root / "corpus", "train")), vocab_size=600)
    tok.save(str(root / "tokenizer.json"))
    return root / "corpus", root / "tokenizer.json"


def test_a_shape_is_measured_for_training_and_serving_on_the_tiny_preset(corpus, tmp_path):
    out = tmp_path / "shapes.json"
    argv = ["--corpus", str(corpus[0]), "--tokenizer", str(corpus[1]), "--presets", "tiny", "--steps", "2",
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
