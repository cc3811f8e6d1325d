"""End-to-end: the real `quill` CLI from corpus to a served bundle, then a real LSP exchange over stdio.

corpus -> tokenizer -> train (tiny preset) -> export -> complete, and `quill serve` driven by pygls's
client. Every step is a subprocess, as a user runs it. Each command is limited to one CPU thread: these
tests must not fight a training run for the cores (oversubscribed torch threads run 50x slower).
"""
import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.lsp.client import LanguageClient

pytestmark = pytest.mark.slow

SOURCE = "import json\n\n\ndef load(path):\n    with open(path) as fh:\n        return \n"
CURSOR = types.Position(line=5, character=15)  # after "return "


def quill_command() -> list[str]:
    script = Path(sys.executable).with_name("quill")
    return [str(script)] if script.exists() else [sys.executable, "-m", "quill"]


def quill_env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}


def quill(*args: str, cwd: Path, timeout: float = 40) -> subprocess.CompletedProcess:
    proc = subprocess.run([*quill_command(), *args], cwd=cwd, env=quill_env(), capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f"quill {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def pipeline(stdlib_dir, tmp_path_factory) -> Path:
    """Run corpus -> tokenizer -> train -> export in a fresh folder; returns that folder."""
    work = tmp_path_factory.mktemp("pipeline")
    out = quill("corpus", "--no-stdlib", "--source", str(stdlib_dir / "json"), "--source", str(stdlib_dir / "email"),
                "--out", "corpus", cwd=work)
    assert "wrote corpus/" in out.stdout
    out = quill("tokenizer", "--corpus", "corpus", "--out", "tokenizer.json", "--vocab-size", "1024", cwd=work)
    assert "round trip on a sample: exact" in out.stdout
    out = quill("train", "--preset", "tiny", "--corpus", "corpus", "--tokenizer", "tokenizer.json", "--out", "lm",
                "--threads", "1", "--no-bf16", "--max-steps", "12", "--eval-interval", "6", cwd=work)
    lines = out.stdout.splitlines()
    assert json.loads("\n".join(lines[lines.index("{"):]))["steps"] == 12  # the summary is printed last
    quill("export", "--checkpoint", "lm/final", "--tokenizer", "tokenizer.json", "--corpus", "corpus",
          "--out", "bundle", cwd=work)
    (work / "example.py").write_text(SOURCE)
    return work


def test_corpus_step_writes_splits_and_summary(pipeline):
    summary = json.loads((pipeline / "corpus" / "summary.json").read_text())
    kept = sum(s["files"] for s in summary["splits"].values())
    assert kept > 20
    assert summary["seen"] == kept + sum(summary["dropped"].values())
    assert [Path(s).name for s in summary["sources"]] == ["json", "email"]  # --no-stdlib: only the sources


def test_train_step_writes_a_checkpoint_and_summary(pipeline):
    assert {p.name for p in (pipeline / "lm" / "final").iterdir()} == {"config.json", "model.safetensors"}
    summary = json.loads((pipeline / "lm" / "train_summary.json").read_text())
    assert summary["command"].startswith("quill train --preset tiny")
    assert summary["train_config"]["model"]["d_model"] == 64


def test_export_step_writes_a_verified_bundle(pipeline):
    manifest = json.loads((pipeline / "bundle" / "manifest.json").read_text())
    assert set(manifest["files"]) == {"model.onnx", "tokenizer.json", "reference.npz", "corpus_hashes.txt"}
    assert manifest["model_config"]["vocab_size"] == 1024
    assert manifest["onnx"]["precision"] == "int8"
    assert manifest["metrics"]["parity_fp32_max_abs_diff"] < 1e-4
    assert manifest["metrics"]["test_tokens"] > 0
    assert manifest["training"]["steps"] == 12
    assert manifest["corpus"]["splits"]["train"]["files"] > 20


def test_complete_prints_json_with_text_and_timing(pipeline):
    out = quill("complete", "example.py", str(CURSOR.line + 1), str(CURSOR.character + 1), "--bundle", "bundle",
                "--json", cwd=pipeline)
    result = json.loads(out.stdout)
    assert isinstance(result["text"], str)
    assert isinstance(result["ms"], (int, float)) and result["ms"] >= 0


def test_complete_with_a_corrupt_bundle_exits_with_the_reason(pipeline, tmp_path):
    bundle = shutil.copytree(pipeline / "bundle", tmp_path / "bundle")
    (bundle / "tokenizer.json").write_text("{}")
    proc = subprocess.run([*quill_command(), "complete", "example.py", "1", "1", "--bundle", str(bundle)],
                          cwd=pipeline, env=quill_env(), capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0
    assert "sha256 mismatch" in proc.stderr


@pytest.mark.e2e
async def test_serve_answers_an_inline_completion_over_stdio(pipeline):
    client = LanguageClient("quill-pipeline-test", "0")
    messages: list[types.ShowMessageParams] = []

    @client.feature(types.WINDOW_SHOW_MESSAGE)
    def on_message(params: types.ShowMessageParams):
        messages.append(params)

    cmd = quill_command()
    await client.start_io(cmd[0], *cmd[1:], "serve", "--bundle", str(pipeline / "bundle"), "--threads", "1",
                          env=quill_env(), cwd=str(pipeline))
    try:
        result = await asyncio.wait_for(client.initialize_async(types.InitializeParams(
            capabilities=types.ClientCapabilities(),
            root_uri=pipeline.as_uri(),
        )), timeout=20)
        assert result.capabilities.inline_completion_provider is not None
        client.initialized(types.InitializedParams())
        uri = (pipeline / "example.py").as_uri()
        client.text_document_did_open(types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=SOURCE)))
        response = await asyncio.wait_for(client.text_document_inline_completion_async(types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=CURSOR,
            context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
        )), timeout=20)
        assert isinstance(response, types.InlineCompletionList)
        for item in response.items:  # an untrained tiny model may well have nothing to say
            assert isinstance(item.insert_text, str) and item.insert_text.strip()
            assert item.range.start == CURSOR
        await asyncio.wait_for(client.shutdown_async(None), timeout=10)
        client.exit(None)
        await asyncio.wait_for(client.stop(), timeout=10)
    finally:
        if client._server is not None and client._server.returncode is None:
            client._server.kill()
    assert client._server.returncode == 0
    assert not [m for m in messages if m.type == types.MessageType.Error], messages


