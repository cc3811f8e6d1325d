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
DOC_GRAPHS = ("encoder", "decoder")  # manifest["docstring"]["files"] roles that the server runs


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


def read_verified(folder: Path, name: str, expected: dict) -> bytes:
    """A bundle file's bytes, checked against its manifest entry (sha256) and kept inside the folder."""
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
    problems += _bad_model_keys(config, "model_config")
    if not isinstance(special, dict) or not all(isinstance(special.get(t), int) for t in SPECIAL_TOKENS):
        problems.append(f"tokenizer.special_tokens with {', '.join(SPECIAL_TOKENS)}")
    if problems:
        raise BundleCorrupt(f"{manifest_path} lacks {'; '.join(problems)}; re-export the bundle with `quill export`")


def _positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _bad_model_keys(config, where: str) -> list[str]:
    """The MODEL_KEYS of a model_config section that are not positive integers."""
    return [f"{where}.{key}" for key in MODEL_KEYS if isinstance(config, dict) and not _positive_int(config.get(key))]


def _check_docstring_section(manifest: dict, manifest_path: Path) -> None:
    """The docstring section names its graphs, tokens and limits, and was made with the bundle's tokenizer."""
    section, files = manifest["docstring"], manifest["files"]
    if not isinstance(section, dict):
        raise BundleCorrupt(f"{manifest_path} has a 'docstring' entry that is not a section; re-export it "
                            "with `quill export-doc`")
    config, roles = section.get("model_config"), section.get("files")
    special = manifest["tokenizer"]["special_tokens"]
    problems = [] if isinstance(config, dict) else ["docstring.model_config"]
    problems += _bad_model_keys(config, "docstring.model_config")
    problems += [f"docstring.files.{role} listed in files" for role in DOC_GRAPHS
                 if not isinstance(roles, dict) or not isinstance(files.get(roles.get(role)), dict)]
    problems += [f"docstring.{key} (a special token)" for key in ("bos_token", "eos_token")
                 if not isinstance(special.get(section.get(key)), int)]
    problems += [] if _positive_int(section.get("max_source_tokens")) else ["docstring.max_source_tokens"]
    if problems:
        raise BundleCorrupt(f"{manifest_path} lacks {'; '.join(problems)}; re-export the docstring model with "
                            "`quill export-doc`")
    if section.get("tokenizer_sha256") != manifest["tokenizer"].get("sha256"):
        raise BundleCorrupt(f"the docstring model in {manifest_path} was exported with another tokenizer than "
                            "the bundle's; re-export it with `quill export-doc` into this bundle")


def _load_docstring(folder: Path, manifest: dict) -> DocstringFiles | None:
    """The verified docstring graphs when the manifest declares a docstring model."""
    if "docstring" not in manifest:
        return None
    _check_docstring_section(manifest, folder / "manifest.json")
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
    manifest = _read_manifest(folder)
    _check_manifest(manifest, folder / "manifest.json")
    files = manifest["files"]
    onnx_bytes = read_verified(folder, "model.onnx", files["model.onnx"])
    _check_self_contained(folder, onnx_bytes)
    tokenizer_bytes = read_verified(folder, "tokenizer.json", files["tokenizer.json"])
    try:
        tokenizer_json = tokenizer_bytes.decode("utf-8")
    except UnicodeDecodeError:
        raise BundleCorrupt(f"{folder / 'tokenizer.json'} is not UTF-8 text; re-export the bundle") from None
    return Bundle(folder, manifest, onnx_bytes, tokenizer_json, _load_docstring(folder, manifest))
