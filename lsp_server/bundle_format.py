"""The bundle format, in one place: version, file names, manifest schema, hashing and corpus hashes.

A bundle is a folder: manifest.json lists every file with its sha256 and describes the models. Export
writes through this module (quill export, quill export-doc, fine-tuning); the server, `quill eval` and
`quill train --init` read through it. A leaf: the standard library and lsp_server.errors only, so every
layer may import it.
"""
from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

from .errors import BundleCorrupt

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MODEL_FILE, TOKENIZER_FILE, REFERENCE_FILE = "model.onnx", "tokenizer.json", "reference.npz"
DOC_ENCODER_FILE, DOC_DECODER_FILE, DOC_REFERENCE_FILE = "doc_encoder.onnx", "doc_decoder.onnx", "doc_reference.npz"
CORPUS_HASHES = "corpus_hashes.txt"  # content_hash of every file the bundle's weights were trained on
REQUIRED_FILES = (MODEL_FILE, TOKENIZER_FILE)
MODEL_KEYS = ("n_layers", "n_heads", "d_model", "max_seq_len")  # what the engines read from a model_config
SPECIAL_TOKENS = ("<fim_prefix>", "<fim_suffix>", "<fim_middle>", "<eos>")
# The decoder graph's input saying how many last positions get logits: (B, num_logits, V), manifest
# onnx.logits "last_n", so one pass verifies several drafted tokens. Older bundles: "last_position", (B, V).
NUM_LOGITS, LOGITS_LAST_N, LOGITS_LAST_POSITION = "num_logits", "last_n", "last_position"
DOC_GRAPHS = ("encoder", "decoder")  # manifest["docstring"]["files"] roles that the server runs
MAX_MANIFEST_BYTES = 16 * 1024 * 1024  # the shipped one is 12 KB


# --- hashing -------------------------------------------------------------------------------------------

def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, streamed."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_entry(path: Path) -> dict:
    """manifest["files"][name] for a written file: its sha256 and size."""
    return {"sha256": sha256_file(path), "bytes": Path(path).stat().st_size}


def normalize_source(text: str) -> str:
    """Line endings as \\n and no trailing whitespace: copies that differ only there hash the same."""
    return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))


def content_hash(text: str) -> str:
    """First 16 hex digits of the sha256 of the normalized text: a line of corpus_hashes.txt."""
    return hashlib.sha256(normalize_source(text).encode("utf-8")).hexdigest()[:16]


# --- reading ------------------------------------------------------------------------------------------

def is_bundle(path: str | Path | None) -> bool:
    """A bundle folder (manifest.json), as opposed to a checkpoint folder (config.json + safetensors)."""
    return bool(path) and (Path(path) / MANIFEST).is_file()


def read_json(path: Path | None) -> dict:
    """A JSON file's object; {} when path is None or the file does not exist."""
    if path is None or not Path(path).exists():
        return {}
    return json.loads(Path(path).read_text())


def read_verified(folder: Path, name: str, expected: dict) -> bytes:
    """A bundle file's bytes, checked against its manifest entry (sha256) and kept inside the folder.

    Only a regular file is read (a FIFO or a device would block or never end), and never more bytes than
    the manifest lists for it.
    """
    path = folder / name
    if path.resolve().parent != folder.resolve():
        raise BundleCorrupt(f"bundle file {name!r} points outside the bundle folder {folder}")
    data = read_regular_file(path, expected.get("bytes"))
    digest = sha256_bytes(data)
    if digest != expected.get("sha256"):
        raise BundleCorrupt(f"sha256 mismatch for {path} (expected {expected.get('sha256')}, got {digest}); "
                            "the bundle is corrupt or was modified: re-export it or reinstall quill-lsp")
    return data


def read_regular_file(path: Path, size: int | None = None, limit: int | None = None) -> bytes:
    """The bytes of a regular file (opened without blocking, so a FIFO is refused at once, not waited on);
    BundleCorrupt when it is something else, its size is not `size`, or it is over `limit` bytes."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise BundleCorrupt(f"bundle {path.parent} is missing {path.name}; re-run `quill export` or reinstall") from None
    except OSError as exc:
        raise BundleCorrupt(f"cannot read {path} ({exc.strerror or exc}); fix its permissions or re-export") from None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise BundleCorrupt(f"{path} is not a regular file (a FIFO, device or folder); a bundle holds files only")
        if limit is not None and info.st_size > limit:
            raise BundleCorrupt(f"{path} is {info.st_size} bytes, over the {limit} a bundle file of its kind may have")
        if isinstance(size, int) and not isinstance(size, bool) and info.st_size != size:
            raise BundleCorrupt(f"sha256 mismatch for {path} (it has {info.st_size} bytes, the manifest lists {size}: "
                                "not read); the bundle is corrupt or was modified: re-export it or reinstall quill-lsp")
        return fh.read()


def read_manifest(folder: Path) -> dict:
    """manifest.json of a bundle folder, with the format version checked (else BundleCorrupt saying why)."""
    manifest_path = folder / MANIFEST
    if not manifest_path.exists():
        raise BundleCorrupt(f"{folder} has no {MANIFEST}; it is not a Quill bundle: "
                            "point quill at the folder `quill export` wrote")
    data = read_regular_file(manifest_path, limit=MAX_MANIFEST_BYTES)
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BundleCorrupt(f"{manifest_path} is not valid JSON ({exc}); re-export the bundle") from None
    if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
        found = manifest.get("format_version") if isinstance(manifest, dict) else None
        raise BundleCorrupt(f"{manifest_path} has format version {found!r}; this quill reads version "
                            f"{FORMAT_VERSION}: re-export the bundle with this version of quill")
    return manifest


def _positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _bad_model_keys(config, where: str) -> list[str]:
    """The MODEL_KEYS of a model_config section that are not positive integers."""
    return [f"{where}.{key}" for key in MODEL_KEYS if isinstance(config, dict) and not _positive_int(config.get(key))]


def check_manifest(manifest: dict, manifest_path: Path) -> None:
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


def check_docstring_section(manifest: dict, manifest_path: Path) -> None:
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


def read_corpus_hashes(folder: Path, manifest: dict) -> set[str] | None:
    """The content hashes of the bundle's training files (sha256-verified), or None if it carries none."""
    entry = manifest.get("files", {}).get(CORPUS_HASHES)
    if entry is None:
        return None
    data = read_verified(folder, CORPUS_HASHES, entry)
    return parse_corpus_hashes(data.decode("utf-8", "replace"))


def parse_corpus_hashes(text: str) -> set[str]:
    """The hashes of a corpus_hashes.txt text (one per line)."""
    return {line.strip() for line in text.splitlines() if line.strip()}


# --- writing ------------------------------------------------------------------------------------------

def write_corpus_hashes(folder: Path, hashes: set[str]) -> bool:
    """corpus_hashes.txt in folder (sorted, one per line); False (nothing written) when there are none."""
    if hashes:
        (Path(folder) / CORPUS_HASHES).write_text("".join(f"{h}\n" for h in sorted(hashes)))
    return bool(hashes)


def write_manifest(folder: Path, manifest: dict) -> None:
    """manifest.json, replaced atomically: a reader never sees half of it."""
    tmp = Path(folder) / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(tmp, Path(folder) / MANIFEST)
