"""Bundles that must be refused at load, quickly and with one clear message (issue 12 §8, §13): a FIFO or an
oversized file where a bundle file should be, and a manifest whose model settings disagree with the graph."""
from __future__ import annotations

import os
import threading

import pytest
from bundle_fixtures import copy_bundle, edit_manifest

from lsp_server.errors import BundleCorrupt
from lsp_server.runtime.bundles import load_bundle
from lsp_server.runtime.docstring_model import DocstringModel
from lsp_server.runtime.engine import Engine


def load_within(seconds: float, load, *args):
    """load(*args) in a thread; its result or exception, or AssertionError when it is still running."""
    outcome: dict = {}

    def run():
        try:
            outcome["value"] = load(*args)
        except Exception as exc:  # handed back to the test
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"loading still blocked after {seconds} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
@pytest.mark.parametrize("name", ["tokenizer.json", "model.onnx", "manifest.json"])
def test_a_fifo_in_the_bundle_is_refused_at_once(tmp_path, name):
    folder = copy_bundle(tmp_path / "bundle")
    (folder / name).unlink()
    os.mkfifo(folder / name)  # nobody writes: reading it would block forever
    with pytest.raises(BundleCorrupt, match="not a regular file"):
        load_within(10, load_bundle, folder)


def test_a_file_larger_than_its_manifest_entry_is_not_read(tmp_path):
    folder = copy_bundle(tmp_path / "bundle")
    with open(folder / "tokenizer.json", "ab") as fh:
        fh.truncate(2 * 1024**3)  # 2 GB, sparse: reading it whole before hashing would take seconds and memory
    with pytest.raises(BundleCorrupt, match="sha256 mismatch .*not read"):
        load_within(10, load_bundle, folder)


@pytest.mark.parametrize("change, message", [
    ({"n_heads": 3}, "not a multiple of n_heads"),
    ({"n_heads": 8, "d_model": 512}, "says 8 heads of 64"),
    ({"d_model": 10**9}, "says 4 heads of 250000000"),
])
def test_a_manifest_that_disagrees_with_the_graph_is_refused_at_load(tmp_path, change, message):
    folder = copy_bundle(tmp_path / "bundle")
    edit_manifest(folder, lambda manifest: manifest["model_config"].update(change))
    with pytest.raises(BundleCorrupt, match=message):
        Engine.load(folder, threads=1)


def test_the_docstring_models_config_is_checked_against_its_graphs_too(tmp_path):
    folder = copy_bundle(tmp_path / "bundle")
    edit_manifest(folder, lambda manifest: manifest["docstring"]["model_config"].update({"n_heads": 2}))
    with pytest.raises(BundleCorrupt, match="says 2 heads of 128"):
        DocstringModel.load(folder, threads=1)
