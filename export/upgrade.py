"""Re-export a bundle's code LM in this exporter's graph layout, keeping everything else it holds.

A bundle has no PyTorch weights, so its code LM is recovered from model.onnx (export.recover, checked against
the bundle's reference logits), written as a checkpoint and exported again by export.bundle.build_bundle
(parity-checked, int8 when the source was). The docstring model (carry_docstring_model, which fine-tuning
shares), the corpus record, training record, measured metrics and corpus hashes are carried over unchanged.
Used to give the shipped bundle the graph's `num_logits` input (prompt-lookup decoding) without retraining:

    python -m export.upgrade lsp_server/bundle /tmp/upgraded && cp /tmp/upgraded/* lsp_server/bundle/
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from lsp_server.bundle_format import (
    CORPUS_HASHES,
    DOC_DECODER_FILE,
    DOC_ENCODER_FILE,
    DOC_REFERENCE_FILE,
    MODEL_FILE,
    TOKENIZER_FILE,
    file_entry,
    write_manifest,
)

CARRIED = ("corpus", "fim", "training")  # manifest sections a re-export does not change
DOC_FILES = (DOC_ENCODER_FILE, DOC_DECODER_FILE, DOC_REFERENCE_FILE)


def carry_docstring_model(src: Path, out: Path, base: dict, manifest: dict) -> bool:
    """Copy the docstring model of bundle `src` (manifest `base`, already verified) into bundle folder `out`
    and its section and file entries into `manifest`, which the caller then writes; False when `src` has none.

    Shared by a re-export and a fine-tune (quill/finetune.py) of the code LM: the docstring model is trained
    separately and reads the same tokenizer, so it is kept unchanged, unless the tokenizer changed.
    """
    if "docstring" not in base:
        return False
    if base["docstring"].get("tokenizer_sha256") != manifest["tokenizer"]["sha256"]:
        raise ValueError(f"the docstring model of {src} reads another tokenizer than the new bundle's, so it "
                         "cannot be carried over: retrain it (`quill train-doc`) and add it (`quill export-doc`)")
    for name in DOC_FILES:
        shutil.copyfile(src / name, out / name)
        manifest["files"][name] = file_entry(out / name)
    manifest["docstring"] = base["docstring"]
    return True


def upgrade_bundle(src: Path | str, out: Path | str, log=print) -> dict:
    """Write `out`: `src` with its code LM re-exported; returns the new manifest. `out` must not exist."""
    from lsp_server.runtime.bundles import load_bundle
    from model.transformer import save_model

    from .bundle import build_bundle
    from .recover import recover_model
    src, out = Path(src), Path(out)
    if out.exists():
        raise FileExistsError(f"{out} exists: choose a new folder for the upgraded bundle")
    old = load_bundle(src).manifest  # verified: every file's sha256
    model = recover_model(src, log=log).eval()
    with tempfile.TemporaryDirectory() as tmp:
        ckpt, summary = Path(tmp) / "ckpt", Path(tmp) / "train_summary.json"
        save_model(model, model.cfg, ckpt)
        metrics = old.get("metrics", {})
        summary.write_text(json.dumps({**old.get("training", {}), **{k: metrics.get(k) for k in
                                                                     ("val_loss", "val_token_accuracy")}}))
        hashes = src / CORPUS_HASHES
        manifest = build_bundle(ckpt, src / TOKENIZER_FILE, out, None, summary,
                                int8=old.get("onnx", {}).get("precision") == "int8", name=old["name"], log=log,
                                trained_on=(hashes,) if hashes.exists() else ())
    manifest.update({k: old[k] for k in CARRIED if k in old})
    manifest["metrics"] = {**metrics, **manifest["metrics"]}
    manifest["upgraded_from"] = {"created": old.get("created"), MODEL_FILE: old["files"][MODEL_FILE]["sha256"]}
    carry_docstring_model(src, out, old, manifest)
    write_manifest(out, manifest)
    load_bundle(out)  # the result verifies as any bundle must
    log(f"upgraded bundle: {out} ({manifest['onnx']['logits']} logits; docstring model "
        f"{'kept' if 'docstring' in old else 'absent'})")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", help="the bundle folder to upgrade (its manifest must verify)")
    parser.add_argument("out", help="a new folder for the upgraded bundle")
    args = parser.parse_args(argv)
    try:
        upgrade_bundle(args.bundle, args.out)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
