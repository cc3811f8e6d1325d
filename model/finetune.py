"""`quill train --init BUNDLE --source DIR`: fine-tune a shipped model on your own code, in one command.

The inputs are resolved before training (a corpus built from the sources into <out>/corpus, the bundle's
tokenizer) and a new int8 bundle is exported to <out>/bundle after it. The weights themselves come from
export/recover.py, since a bundle holds only ONNX.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from .distributed import Dist, barrier


FINETUNE_LR_SCALE = 0.25  # a trained model needs smaller steps than training from scratch
FINETUNE_WARMUP = 50


def finetune_defaults(preset: dict) -> dict:
    """Options for fine-tuning a bundle that the user did not set: a quarter of the preset's peak LR and a
    short warmup (an hour's fine-tune takes only a few hundred steps on a laptop)."""
    return {"lr": preset.get("lr", 2e-3) * FINETUNE_LR_SCALE,
            "warmup_steps": min(preset.get("warmup_steps", FINETUNE_WARMUP), FINETUNE_WARMUP)}


def is_bundle(path: str | Path) -> bool:
    """A bundle folder (manifest.json + model.onnx), as opposed to a checkpoint (config.json + safetensors)."""
    return bool(path) and (Path(path) / "manifest.json").is_file()


def resolve_inputs(cfg, env: Dist, log=print):
    """The config with its corpus and tokenizer made concrete: --source folders become <out>/corpus (built
    on rank 0 while the others wait), and an --init bundle brings its own tokenizer."""
    changes: dict = {}
    if cfg.source:
        corpus = Path(cfg.out) / "corpus"
        if env.is_main:
            from .corpus import build_corpus, format_summary
            summary = build_corpus([Path(s) for s in cfg.source], corpus, holdout=[Path(h) for h in cfg.holdout])
            log(format_summary(summary.to_json()))
        barrier(env)
        changes["corpus"] = str(corpus)
    if is_bundle(cfg.init):
        changes["tokenizer"] = str(Path(cfg.init) / "tokenizer.json")
    return dataclasses.replace(cfg, **changes) if changes else cfg


def initial_model(cfg, vocab_size: int, log=print):
    """The --init weights: recovered from a bundle's ONNX, or loaded from a checkpoint folder."""
    from .transformer import load_model
    if is_bundle(cfg.init):
        from export.recover import recover_model
        model = recover_model(cfg.init, log=log)
    else:
        model = load_model(Path(cfg.init)).train()
    if model.cfg.vocab_size != vocab_size:
        raise ValueError(f"--init {cfg.init} expects {model.cfg.vocab_size} tokens but the tokenizer has "
                         f"{vocab_size}; fine-tune with the tokenizer the model was trained with")
    return model


def export_finetuned(cfg, log=print) -> Path:
    """Export <out>/final to <out>/bundle (int8, parity-checked) and say how to serve it."""
    from export.bundle import build_bundle
    out = Path(cfg.out)
    base = json.loads((Path(cfg.init) / "manifest.json").read_text()).get("name", "quill-code-lm")
    corpus = Path(cfg.corpus) if (Path(cfg.corpus) / "summary.json").exists() else None
    bundle = out / "bundle"
    base_hashes = Path(cfg.init) / "corpus_hashes.txt"  # the base model's training files stay recorded
    build_bundle(out / "final", Path(cfg.tokenizer), bundle, corpus, out / "train_summary.json", int8=True,
                 name=f"{base}-finetuned", log=log, trained_on=(base_hashes,) if base_hashes.exists() else ())
    path = bundle.resolve()
    log(f"fine-tuned bundle: {path}\n"
        f"  try it:   quill complete FILE LINE COL --bundle {path}\n"
        f"  serve it: quill serve --bundle {path}\n"
        f"  or in your editor's user settings: model.bundle_path = \"{path}\" "
        f"(VS Code: quill.model.bundlePath); workspace settings cannot choose a model")
    return bundle
