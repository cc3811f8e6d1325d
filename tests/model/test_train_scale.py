"""Training at scale: data parallel under torchrun, loss curves, and fine-tuning a bundle on your own code."""
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from export.bundle import build_bundle
from lsp_server.runtime.bundles import load_bundle
from model import train as train_module
from model.corpus import build_corpus, load_split
from model.tokenizer import train_tokenizer
from model.train import PRESETS, TrainConfig, batch_rng, emulated_bf16, train
from quill.cli import main as quill_main

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FAST = {"threads": 1, "bf16": False, "compile": False}


@pytest.fixture(scope="module")
def corpus(stdlib_dir, tmp_path_factory) -> tuple[Path, Path]:
    """A corpus of the standard library's json/ and email/ packages and a 600-token tokenizer trained on it."""
    root = tmp_path_factory.mktemp("scale")
    build_corpus([stdlib_dir / "json", stdlib_dir / "email"], root / "corpus")
    tok = train_tokenizer((r["text"] for r in load_split(root / "corpus", "train")), vocab_size=600)
    tok.save(str(root / "tokenizer.json"))
    return root / "corpus", root / "tokenizer.json"


def tiny_config(corpus, out: Path, **overrides) -> TrainConfig:
    return TrainConfig.from_preset("tiny", corpus=str(corpus[0]), tokenizer=str(corpus[1]), out=str(out),
                                   **{**FAST, **overrides})


def quiet(*_args) -> None:
    pass


def test_rank_zero_samples_what_a_single_process_samples_and_other_ranks_differ():
    cfg = TrainConfig.from_preset("tiny")
    single = np.random.default_rng(cfg.seed * 1_000_003 + 7).integers(0, 1000, 8)
    np.testing.assert_array_equal(batch_rng(cfg, 7, rank=0).integers(0, 1000, 8), single)
    assert not np.array_equal(batch_rng(cfg, 7, rank=1).integers(0, 1000, 8), single)
    assert not np.array_equal(batch_rng(cfg, 7, rank=1).integers(0, 1000, 8),
                              batch_rng(cfg, 7, rank=2).integers(0, 1000, 8))


def test_bf16_counts_as_emulated_on_a_cpu_without_native_bf16(tmp_path):
    import torch
    info = tmp_path / "cpuinfo"
    info.write_text("flags\t\t: fpu avx avx2 fma\n")
    assert emulated_bf16(torch.device("cpu"), info)
    info.write_text("flags\t\t: fpu avx2 avx512f avx512_bf16\n")
    assert not emulated_bf16(torch.device("cpu"), info)
    assert not emulated_bf16(torch.device("cpu"), tmp_path / "missing")


def test_a_tiny_run_writes_loss_curves_at_every_checkpoint(corpus, tmp_path, monkeypatch):
    plotted = []
    real = train_module.plot_loss_curves
    monkeypatch.setattr(train_module, "plot_loss_curves",
                        lambda history, path, **kw: plotted.append(len(history)) or real(history, path, **kw))
    summary = train(tiny_config(corpus, tmp_path / "lm", max_steps=6, eval_interval=2, checkpoint_interval=2),
                    log=quiet)
    assert summary["steps"] == 6 and summary["world_size"] == 1
    assert plotted == [1, 2, 3, 3]  # steps 2, 4, 6, then once more with the final evaluation
    png = (tmp_path / "lm" / "loss_curves.png").read_bytes()
    assert png.startswith(PNG_MAGIC) and len(png) > 5_000
    assert not list((tmp_path / "lm").glob("*.tmp"))
    history = summary["history"]
    assert [h["tokens"] for h in history] == [2 * 8 * 64, 4 * 8 * 64, 6 * 8 * 64]
    assert all(np.isfinite(h["train_loss"]) and np.isfinite(h["val_loss"]) for h in history)


def torchrun(*args: str, cwd: Path, timeout: float = 50) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    env.pop("RANK", None)
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--standalone",
               "-m", "quill", "train", *args]
    proc = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"torchrun failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.mark.slow
