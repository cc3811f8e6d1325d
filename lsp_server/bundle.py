"""Locate and verify model bundles (manifest + sha256) before onnxruntime sees a byte of them."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .errors import BundleCorrupt, ModelUnavailable
from .onnx_refs import MalformedModel, external_data_locations

FORMAT_VERSION = 1
REQUIRED_FILES = ("model.onnx", "tokenizer.json")
MODEL_KEYS = ("n_layers", "n_heads", "d_model", "max_seq_len")  # what the engine reads from model_config
SPECIAL_TOKENS = ("<fim_prefix>", "<fim_suffix>", "<fim_middle>", "<eos>")


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
    except OSError as exc:
        raise BundleCorrupt(f"cannot read {path} ({exc.strerror or exc}); fix its permissions or re-export") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected.get("sha256"):
        raise BundleCorrupt(f"sha256 mismatch for {path} (expected {expected.get('sha256')}, got {digest}); "
                            "the bundle is corrupt or was modified: re-export it or reinstall quill-lsp")
    return data


def _read_manifest(folder: Path) -> dict:
    manifest_path = folder / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleCorrupt(f"{folder} has no manifest.json; it is not a Quill bundle: "
                            "point quill at the folder `quill export` wrote") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BundleCorrupt(f"{manifest_path} is not valid JSON ({exc}); re-export the bundle") from None
    except OSError as exc:
        raise BundleCorrupt(f"cannot read {manifest_path} ({exc.strerror or exc}); fix its permissions") from None
    if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
        found = manifest.get("format_version") if isinstance(manifest, dict) else None
        raise BundleCorrupt(f"{manifest_path} has format version {found!r}; this quill reads version "
                            f"{FORMAT_VERSION}: re-export the bundle with this version of quill")
    return manifest


def _check_manifest(manifest: dict, manifest_path: Path) -> None:
    """Every section the engine reads is there with the right types (else BundleCorrupt saying which)."""
    files = manifest.get("files")
    if not isinstance(files, dict) or any(not isinstance(files.get(name), dict) for name in REQUIRED_FILES):
        raise BundleCorrupt(f"{manifest_path} does not list {', '.join(REQUIRED_FILES)} with their sha256; "
                            "re-export the bundle")
    config, tokenizer = manifest.get("model_config"), manifest.get("tokenizer")
    special = tokenizer.get("special_tokens") if isinstance(tokenizer, dict) else None
    problems = [] if isinstance(config, dict) else ["its 'model_config' section"]
    problems += [f"model_config.{key}" for key in MODEL_KEYS if isinstance(config, dict)
                 and not (isinstance(config.get(key), int) and not isinstance(config.get(key), bool)
                          and config[key] > 0)]
    if not isinstance(special, dict) or not all(isinstance(special.get(t), int) for t in SPECIAL_TOKENS):
        problems.append(f"tokenizer.special_tokens with {', '.join(SPECIAL_TOKENS)}")
    if problems:
        raise BundleCorrupt(f"{manifest_path} lacks {'; '.join(problems)}; re-export the bundle with `quill export`")


def _check_self_contained(folder: Path, onnx_bytes: bytes) -> None:
    """Refuse external-data references: onnxruntime would read files that no sha256 covers."""
    path = folder / "model.onnx"
    try:
        locations = sorted(set(external_data_locations(onnx_bytes)))
    except MalformedModel as exc:
        raise BundleCorrupt(f"{path} is not a valid ONNX model ({exc}); re-export the bundle") from None
    if locations:
        raise BundleCorrupt(f"{path} refers to external data files ({', '.join(locations)}) that the manifest "
                            "does not verify; a Quill bundle keeps every weight inside model.onnx: re-export it "
                            "with `quill export`")


def load_bundle(path: Path | str | None = None) -> Bundle:
    """Read manifest.json, check the format version and every file's sha256; raise a typed error."""
    folder = Path(path) if path is not None else default_bundle_path()
    if not folder.is_dir():
        raise ModelUnavailable(f"model bundle folder {folder} does not exist; run `quill export --out {folder}` "
                               "or point quill at a bundle with --bundle")
    manifest = _read_manifest(folder)
    _check_manifest(manifest, folder / "manifest.json")
    files = manifest["files"]
    onnx_bytes = _read_verified(folder, "model.onnx", files["model.onnx"])
    _check_self_contained(folder, onnx_bytes)
    tokenizer_bytes = _read_verified(folder, "tokenizer.json", files["tokenizer.json"])
    try:
        tokenizer_json = tokenizer_bytes.decode("utf-8")
    except UnicodeDecodeError:
        raise BundleCorrupt(f"{folder / 'tokenizer.json'} is not UTF-8 text; re-export the bundle") from None
    return Bundle(folder, manifest, onnx_bytes, tokenizer_json)
