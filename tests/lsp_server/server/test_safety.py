"""Nothing unsafe is loaded: no pickle anywhere, bundles verified before onnxruntime sees them, TCP on loopback.

The end-to-end half (the running server never imports torch and opens no network connection over stdio)
is in tests/e2e/test_bundles_e2e.py.
"""
from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from bundle_fixtures import (
    BROKEN,
    copy_bundle,
    edit_manifest,
    external_data_model,
    resign,
)

import lsp_server.runtime.engine as engine_module
from lsp_server.errors import BundleCorrupt, QuillError
from lsp_server.runtime.bundles import load_bundle
from lsp_server.runtime.engine import Engine
from lsp_server.runtime.onnx_refs import MalformedModel, external_data_locations
from lsp_server.server.language_server import QuillServer

ROOT = Path(__file__).resolve().parents[3]  # tests/lsp_server/server/ -> the repository root
SKIP_DIRS = {".venv", "runs", "node_modules", ".git", "build", "dist", ".hypothesis", ".pytest_cache"}
# Built from pieces so that this file does not match itself.
PICKLE_IMPORT = re.compile(r"^\s*(import|from)\s+(c?" + "pickle|dill|shelve|joblib)\\b", re.M)
TORCH_LOAD, TORCH_SAVE = "torch." + "load(", "torch." + "save("
NUMPY_LOAD = re.compile(r"\b(np|numpy)\.load\(")


def _python_sources() -> list[Path]:
    return [p for p in ROOT.rglob("*.py") if not SKIP_DIRS.intersection(p.relative_to(ROOT).parts)]


def _call_text(source: str, start: int) -> str:
    """The argument text of the call whose '(' is at or after start (balanced parentheses)."""
    depth, i = 0, source.index("(", start)
    for j in range(i, len(source)):
        depth += {"(": 1, ")": -1}.get(source[j], 0)
        if depth == 0:
            return source[i:j + 1]
    return source[i:]


def _unsafe_calls(text: str) -> list[str]:
    """Pickle imports, torch.save, torch.load without weights_only=True, numpy loads that allow pickle."""
    found = [f"imports {m.group(2)}" for m in PICKLE_IMPORT.finditer(text)]
    found += ["torch save" for _ in re.finditer(re.escape(TORCH_SAVE), text)]
    found += ["torch load without weights_only" for m in re.finditer(re.escape(TORCH_LOAD), text)
              if "weights_only=True" not in _call_text(text, m.start())]
    found += ["numpy load allowing pickle" for m in NUMPY_LOAD.finditer(text)
              if re.search(r"allow_pickle\s*=\s*True", _call_text(text, m.start()))]
    return found


def test_the_unsafe_call_scan_finds_what_it_looks_for():
    sample = ("import " + "pickle\nfrom dill import loads\nx = torch." + "load(path)\n"
              "y = torch." + "load(p, weights_only=True)\nz = np." + "load(f, allow_pickle=True)\n"
              "w = np." + "load(f)\ntorch." + "save(m, p)\n")
    assert sorted(_unsafe_calls(sample)) == ["imports dill", "imports pickle", "numpy load allowing pickle",
                                             "torch load without weights_only", "torch save"]


def test_no_pickle_anywhere_in_the_project():
    sources = _python_sources()
    assert len(sources) > 50  # the scan does see the project
    problems = [f"{path.relative_to(ROOT)}: {problem}" for path in sources
                for problem in _unsafe_calls(path.read_text(encoding="utf-8"))]
    assert not problems, problems


def test_checkpoints_and_optimizer_state_are_safetensors():
    for module in ("model/transformer.py", "model/train.py"):
        text = (ROOT / module).read_text(encoding="utf-8")
        assert "safetensors" in text and "save_file(" in text and "load_file(" in text, module


@pytest.fixture
def sessions(monkeypatch) -> list:
    """Every model handed to onnxruntime.InferenceSession (which then still runs for real)."""
    seen, real = [], engine_module.ort.InferenceSession

    def recording(model, *args, **kwargs):
        seen.append(model)
        return real(model, *args, **kwargs)

    monkeypatch.setattr(engine_module.ort, "InferenceSession", recording)
    return seen