def test_torchrun_trains_one_model_on_two_cpu_processes_and_resumes(corpus, tmp_path):
    started = time.monotonic()
    common = ["--preset", "tiny", "--corpus", str(corpus[0]), "--tokenizer", str(corpus[1]), "--out", "lm",
              "--threads", "1", "--no-bf16", "--no-compile", "--eval-interval", "3"]
    proc = torchrun(*common, "--max-steps", "6", cwd=tmp_path)
    assert proc.stdout.count('"command"') == 1  # only rank 0 reports
    summary = json.loads((tmp_path / "lm" / "train_summary.json").read_text())
    per_rank = 6 * 8 * 64  # steps x batch x block of the tiny preset
    assert summary["world_size"] == 2
    assert summary["tokens_per_rank"] == per_rank
    assert summary["tokens"] == summary["tokens_all_ranks"] == 2 * per_rank  # both ranks did their share
    assert {p.name for p in (tmp_path / "lm").iterdir()} == {"ckpt", "final", "loss_curves.png",
                                                             "train_summary.json"}
    assert json.loads((tmp_path / "lm" / "ckpt" / "train_state.json").read_text())["state"]["step"] == 6

    torchrun(*common, "--max-steps", "9", "--resume", cwd=tmp_path)
    resumed = json.loads((tmp_path / "lm" / "train_summary.json").read_text())
    assert resumed["steps"] == 9 and resumed["tokens"] == 2 * 9 * 8 * 64
    assert [h["step"] for h in resumed["history"]] == [3, 6, 9]
    assert time.monotonic() - started < 60


def write_project(root: Path, stdlib_dir: Path) -> Path:
    """A user's repository: a few real modules."""
    for name in ("decoder.py", "encoder.py", "scanner.py", "tool.py"):
        (root / "mylib").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(stdlib_dir / "json" / name, root / "mylib" / name)
    return root


@pytest.mark.slow
def test_init_from_a_bundle_fine_tunes_on_a_source_folder_and_exports_a_new_bundle(corpus, stdlib_dir, tmp_path,
                                                                                    capsys):
    started = time.monotonic()
    train(tiny_config(corpus, tmp_path / "base", max_steps=4, eval_interval=4), log=quiet)
    build_bundle(tmp_path / "base" / "final", corpus[1], tmp_path / "bundle", log=quiet)
    project = write_project(tmp_path / "repo", stdlib_dir)
    assert quill_main(["train", "--init", str(tmp_path / "bundle"), "--source", str(project), "--preset", "tiny",
                       "--out", str(tmp_path / "mine"), "--max-steps", "4", "--eval-interval", "2", "--threads", "1",
                       "--no-bf16", "--no-compile"]) == 0
    out = capsys.readouterr().out
    assert "via the manifest's weight map" in out
    assert f"quill serve --bundle {(tmp_path / 'mine' / 'bundle').resolve()}" in out
    bundle = load_bundle(tmp_path / "mine" / "bundle")  # sha256-verified
    assert bundle.manifest["name"] == "quill-code-lm-finetuned"
    assert bundle.manifest["onnx"]["precision"] == "int8"
    assert set(bundle.manifest["weight_map"]) >= {"embed.weight", "ln_f.weight"}
    assert bundle.manifest["corpus"]["sources"] == [str(project.resolve()), str(stdlib_dir.resolve())]  # + sample
    summary = json.loads((tmp_path / "mine" / "train_summary.json").read_text())
    cfg = summary["train_config"]
    assert cfg["tokenizer"] == str(tmp_path / "bundle" / "tokenizer.json")
    assert cfg["corpus"] == str(tmp_path / "mine" / "corpus")
    assert cfg["lr"] == PRESETS["tiny"].get("lr", TrainConfig.lr) / 4  # fine-tuning takes smaller steps
    assert (tmp_path / "mine" / "loss_curves.png").read_bytes().startswith(PNG_MAGIC)
    assert time.monotonic() - started < 60