def test_export_carries_a_bundles_docstring_model_over_with_docstring_from(tmp_path):
    """A code LM trained elsewhere (the GPU script's) keeps the shipped docstring model: same tokenizer."""
    import torch

    from lsp_server.runtime.bundles import default_bundle_path, load_bundle
    from model.transformer import DecoderLM, ModelConfig, save_model
    shipped = default_bundle_path()
    torch.manual_seed(0)
    cfg = ModelConfig(vocab_size=8192, d_model=32, n_layers=1, n_heads=2, d_ff=64, max_seq_len=256)
    save_model(DecoderLM(cfg), cfg, tmp_path / "final")
    tokenizer = str(shipped / "tokenizer.json")
    quill("export", "--checkpoint", "final", "--tokenizer", tokenizer, "--out", "bundle", "--docstring-from",
          str(shipped), cwd=tmp_path, timeout=120)
    bundle = load_bundle(tmp_path / "bundle")  # verifies every file the manifest signs
    assert bundle.manifest["docstring"] == load_bundle(shipped).manifest["docstring"]
    assert (tmp_path / "bundle" / "doc_encoder.onnx").read_bytes() == (shipped / "doc_encoder.onnx").read_bytes()
    proc = subprocess.run([*quill_command(), "export", "--checkpoint", "final", "--tokenizer", tokenizer,
                           "--out", "b2", "--docstring-from", str(tmp_path / "final")], cwd=tmp_path,
                          env=quill_env(), capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "--docstring-from" in proc.stderr and "Traceback" not in proc.stderr
