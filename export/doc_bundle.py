"""Add the docstring model (a Seq2Seq checkpoint) to a bundle folder: doc_encoder.onnx, doc_decoder.onnx,
doc_reference.npz, their sha256 in manifest["files"] and a manifest["docstring"] section.

"source_format" (lsp_server/doc_format.py's SOURCE_FORMAT) comes from the training summary: a model trained on
sources with a project-context header says so, and the server builds its input the same way; a model without
it (older checkpoints, the shipped one) is given plain code.

The code LM and the docstring model are trained separately, so this works on an existing bundle too: the
manifest is rewritten with the new files and everything else kept.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from lsp_server.bundle_format import (
    FORMAT_VERSION,
    MANIFEST,
    TOKENIZER_FILE,
    file_entry,
    read_json,
    sha256_file,
    write_manifest,
)

from .onnx_export import quantize_int8, set_metadata
from .parity_note import fp32_line, int8_line
from .seq2seq_export import (
    DECODER_CASES,
    DECODER_FILE,
    ENCODER_FILE,
    GRAPH_KINDS,
    REFERENCE_FILE,
    decoder_io_names,
    encoder_io_names,
    export_seq2seq,
    parity,
    reference_cases,
)

BOS_TOKEN, EOS_TOKEN = "<docstring>", "<eos>"
MAX_SOURCE_TOKENS = 256  # the encoder sees the start of the function's source (docstring removed)
DOC_FILES = (ENCODER_FILE, DECODER_FILE, REFERENCE_FILE)
TRAINING_METRICS = ("val_loss", "val_token_accuracy", "best_val_loss")  # from model/train_doc.py's summary


def _bundle_manifest(bundle_dir: Path) -> dict:
    """The bundle's manifest, after checking that its tokenizer is the one the manifest signs."""
    path = bundle_dir / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{bundle_dir} has no {MANIFEST}: build the bundle first with `quill export`")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path} has format version {manifest.get('format_version')!r}, not {FORMAT_VERSION}")
    if sha256_file(bundle_dir / TOKENIZER_FILE) != manifest["tokenizer"]["sha256"]:
        raise ValueError(f"{bundle_dir / TOKENIZER_FILE} does not match the manifest's sha256")
    return manifest


def training_summary(ckpt_dir: Path, path: Path | None = None) -> dict:
    """train_summary.json given, else the one in the checkpoint folder or next to it ({} if none)."""
    if path is not None:
        return read_json(path)
    for candidate in (ckpt_dir / "train_summary.json", ckpt_dir.parent / "train_summary.json"):
        if candidate.is_file():
            return read_json(candidate)
    return {}


def checkpoint_folder(path: Path) -> Path:
    """The folder holding config.json: path itself, or the `final` checkpoint of a training run folder."""
    path = Path(path)
    if not (path / "config.json").is_file() and (path / "final" / "config.json").is_file():
        return path / "final"  # `quill train-doc --out runs/doc_a` saves runs/doc_a/final
    return path


def _scalars(data: dict) -> dict:
    return {k: v for k, v in data.items() if isinstance(v, (str, int, float)) and not isinstance(v, bool)}


def _export_checked(model, out_dir: Path, work: Path, metadata: dict, int8: bool, log) -> dict:
    """Export, check parity (fp32 always, int8 when shipped), write the doc files into out_dir; metrics."""
    n = model.cfg.n_layers
    cases = reference_cases(model)
    enc, dec = export_seq2seq(model, work, metadata)
    fp32 = parity(enc, dec, cases, n)
    metrics = {"parity_fp32_encoder_max_abs_diff": fp32["encoder"], "parity_fp32_decoder_max_abs_diff": fp32["decoder"]}
    for part in ("encoder", "decoder"):
        log(fp32_line(f"docstring {part}: ", fp32[part]))
    if int8:
        for path in (enc, dec):
            quantize_int8(path, work / f"int8_{path.name}")
            set_metadata(work / f"int8_{path.name}", metadata | {"quill.kind": GRAPH_KINDS[path.name]})
            os.replace(work / f"int8_{path.name}", path)
        q = parity(enc, dec, cases, n)
        metrics |= {"parity_int8_encoder_max_abs_diff": q["encoder"], "parity_int8_decoder_max_abs_diff": q["decoder"]}
        for part, prefix in (("encoder", "encoder."), ("decoder", tuple(f"{c}.logits" for c in DECODER_CASES))):
            reference = [v for k, v in cases.items() if k.startswith(prefix) and not k.endswith("input_ids")]
            log(int8_line(f"docstring {part}: ", q[part], reference))
    np.savez_compressed(work / REFERENCE_FILE, **cases)
    for name in DOC_FILES:  # replace, never half-write, a file a running server may be reading
        shutil.copyfile(work / name, out_dir / f".{name}.tmp")
        os.replace(out_dir / f".{name}.tmp", out_dir / name)
    return metrics


def add_docstring_model(ckpt_dir: Path, bundle_dir: Path, int8: bool = True, train_summary: Path | None = None,
                        metrics: dict | None = None, log=print) -> dict:
    """Export a Seq2Seq checkpoint into an existing bundle folder and rewrite its manifest; returns it."""
    from model.seq2seq import load_seq2seq
    from model.tokenizer import load_tokenizer

    ckpt_dir, bundle_dir = checkpoint_folder(ckpt_dir), Path(bundle_dir)
    manifest = _bundle_manifest(bundle_dir)
    model = load_seq2seq(ckpt_dir)
    cfg = model.cfg
    tok = load_tokenizer(bundle_dir / TOKENIZER_FILE)
    if tok.get_vocab_size() != cfg.vocab_size:
        raise ValueError(f"the bundle's tokenizer has {tok.get_vocab_size()} tokens but the docstring model "
                         f"expects {cfg.vocab_size}: train it with the bundle's tokenizer")
    tok_sha = manifest["tokenizer"]["sha256"]
    metadata = {"quill.format_version": str(FORMAT_VERSION), "quill.model_config": cfg.to_json(),
                "quill.tokenizer_sha256": tok_sha}
    with tempfile.TemporaryDirectory() as tmp:
        measured = _export_checked(model, bundle_dir, Path(tmp), metadata, int8, log)
    summary = training_summary(ckpt_dir, train_summary)
    enc_in, enc_out = encoder_io_names(cfg.n_layers)
    dec_in, dec_out = decoder_io_names(cfg.n_layers)
    manifest["docstring"] = {
        "kind": cfg.arch,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "checkpoint": str(ckpt_dir),
        "model_config": cfg.to_json(),
        "params": model.num_params(),
        "files": {"encoder": ENCODER_FILE, "decoder": DECODER_FILE, "reference": REFERENCE_FILE},
        "opset": 17,
        "precision": "int8" if int8 else "fp32",
        "encoder": {"inputs": enc_in, "outputs": enc_out},
        "decoder": {"inputs": dec_in, "outputs": dec_out, "logits": "last_position"},
        "bos_token": BOS_TOKEN,
        "eos_token": EOS_TOKEN,
        "max_source_tokens": min(MAX_SOURCE_TOKENS, cfg.max_seq_len),
        "tokenizer_sha256": tok_sha,
        **({"source_format": summary["source_format"]} if summary.get("source_format") else {}),
        "training": _scalars(summary),
        "metrics": {**{k: summary[k] for k in TRAINING_METRICS if k in summary},
                    **_scalars(summary.get("metrics") or {}), **measured, **(metrics or {})},
    }
    for name in DOC_FILES:
        manifest["files"][name] = file_entry(bundle_dir / name)
    write_manifest(bundle_dir, manifest)
    return manifest
