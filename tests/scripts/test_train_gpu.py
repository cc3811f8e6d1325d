"""scripts/train_gpu.sh: the GPU command line it builds, and the whole path (torchrun train + quill export) on CPU."""
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "train_gpu.sh"


def run_script(*args: str, cwd: Path, timeout: float = 90, **env: str) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": "1", **env}
    full_env.pop("RANK", None)
    return subprocess.run(["bash", str(SCRIPT), *args], cwd=cwd, env=full_env, capture_output=True, text=True,
                          timeout=timeout)


def test_the_gpu_command_trains_the_large_preset_with_bf16_for_8_minutes_then_exports(tmp_path):
    proc = run_script("corpus", "out", cwd=tmp_path, DRY_RUN="1", NPROC="4")
    assert proc.returncode == 0, proc.stderr
    train, export = (shlex.split(line) for line in proc.stdout.strip().splitlines())
    assert train[1:7] == ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=4", "-m", "quill"]
    options = dict(zip(train[8::2], train[9::2]))
    assert options["--preset"] == "large" and options["--max-minutes"] == "8"
    assert options["--block-size"] == "1024" and options["--batch-size"] == "64"
    assert options["--cross-file-rate"] == "0.5" and options["--tokenizer"] == "lsp_server/bundle/tokenizer.json"
    assert "--no-bf16" not in train and "--no-compile" not in train
    assert export[1:4] == ["-m", "quill", "export"]
    assert export[export.index("--checkpoint") + 1] == "out/final"
    assert export[export.index("--out") + 1] == "out/bundle"
    assert export[export.index("--docstring-from") + 1] == "lsp_server/bundle"  # the bundle stays whole


def test_the_script_needs_a_corpus_and_an_output_folder(tmp_path):
    proc = run_script("corpus", cwd=tmp_path)
    assert proc.returncode == 2 and "train_gpu.sh CORPUS OUT" in proc.stderr


@pytest.mark.slow
def test_the_script_trains_the_tiny_preset_under_torchrun_on_cpu_and_exports_a_bundle(json_corpus, tmp_path):
    corpus, tokenizer = json_corpus
    proc = run_script(str(corpus), "out", "tiny", cwd=tmp_path, NPROC="1", BF16="0", COMPILE="0", BATCH="2",
                      BLOCK="64", WARMUP="1", TOKENIZER=str(tokenizer), DOC_FROM="", EXTRA="--max-steps 2 --threads 1")
    assert proc.returncode == 0, f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    out = tmp_path / "out"
    assert (out / "final" / "config.json").is_file() and (out / "final" / "model.safetensors").is_file()
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["steps"] == 2 and summary["world_size"] == 1
    manifest = json.loads((out / "bundle" / "manifest.json").read_text())
    assert manifest["name"] == "quill-code-lm-tiny" and manifest["onnx"]["precision"] == "int8"
    assert manifest["training"]["steps"] == 2
