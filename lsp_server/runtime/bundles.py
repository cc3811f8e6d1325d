"""Locate and verify model bundles before onnxruntime sees a byte of them (the format: lsp_server.bundle_format)."""
from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..bundle_format import (
    DOC_GRAPHS,
    MANIFEST,
    MODEL_FILE,
    TOKENIZER_FILE,
    check_docstring_section,
    check_manifest,
    read_manifest,
    read_verified,
)
from ..errors import BundleCorrupt, ModelUnavailable
from .onnx_refs import MalformedModel, external_data_locations


@dataclass(frozen=True)
class DocstringFiles:
    """The optional docstring model of a bundle (manifest["docstring"]): its section and verified graphs."""
    section: dict
    encoder_bytes: bytes
    decoder_bytes: bytes

    @property
    def model_config(self) -> dict:
        return self.section["model_config"]


@dataclass(frozen=True)
class Bundle:
    """A verified bundle: its folder, manifest and the exact bytes that were hashed."""
    path: Path
    manifest: dict
    onnx_bytes: bytes
    tokenizer_json: str
    docstring: DocstringFiles | None = None  # None: the bundle has no docstring model

    @property
    def name(self) -> str:
        return self.manifest.get("name", self.path.name)

    @property
    def special_tokens(self) -> dict[str, int]:
        return self.manifest["tokenizer"]["special_tokens"]

    @property
    def model_config(self) -> dict:
        return self.manifest["model_config"]


def default_bundle_path() -> Path:
    """The bundle shipped as package data inside lsp_server/."""
    return Path(str(resources.files("lsp_server") / "bundle"))














def _load_docstring(folder: Path, manifest: dict) -> DocstringFiles | None:
    """The verified docstring graphs when the manifest declares a docstring model."""
    if "docstring" not in manifest:
        return None
    check_docstring_section(manifest, folder / MANIFEST)
    section = manifest["docstring"]
    graphs = []
    for role in DOC_GRAPHS:
        name = section["files"][role]
        data = read_verified(folder, name, manifest["files"][name])
        _check_self_contained(folder, data, name)
        graphs.append(data)
    return DocstringFiles(section, *graphs)


def _check_self_contained(folder: Path, onnx_bytes: bytes, name: str = "model.onnx") -> None:
    """Refuse external-data references: onnxruntime would read files that no sha256 covers."""
    path = folder / name
    try:
        locations = sorted(set(external_data_locations(onnx_bytes)))
    except MalformedModel as exc:
        raise BundleCorrupt(f"{path} is not a valid ONNX model ({exc}); re-export the bundle") from None
    if locations:
        raise BundleCorrupt(f"{path} refers to external data files ({', '.join(locations)}) that the manifest "
                            f"does not verify; a Quill bundle keeps every weight inside {name}: re-export it "
                            "with `quill export`")


def load_bundle(path: Path | str | None = None) -> Bundle:
    """Read manifest.json, check the format version and every file's sha256; raise a typed error."""
    folder = Path(path) if path is not None else default_bundle_path()
    if not folder.is_dir():
        raise ModelUnavailable(f"model bundle folder {folder} does not exist; run `quill export --out {folder}` "
                               "or point quill at a bundle with --bundle")
    manifest = read_manifest(folder)
    check_manifest(manifest, folder / MANIFEST)
    files = manifest["files"]
    onnx_bytes = read_verified(folder, MODEL_FILE, files[MODEL_FILE])
    _check_self_contained(folder, onnx_bytes)
    tokenizer_bytes = read_verified(folder, TOKENIZER_FILE, files[TOKENIZER_FILE])
    try:
        tokenizer_json = tokenizer_bytes.decode("utf-8")
    except UnicodeDecodeError:
        raise BundleCorrupt(f"{folder / 'tokenizer.json'} is not UTF-8 text; re-export the bundle") from None
    return Bundle(folder, manifest, onnx_bytes, tokenizer_json, _load_docstring(folder, manifest))
