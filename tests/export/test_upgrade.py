"""export.upgrade: a bundle of the older graph layout re-exported with num_logits, everything else kept."""
from __future__ import annotations

import json

import numpy as np
import pytest

from export.upgrade import upgrade_bundle
from lsp_server.bundle_format import DOC_DECODER_FILE, LOGITS_LAST_N, NUM_LOGITS
from lsp_server.runtime.bundles import load_bundle
from lsp_server.runtime.engine import Engine
from tests.bundle_fixtures import copy_bundle, last_position_layout


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory):
    root = tmp_path_factory.mktemp("upgrade")
    old = last_position_layout(copy_bundle(root / "old"))
    return old, upgrade_bundle(old, root / "new", log=lambda *_: None), root / "new"


def test_the_upgraded_graph_verifies_and_keeps_the_docstring_model_and_records(upgraded):
    old, manifest, new = upgraded
    before = json.loads((old / "manifest.json").read_text())
    assert manifest["onnx"]["logits"] == LOGITS_LAST_N and NUM_LOGITS in manifest["onnx"]["inputs"]
    assert manifest["docstring"] == before["docstring"]
    assert (new / DOC_DECODER_FILE).read_bytes() == (old / DOC_DECODER_FILE).read_bytes()
    assert {k: manifest[k] for k in ("name", "corpus", "training", "fim")} == \
        {k: before[k] for k in ("name", "corpus", "training", "fim")}
    assert (new / "corpus_hashes.txt").read_text() == (old / "corpus_hashes.txt").read_text()
    assert manifest["upgraded_from"]["model.onnx"] == before["files"]["model.onnx"]["sha256"]
    load_bundle(new)  # every sha256 matches


def test_the_upgraded_model_predicts_as_the_old_one_did(upgraded, engine):
    old, _, new = upgraded
    a, b = Engine.load(old, threads=1), Engine.load(new, threads=1)
    assert not a.verifies and b.verifies
    ids = a.encode("import os\n\n\ndef read_config(path):\n    with open(path) as f:\n        return")
    pa, pb = a.prefill(ids), b.prefill(ids)
    assert int(pa.logprobs.argmax()) == int(pb.logprobs.argmax())
    top = np.argsort(-pa.logprobs)[:20]  # re-quantized weights: a few int8 values move by one step
    np.testing.assert_allclose(pa.logprobs[top], pb.logprobs[top], atol=0.15)


def test_an_existing_folder_is_never_overwritten(upgraded):
    old, _, new = upgraded
    with pytest.raises(FileExistsError):
        upgrade_bundle(old, new, log=lambda *_: None)
