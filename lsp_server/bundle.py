"""Locate and verify model bundles (manifest + sha256) before onnxruntime sees a byte of them."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .errors import BundleCorrupt, ModelUnavailable

FORMAT_VERSION = 1
REQUIRED_FILES = ("model.onnx", "tokenizer.json")


@dataclass(frozen=True)
class Bundle:
    """A verified bundle: its folder, manifest and the exact bytes that were hashed."""
    path: Path
    manifest: dict
    onnx_bytes: bytes
    tokenizer_json: str

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


def _read_verified(folder: Path, name: str, expected: dict) -> bytes:
    path = folder / name
    if path.resolve().parent != folder.resolve():
        raise BundleCorrupt(f"bundle file {name!r} points outside the bundle folder {folder}")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise BundleCorrupt(f"bundle {folder} is missing {name}; re-run `quill export` or reinstall") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected.get("sha256"):
        raise BundleCorrupt(f"sha256 mismatch for {path} (expected {expected.get('sha256')}, got {digest}); "
                            "the bundle is corrupt or was modified: re-export it or reinstall quill-lsp")
    return data


def load_bundle(path: Path | str | None = None) -> Bundle:
    """Read manifest.json, check the format version and every file's sha256; raise a typed error."""
    folder = Path(path) if path is not None else default_bundle_path()
    manifest_path = folder / "manifest.json"
    if not folder.is_dir():
        raise ModelUnavailable(f"model bundle folder {folder} does not exist; run `quill export --out {folder}` "
                               "or point quill at a bundle with --bundle")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleCorrupt(f"{folder} has no manifest.json; it is not a Quill bundle") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BundleCorrupt(f"{manifest_path} is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
        found = manifest.get("format_version") if isinstance(manifest, dict) else None
        raise BundleCorrupt(f"{manifest_path} has format version {found!r}; this quill reads version "
                            f"{FORMAT_VERSION}: re-export the bundle with this version of quill")
    files = manifest.get("files")
    if not isinstance(files, dict) or any(name not in files for name in REQUIRED_FILES):
        raise BundleCorrupt(f"{manifest_path} does not list {', '.join(REQUIRED_FILES)} with their sha256")
    for key in ("model_config", "tokenizer"):
        if not isinstance(manifest.get(key), dict):
            raise BundleCorrupt(f"{manifest_path} lacks its {key!r} section")
    onnx_bytes = _read_verified(folder, "model.onnx", files["model.onnx"])
    tokenizer_bytes = _read_verified(folder, "tokenizer.json", files["tokenizer.json"])
    try:
        tokenizer_json = tokenizer_bytes.decode("utf-8")
    except UnicodeDecodeError:
        raise BundleCorrupt(f"{folder / 'tokenizer.json'} is not UTF-8 text") from None
    return Bundle(folder, manifest, onnx_bytes, tokenizer_json)
