"""`quill train`, and its fine-tuning form `quill train --init BUNDLE --source DIR`: recover -> train -> export.

A bundle holds only ONNX, so its weights come from export.recover; training is model.train; a fine-tuned
bundle is exported to <out>/bundle afterwards (int8, parity-checked) with the base bundle's docstring model
carried over (export.upgrade.carry_docstring_model, as a re-export does), and a warning names any manifest
section of the base that the new bundle lacks. This composition is the application layer's: model never
imports export.
"""
from __future__ import annotations

import sys
from pathlib import Path

from lsp_server.bundle_format import CORPUS_HASHES, is_bundle, write_manifest

HISTORY_SECTIONS = ("upgraded_from",)  # the base's own history, which a new bundle has no reason to repeat


def initial_model(cfg, vocab_size: int, log=print):
    """The --init weights: recovered from a bundle's ONNX, or loaded from a checkpoint folder."""
    from model.finetune import check_vocab, checkpoint_model
    if not is_bundle(cfg.init):
        return checkpoint_model(cfg, vocab_size, log)
    from export.recover import recover_model
    model = recover_model(cfg.init, log=log)
    check_vocab(model, cfg, vocab_size)
    return model


def lost_sections(base: dict, manifest: dict) -> list[str]:
    """The manifest sections and files of a base bundle that a bundle made from it lacks."""
    sections = [k for k in base if k not in manifest and k not in HISTORY_SECTIONS]
    files = [f"file {name}" for name in base.get("files", {}) if name not in manifest.get("files", {})]
    return sections + files


def warn_lost(base_dir: Path, base: dict, manifest: dict, log=print) -> list[str]:
    """Warn on stderr and in the log about what the new bundle lost of its base; the warnings."""
    lost = lost_sections(base, manifest)
    if not lost:
        return []
    warning = (f"warning: the fine-tuned bundle lacks what its base {base_dir} had: {', '.join(lost)}; "
               "the server will not offer what they provided")
    print(warning, file=sys.stderr)
    log(warning)
    return [warning]


def export_finetuned(cfg, log=print) -> tuple[Path, list[str]]:
    """Export <out>/final to <out>/bundle (int8, parity-checked) with the base bundle's docstring model, and
    say how to serve it; the bundle and the warnings about sections of the base it lacks."""
    from export.bundle import build_bundle
    from export.upgrade import carry_docstring_model
    from lsp_server.runtime.bundles import load_bundle
    out, base_dir = Path(cfg.out), Path(cfg.init)
    base = load_bundle(base_dir).manifest  # verified: the files carried over are the ones its manifest signs
    corpus = Path(cfg.corpus) if (Path(cfg.corpus) / "summary.json").exists() else None
    bundle = out / "bundle"
    base_hashes = base_dir / CORPUS_HASHES  # the base model's training files stay recorded
    manifest = build_bundle(out / "final", Path(cfg.tokenizer), bundle, corpus, out / "train_summary.json",
                            int8=True, name=f"{base.get('name', 'quill-code-lm')}-finetuned", log=log,
                            trained_on=(base_hashes,) if base_hashes.exists() else ())
    if carry_docstring_model(base_dir, bundle, base, manifest):
        write_manifest(bundle, manifest)
        log(f"docstring model carried over from {base_dir}")
    load_bundle(bundle)  # the result verifies as any bundle must
    warnings = warn_lost(base_dir, base, manifest, log)
    path = bundle.resolve()
    log(f"fine-tuned bundle: {path}\n"
        f"  try it:   quill complete FILE LINE COL --bundle {path}\n"
        f"  serve it: quill serve --bundle {path}\n"
        f"  or in your editor's user settings: model.bundle_path = \"{path}\" "
        f"(VS Code: quill.model.bundlePath); workspace settings cannot choose a model")
    return bundle, warnings


def run_training(cfg, command: str, log=print) -> dict:
    """Train (under torchrun on every rank); rank 0 then exports a fine-tuned bundle when --init was one.

    The summary is rank 0's (with "bundle" when one was exported, and "warnings" when that bundle lacks a
    section of its base), {"rank": r} on the other ranks.
    """
    from model.train import TrainConfig, train
    summary = train(cfg, command=command, log=log, init_model=initial_model)
    if "steps" in summary and is_bundle(cfg.init):
        resolved = TrainConfig(**summary["train_config"])  # the corpus built from --source, the bundle's tokenizer
        bundle, warnings = export_finetuned(resolved, log)
        summary["bundle"] = str(bundle)
        if warnings:
            summary["warnings"] = warnings
    return summary
