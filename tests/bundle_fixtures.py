"""Broken copies of the shipped model bundle, for the safety and end-to-end bundle tests.

Each builder copies lsp_server/bundle into a folder under tmp_path (the shipped bundle is never changed)
and breaks it in one way; where the breakage would otherwise trip the sha256 check first, the manifest is
re-signed so that only the check under test can catch it.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Callable

import numpy as np

from lsp_server.bundle_format import NUM_LOGITS
from lsp_server.runtime.bundles import default_bundle_path


def copy_bundle(dst: Path) -> Path:
    """A copy of the shipped bundle at dst."""
    shutil.copytree(default_bundle_path(), dst)
    return dst


def edit_manifest(folder: Path, change: Callable[[dict], None]) -> None:
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    change(manifest)
    path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")


def resign(folder: Path, name: str) -> None:
    """Make the manifest's sha256 (and size) of name match the file as it is now."""
    data = (folder / name).read_bytes()

    def update(manifest: dict) -> None:
        manifest["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    edit_manifest(folder, update)


def external_data_model(path: Path, location: str, data_file: Path) -> None:
    """A tiny ONNX model (built with the onnx package) whose one weight is external data at `location`.

    The weight bytes are written to data_file, which is where `location` points from path's folder.
    """
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.full((4, 4), 3.0, dtype=np.float32), "W")
    graph = helper.make_graph([helper.make_node("MatMul", ["input_ids", "W"], ["logits"])], "tiny",
                              [helper.make_tensor_value_info("input_ids", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 4])], [weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    # onnx refuses to write a location with "..", so write it plainly, then point the reference elsewhere.
    onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="weights.bin", size_threshold=0)
    data_file.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(path.parent / "weights.bin", data_file)
    model = onnx.load_model(str(path), load_external_data=False)
    for entry in model.graph.initializer[0].external_data:
        if entry.key == "location":
            entry.value = location
    onnx.save_model(model, str(path))


def missing(tmp: Path) -> Path:
    return tmp / "no-such-bundle"


def truncated(tmp: Path, name: str = "truncated") -> Path:
    folder = copy_bundle(tmp / name)
    data = (folder / "model.onnx").read_bytes()
    (folder / "model.onnx").write_bytes(data[:len(data) // 2])
    return folder


def truncated_resigned(tmp: Path) -> Path:
    """Truncated, with a manifest that matches: only parsing the model can tell."""
    folder = truncated(tmp, "truncated-resigned")
    resign(folder, "model.onnx")
    return folder


def wrong_version(tmp: Path) -> Path:
    folder = copy_bundle(tmp / "wrong-version")
    edit_manifest(folder, lambda manifest: manifest.update(format_version=99))
    return folder


def sha_mismatch(tmp: Path) -> Path:
    folder = copy_bundle(tmp / "tampered")
    data = bytearray((folder / "model.onnx").read_bytes())
    data[-1] ^= 0xFF  # same size, one bit pattern changed
    (folder / "model.onnx").write_bytes(bytes(data))
    return folder


def external_data(tmp: Path) -> Path:
    folder = copy_bundle(tmp / "external")
    external_data_model(folder / "model.onnx", "../outside.bin", tmp / "outside.bin")
    resign(folder, "model.onnx")
    return folder


def tokenizer_missing(tmp: Path) -> Path:
    folder = copy_bundle(tmp / "no-tokenizer")
    (folder / "tokenizer.json").unlink()
    return folder


# name -> (builder, words the one message must contain: the problem, then the fix)
BROKEN: dict[str, tuple[Callable[[Path], Path], tuple[str, ...]]] = {
    "missing": (missing, ("does not exist", "quill export")),
    "truncated": (truncated, ("sha256 mismatch", "re-export")),
    "truncated, manifest re-signed": (truncated_resigned, ("model.onnx", "re-export")),
    "wrong format version": (wrong_version, ("format version 99", "re-export")),
    "sha256 mismatch": (sha_mismatch, ("sha256 mismatch", "re-export")),
    "external data outside the bundle": (external_data, ("../outside.bin", "re-export")),
    "tokenizer missing": (tokenizer_missing, ("missing tokenizer.json", "quill export")),
}


def last_position_layout(folder: Path) -> Path:
    """A bundle copy rewritten to the older layout (no num_logits input, (B, V) logits; its reference.npz
    too), re-signed: what bundles exported before prompt-lookup decoding look like."""
    import onnx
    from onnx import helper, numpy_helper
    proto = onnx.load(str(folder / "model.onnx"))
    graph = proto.graph
    graph.input.remove(next(i for i in graph.input if i.name == NUM_LOGITS))
    graph.initializer.append(numpy_helper.from_array(np.array(1, dtype=np.int64), NUM_LOGITS))
    graph.initializer.append(numpy_helper.from_array(np.array([1], dtype=np.int64), "squeeze_axes"))
    for node in graph.node:
        node.output[:] = ["logits_n" if o == "logits" else o for o in node.output]
    graph.node.append(helper.make_node("Squeeze", ["logits_n", "squeeze_axes"], ["logits"]))
    onnx.save(proto, str(folder / "model.onnx"))
    resign(folder, "model.onnx")
    with np.load(folder / "reference.npz") as ref:  # older references: last-position logits, no counts
        cases = {k: (v[:, -1] if k.endswith(".logits") else v) for k, v in ref.items() if not k.endswith(".num_logits")}
    np.savez_compressed(folder / "reference.npz", **cases)
    resign(folder, "reference.npz")

    def old_manifest(manifest):
        manifest["onnx"]["inputs"].remove(NUM_LOGITS)
        manifest["onnx"]["logits"] = "last_position"
    edit_manifest(folder, old_manifest)
    return folder