@pytest.mark.parametrize("case", [case for case in BROKEN if case != "truncated, manifest re-signed"])
def test_a_broken_or_tampered_bundle_never_reaches_onnxruntime(case, tmp_path, sessions):
    build, words = BROKEN[case]
    with pytest.raises(QuillError) as raised:
        Engine.load(build(tmp_path))
    assert sessions == []
    assert all(word in str(raised.value) for word in words), str(raised.value)


@pytest.mark.parametrize("change, named", [
    (lambda m: m["model_config"].pop("n_layers"), "model_config.n_layers"),
    (lambda m: m["tokenizer"]["special_tokens"].pop("<eos>"), "special_tokens"),
    (lambda m: m["files"].update({"model.onnx": "not an object"}), "model.onnx"),
])
def test_a_manifest_missing_what_the_engine_reads_is_a_typed_error(change, named, tmp_path, sessions):
    folder = copy_bundle(tmp_path / "bundle")
    edit_manifest(folder, change)
    with pytest.raises(BundleCorrupt, match="re-export") as raised:
        Engine.load(folder)
    assert named in str(raised.value) and sessions == []


def test_external_data_in_the_working_directory_is_refused_too(tmp_path, monkeypatch, sessions):
    # From bytes, onnxruntime resolves "weights.bin" against the working directory (a cloned repository).
    folder = copy_bundle(tmp_path / "bundle")
    external_data_model(folder / "model.onnx", "weights.bin", tmp_path / "weights.bin")
    resign(folder, "model.onnx")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BundleCorrupt, match="weights.bin"):
        Engine.load(folder)
    assert sessions == []


def test_the_shipped_bundle_reaches_onnxruntime_as_its_verified_bytes(sessions):
    engine = Engine.load(threads=1)
    assert sessions == [engine.bundle.onnx_bytes] and isinstance(sessions[0], bytes)


def test_external_data_scan_agrees_with_the_onnx_package(tmp_path):
    from onnx import load_model
    from onnx.external_data_helper import _get_all_tensors, uses_external_data
    path = tmp_path / "m.onnx"
    external_data_model(path, "../elsewhere/w.bin", tmp_path / "elsewhere" / "w.bin")
    expected = [t.external_data[0].value for t in _get_all_tensors(load_model(str(path), load_external_data=False))
                if uses_external_data(t)]
    assert external_data_locations(path.read_bytes()) == expected == ["../elsewhere/w.bin"]
    assert external_data_locations(load_bundle().onnx_bytes) == []


def test_external_data_scan_rejects_malformed_bytes_with_its_own_error():
    data = load_bundle().onnx_bytes
    rng = np.random.default_rng(0)
    for cut in sorted(rng.integers(1, len(data), 40)):
        try:
            external_data_locations(data[:cut])
        except MalformedModel:
            pass  # the only way it may fail: the bundle loader turns it into BundleCorrupt
    with pytest.raises(MalformedModel):
        external_data_locations(b"\x3a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff")


def test_workspace_settings_cannot_choose_the_bundle():
    server = QuillServer()
    server.apply_settings({"model": {"bundle_path": "/opt/mine"}}, user_level=True)
    server.apply_settings({"model": {"bundle_path": "/tmp/cloned-repo/evil"}}, user_level=False)
    assert str(server.model_choice()[0]) == "/opt/mine"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _listening_on(port: int, timeout: float = 20.0) -> set[str]:
    """Hex local addresses of the LISTEN sockets on port (from /proc/net/tcp and tcp6)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            for row in Path(table).read_text().splitlines()[1:]:
                local, state = row.split()[1], row.split()[3]
                if state == "0A" and int(local.split(":")[1], 16) == port:
                    found.add(local.split(":")[0])
        if found:
            return found
        time.sleep(0.1)
    return set()


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc/net/tcp")
@pytest.mark.parametrize("host_args, address", [([], "0100007F"), (["--host", "0.0.0.0"], "00000000")])
def test_tcp_listens_on_loopback_unless_a_host_is_given(host_args, address):
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "lsp_server", "serve", "--tcp", "--port", str(port),
                               *host_args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _listening_on(port) == {address}
    finally:
        server.kill()
        server.wait(timeout=10)
