"""`quill train`, and its fine-tuning form `quill train --init BUNDLE --source DIR`: recover -> train -> export.

A bundle holds only ONNX, so its weights come from export.recover; training is model.train; a fine-tuned
bundle is exported to <out>/bundle afterwards (int8, parity-checked). This composition is the application
layer's: model never imports export.
"""
from __future__ import annotations

import json
from pathlib import Path

from lsp_server.bundle_format import CORPUS_HASHES, MANIFEST, is_bundle


def initial_model(cfg, vocab_size: int, log=print):
    """The --init weights: recovered from a bundle's ONNX, or loaded from a checkpoint folder."""
    from model.finetune import check_vocab, checkpoint_model
    if not is_bundle(cfg.init):
        return checkpoint_model(cfg, vocab_size, log)
    from export.recover import recover_model
    model = recover_model(cfg.init, log=log)
    check_vocab(model, cfg, vocab_size)
    return model


def export_finetuned(cfg, log=print) -> Path:
    """Export <out>/final to <out>/bundle (int8, parity-checked) and say how to serve it."""
    from export.bundle import build_bundle
    out = Path(cfg.out)
    base = json.loads((Path(cfg.init) / MANIFEST).read_text()).get("name", "quill-code-lm")
    corpus = Path(cfg.corpus) if (Path(cfg.corpus) / "summary.json").exists() else None
    bundle = out / "bundle"
    base_hashes = Path(cfg.init) / CORPUS_HASHES  # the base model's training files stay recorded
    build_bundle(out / "final", Path(cfg.tokenizer), bundle, corpus, out / "train_summary.json", int8=True,
                 name=f"{base}-finetuned", log=log, trained_on=(base_hashes,) if base_hashes.exists() else ())
    path = bundle.resolve()
    log(f"fine-tuned bundle: {path}\n"
        f"  try it:   quill complete FILE LINE COL --bundle {path}\n"
        f"  serve it: quill serve --bundle {path}\n"
        f"  or in your editor's user settings: model.bundle_path = \"{path}\" "
        f"(VS Code: quill.model.bundlePath); workspace settings cannot choose a model")
    return bundle


def run_training(cfg, command: str, log=print) -> dict:
    """Train (under torchrun on every rank); rank 0 then exports a fine-tuned bundle when --init was one.

    The summary is rank 0's (with "bundle" when one was exported), {"rank": r} on the other ranks.
    """
    from model.train import TrainConfig, train
    summary = train(cfg, command=command, log=log, init_model=initial_model)
    if "steps" in summary and is_bundle(cfg.init):
        resolved = TrainConfig(**summary["train_config"])  # the corpus built from --source, the bundle's tokenizer
        summary["bundle"] = str(export_finetuned(resolved, log))
    return summary
