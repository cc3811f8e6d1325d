"""Inputs of `quill train --init BUNDLE --source DIR` that belong to training: the corpus and the tokenizer.

The inputs are resolved before training (a corpus built from the sources into <out>/corpus, the bundle's
tokenizer). That corpus also holds a seeded sample of the standard library worth STDLIB_SHARE of the
sources' bytes (unless --only-source), so a model fine-tuned on one project does not forget general Python.
Recovering a bundle's weights and exporting the fine-tuned bundle are export's work; the application layer
(quill/finetune.py) composes recover -> train -> export.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from lsp_server.bundle_format import TOKENIZER_FILE, is_bundle

from .distributed import Dist, barrier

FINETUNE_LR_SCALE = 0.25  # a trained model needs smaller steps than training from scratch
FINETUNE_WARMUP = 50
STDLIB_SHARE = 0.25  # stdlib bytes mixed into a --source corpus, as a share of the sources' bytes


def finetune_defaults(preset: dict) -> dict:
    """Options for fine-tuning a bundle that the user did not set: a quarter of the preset's peak LR and a
    short warmup (an hour's fine-tune takes only a few hundred steps on a laptop)."""
    return {"lr": preset.get("lr", 2e-3) * FINETUNE_LR_SCALE,
            "warmup_steps": min(preset.get("warmup_steps", FINETUNE_WARMUP), FINETUNE_WARMUP)}


def resolve_inputs(cfg, env: Dist, log=print):
    """The config with its corpus and tokenizer made concrete: --source folders become <out>/corpus (built
    on rank 0 while the others wait), and an --init bundle brings its own tokenizer."""
    changes: dict = {}
    if cfg.source:
        corpus = Path(cfg.out) / "corpus"
        if env.is_main:
            source_corpus(cfg, corpus, log)
        barrier(env)
        changes["corpus"] = str(corpus)
    if is_bundle(cfg.init):
        changes["tokenizer"] = str(Path(cfg.init) / TOKENIZER_FILE)
    return dataclasses.replace(cfg, **changes) if changes else cfg


def source_corpus(cfg, out: Path, log=print) -> dict:
    """Build the corpus of cfg.source into `out`: the sources, plus (unless cfg.only_source) the standard
    library files that sample_files draws with cfg.seed, worth STDLIB_SHARE of the sources' bytes; its summary."""
    from .corpus import (
        build_corpus,
        default_sources,
        format_summary,
        sample_files,
        source_bytes,
    )
    sources = [Path(s) for s in cfg.source]
    samples = {}
    if not cfg.only_source:
        stdlib = default_sources()[0]
        samples[stdlib] = sample_files(stdlib, int(source_bytes(sources) * STDLIB_SHARE), cfg.seed)
    summary = build_corpus(sources, out, holdout=[Path(h) for h in cfg.holdout], samples=samples).to_json()
    log(format_summary(summary))
    return summary


def checkpoint_model(cfg, vocab_size: int, log=print):
    """The --init weights of a checkpoint folder (a bundle's are recovered by the application layer)."""
    from .transformer import load_model
    model = load_model(Path(cfg.init)).train()
    check_vocab(model, cfg, vocab_size)
    return model


def check_vocab(model, cfg, vocab_size: int) -> None:
    """The initial model must use the training tokenizer's vocabulary."""
    if model.cfg.vocab_size != vocab_size:
        raise ValueError(f"--init {cfg.init} expects {model.cfg.vocab_size} tokens but the tokenizer has "
                         f"{vocab_size}; fine-tune with the tokenizer the model was trained with")
