"""Build a served bundle: model.onnx + tokenizer.json + reference.npz + manifest.json."""
from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path

import numpy as np

from lsp_server.bundle_format import (
    CORPUS_HASHES,
    FORMAT_VERSION,
    LOGITS_LAST_N,
    MODEL_FILE,
    REFERENCE_FILE,
    TOKENIZER_FILE,
    content_hash,
    file_entry,
    parse_corpus_hashes,
    read_json,
    sha256_file,
    write_corpus_hashes,
    write_manifest,
)


def _has_test_split(corpus_dir: Path) -> bool:
    """A small fine-tuning corpus may have no test files; the bundle then has no test metrics."""
    path = corpus_dir / "test.jsonl"
    return path.exists() and path.stat().st_size > 0


def write_training_hashes(out_dir: Path, corpora: list[Path]) -> bool:
    """corpus_hashes.txt: model.dedup.content_hash of every train-split file of the corpora the bundle's
    weights were trained on (`quill eval` refuses a folder that overlaps it); False when there are none.
    A corpus may also be given as an earlier bundle's corpus_hashes.txt (fine-tuning keeps its base's)."""
    from model.corpus import load_split
    hashes: set[str] = set()
    for c in map(Path, corpora):
        if c.is_file():
            hashes.update(parse_corpus_hashes(c.read_text()))
        elif (c / "train.jsonl").exists():
            hashes.update(content_hash(r["text"]) for r in load_split(c, "train"))
    return write_corpus_hashes(out_dir, hashes)


def build_bundle(ckpt_dir: Path, tokenizer_path: Path, out_dir: Path, corpus_dir: Path | None = None,
                 train_summary: Path | None = None, int8: bool = True, name: str = "quill-code-lm",
                 log=print, trained_on: tuple[Path, ...] = ()) -> dict:
    """Export, check parity, quantize and write a verified bundle folder; returns the manifest.

    A docstring model is added afterwards by export.doc_bundle.add_docstring_model (`quill export
    --docstring-checkpoint` runs both). `trained_on`: other corpora the weights saw (a model fine-tuned from another
    was also trained on that one's corpus); their train files go into corpus_hashes.txt with corpus_dir's.
    """
    from model.tokenizer import load_tokenizer, special_ids
    from model.transformer import load_model

    from .onnx_export import (
        export_decoder,
        io_names,
        parity,
        quantize_int8,
        reference_cases,
        set_metadata,
    )
    from .parity_note import fp32_line, int8_line
    from .recover import weight_map

    model = load_model(ckpt_dir)
    cfg = model.cfg
    tok = load_tokenizer(tokenizer_path)
    if tok.get_vocab_size() != cfg.vocab_size:
        raise ValueError(f"tokenizer has {tok.get_vocab_size()} tokens but the model expects {cfg.vocab_size}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tok_sha = sha256_file(Path(tokenizer_path))
    metadata = {"quill.format_version": str(FORMAT_VERSION), "quill.kind": cfg.arch,
                "quill.model_config": cfg.to_json(), "quill.tokenizer_sha256": tok_sha}
    cases = reference_cases(model)
    metrics: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = export_decoder(model, Path(tmp) / "fp32.onnx", metadata)
        names = weight_map(fp32, model)  # before quantization, while values still equal the parameters
        metrics["parity_fp32_max_abs_diff"] = parity(fp32, cases, cfg.n_layers)
        log(fp32_line("", metrics["parity_fp32_max_abs_diff"], "logits"))
        if int8:
            quantize_int8(fp32, out_dir / MODEL_FILE)
            set_metadata(out_dir / MODEL_FILE, metadata)
            metrics["parity_int8_max_abs_diff"] = parity(out_dir / MODEL_FILE, cases, cfg.n_layers)
            logits = [v for k, v in cases.items() if k.endswith(".logits")]
            log(int8_line("", metrics["parity_int8_max_abs_diff"], logits, "logits"))
        else:
            shutil.copyfile(fp32, out_dir / MODEL_FILE)
    shutil.copyfile(tokenizer_path, out_dir / TOKENIZER_FILE)
    np.savez_compressed(out_dir / REFERENCE_FILE, **cases)
    if corpus_dir is not None and _has_test_split(Path(corpus_dir)):
        from model.evaluate import token_accuracy
        acc = token_accuracy(model, tok, corpus_dir, "test")
        metrics.update({"test_token_accuracy": acc["accuracy"], "test_loss": acc["loss"],
                        "test_tokens": acc["tokens"]})
        log(f"test split next-token accuracy {acc['accuracy']:.4f} loss {acc['loss']:.3f} over {acc['tokens']} tokens")
    training = read_json(train_summary)
    inputs, outputs = io_names(cfg.n_layers)
    manifest = {
        "format_version": FORMAT_VERSION,
        "name": name,
        "kind": cfg.arch,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "model_config": cfg.to_json(),
        "params": sum(p.numel() for p in model.parameters()),
        "onnx": {"file": MODEL_FILE, "opset": 17, "precision": "int8" if int8 else "fp32",
                 "inputs": inputs, "outputs": outputs, "logits": LOGITS_LAST_N},
        "tokenizer": {"file": TOKENIZER_FILE, "sha256": tok_sha, "special_tokens": special_ids(tok)},
        "fim": {"order": "psm", "prefix": "<fim_prefix>", "suffix": "<fim_suffix>", "middle": "<fim_middle>",
                "eos": "<eos>"},
        "corpus": read_json(Path(corpus_dir) / "summary.json") if corpus_dir else {},
        "training": {k: training.get(k) for k in ("command", "steps", "tokens", "epochs", "wall_time_s")},
        "metrics": {"val_loss": training.get("val_loss"), "val_token_accuracy": training.get("val_token_accuracy"),
                    **metrics},
        "weight_map": names,  # torch parameter -> its ONNX initializer(s), for `quill train --init BUNDLE`
        "files": {},
    }
    files = [MODEL_FILE, TOKENIZER_FILE, REFERENCE_FILE]
    if write_training_hashes(out_dir, [Path(c) for c in (corpus_dir, *trained_on) if c is not None]):
        files.append(CORPUS_HASHES)
    for fname in files:
        manifest["files"][fname] = file_entry(out_dir / fname)
    write_manifest(out_dir, manifest)
    return manifest
