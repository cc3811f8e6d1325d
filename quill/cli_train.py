"""The subcommands that make a model: corpus, tokenizer, train, train-doc, export, export-doc.

Each checks its inputs, and that the [train] extra is installed, before importing torch; each returns a
Report (quill/cli_common.py) that main() prints as text or, with --json, as one JSON object.
"""
from __future__ import annotations

import dataclasses
import json
import shlex
import sys
from pathlib import Path

from .cli_common import (
    Report,
    UserError,
    add_command,
    add_json,
    count,
    fraction,
    non_negative,
    positive_float,
    positive_int,
    require_dir,
    require_file,
    require_train_extra,
)

# model/train.py's PRESETS (importing it imports torch); a test keeps them equal
LM_PRESETS = ("small", "tiny", "medium", "large")
DOC_PRESETS = ("small", "tiny")  # model/train_doc.py's PRESETS
PRESET_DEFAULT = " (default: the --preset's)"
CORPUS_HINT = "build one with `quill corpus` (or give --source DIR)"
TOKENIZER_HINT = "train one with `quill tokenizer`"


def add_corpus(sub) -> None:
    p = add_command(sub, "corpus", "collect Python files into train/val/test splits")
    p.add_argument("--out", default="runs/corpus", help="output folder")
    p.add_argument("--source", action="append", default=[], metavar="DIR",
                   help="extra folder of Python files (repeatable); the standard library is always included "
                        "unless --no-stdlib")
    p.add_argument("--no-stdlib", action="store_true", help="do not include the interpreter's standard library")
    p.add_argument("--max-files", type=positive_int, default=None, help="stop after this many kept files "
                   "(default: no limit)")
    p.add_argument("--holdout", action="append", default=[], metavar="DIR",
                   help="an evaluation folder (repeatable): its files and near-copies of them are never in the corpus")
    p.add_argument("--max-package-mb", type=non_negative, default=0.0,
                   help="cap each top-level package at this many MB so one big library cannot dominate (0 = no cap)")
    p.add_argument("--val-pct", type=count, default=5, help="percent of the files in the val split")
    p.add_argument("--test-pct", type=count, default=5, help="percent of the files in the test split")
    add_json(p)
    p.set_defaults(func=cmd_corpus)


def cmd_corpus(args) -> Report:
    sources = [require_dir(s, "--source") for s in args.source]
    holdout = [require_dir(h, "--holdout") for h in args.holdout]
    if args.val_pct + args.test_pct >= 100:
        raise UserError("--val-pct and --test-pct must leave files for the train split (their sum is under 100)")
    from model.corpus import build_corpus, default_sources, format_summary
    sources = ([] if args.no_stdlib else default_sources()) + sources
    if not sources:
        raise UserError("no sources (give --source DIR or drop --no-stdlib)")
    summary = build_corpus(sources, Path(args.out), args.val_pct, args.test_pct, args.max_files,
                           holdout=holdout, max_package_mb=args.max_package_mb).to_json()
    text = f"{format_summary(summary)}\nwrote {args.out}/{{train,val,test}}.jsonl and summary.json"
    return Report({"out": args.out, **summary}, text)


def add_tokenizer(sub) -> None:
    p = add_command(sub, "tokenizer", "train the byte-level BPE tokenizer on the train split")
    p.add_argument("--corpus", default="runs/corpus", help="corpus folder made by `quill corpus`")
    p.add_argument("--out", default="runs/tokenizer.json", help="tokenizer file to write")
    p.add_argument("--vocab-size", type=positive_int, default=8192, help="tokens in the vocabulary")
    add_json(p)
    p.set_defaults(func=cmd_tokenizer)


def cmd_tokenizer(args) -> Report:
    require_dir(args.corpus, "--corpus", "build one with `quill corpus`")
    from model.corpus import load_split
    from model.tokenizer import decode, encode, train_tokenizer
    records = load_split(args.corpus, "train")
    if not records:
        raise UserError(f"the train split of {args.corpus} is empty")
    tok = train_tokenizer((r["text"] for r in records), vocab_size=args.vocab_size)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    tok.save(args.out)
    sample = records[0]["text"][:2000]
    ok = decode(tok, encode(tok, sample)) == sample
    text = f"vocab {tok.get_vocab_size()} -> {args.out}; round trip on a sample: {'exact' if ok else 'BROKEN'}"
    return Report({"out": args.out, "vocab_size": tok.get_vocab_size(), "round_trip_exact": ok}, text, 0 if ok else 1)


# (option, type, help) of the config fields that a preset sets; the CLI leaves them None unless given.
SHARED_OVERRIDES = [
    ("lr", positive_float, "peak learning rate"),
    ("warmup-steps", count, "steps of linear warmup"),
    ("max-steps", positive_int, "stop after this many steps"),
    ("max-minutes", non_negative, "stop after this many minutes; the schedule then follows the clock (0 = no limit)"),
    ("eval-interval", positive_int, "steps between validation runs"),
    ("checkpoint-interval", positive_int, "steps between checkpoints in <out>/ckpt"),
    ("seed", int, "random seed"),
    ("threads", count, "torch threads (0 = torch's choice)"),
    ("d-model", positive_int, "model width"),
    ("n-heads", positive_int, "attention heads"),
    ("d-ff", positive_int, "MLP width"),
]
LM_OVERRIDES = [
    ("batch-size", positive_int, "sequences per step"),
    ("block-size", positive_int, "tokens per sequence"),
    ("fim-rate", fraction, "share of fill-in-the-middle examples"),
    ("cross-file-rate", fraction, "share of chunks given windows of other files of their package before the "
                                  "prefix, as the server's snippets (0: all plain; 0.5 unless set)"),
    ("n-layers", positive_int, "transformer layers"),
    *SHARED_OVERRIDES,
]


def _add_overrides(p, table) -> None:
    for name, kind, text in table:
        p.add_argument(f"--{name}", type=kind, default=None, help=text + PRESET_DEFAULT)


def add_train(sub) -> None:
    p = add_command(sub, "train", "train the code LM (needs the [train] extra)")
    p.add_argument("--preset", default="small", choices=LM_PRESETS,
                   help="tiny: seconds, for tests; small: the shipped model's size (4x256); medium (6x320) and "
                        "large (8x384): bigger shapes, see BENCHMARKS.md 'Size and speed'")
    p.add_argument("--corpus", default="runs/corpus", help="corpus folder made by `quill corpus`")
    p.add_argument("--tokenizer", default="runs/tokenizer.json", help="tokenizer made by `quill tokenizer`")
    p.add_argument("--out", default="runs/lm", help="output folder (checkpoints, final weights, summary)")
    _add_overrides(p, LM_OVERRIDES)
    p.add_argument("--no-compile", action="store_true", help="skip torch.compile (its first step takes 25-35 s)")
    p.add_argument("--no-bf16", action="store_true", help="train in fp32")
    p.add_argument("--resume", action="store_true", help="continue from <out>/ckpt")
    p.add_argument("--init", default=None, metavar="CHECKPOINT|BUNDLE",
                   help="start from these weights with a fresh optimizer: a checkpoint folder, or a "
                        "bundle (weights recovered from its ONNX, its tokenizer used, and a new bundle "
                        "exported to <out>/bundle), e.g. --init lsp_server/bundle")
    p.add_argument("--source", action="append", default=[], metavar="DIR",
                   help="build the corpus from this folder of your code into <out>/corpus (repeatable; "
                        "replaces --corpus)")
    p.add_argument("--holdout", action="append", default=[], metavar="DIR",
                   help="with --source: keep this folder's files and near-copies out of the corpus")
    p.add_argument("--only-source", action="store_true",
                   help="with --source: no standard-library sample in the corpus (by default one worth a quarter "
                        "of the sources' bytes is mixed in, so the model keeps its general Python)")
    p.add_argument("--doc", action="store_true",
                   help="also fine-tune the docstring model (not supported: without it, an --init bundle's "
                        "docstring model is carried over unchanged)")
    add_json(p)
    p.set_defaults(func=cmd_train)


DOC_UNSUPPORTED = ("--doc: fine-tuning the docstring model is not supported: its weights cannot be recovered "
                   "from a bundle's ONNX (only the code LM's can). Without --doc the --init bundle's docstring "
                   "model is carried over unchanged; to replace it, train one on <out>/corpus with the bundle's "
                   "tokenizer (`quill train-doc`) and add it with `quill export-doc --bundle <out>/bundle`")


def _check_train_inputs(args) -> bool:
    """The folders and files `quill train` reads exist; True when --init is a bundle."""
    from lsp_server.bundle_format import is_bundle
    if args.doc:
        raise UserError(DOC_UNSUPPORTED)
    for folder in args.source:
        require_dir(folder, "--source")
    for folder in args.holdout:
        require_dir(folder, "--holdout")
    for flag, given in (("--holdout", args.holdout), ("--only-source", args.only_source)):
        if given and not args.source:
            raise UserError(f"{flag} applies to a corpus built with --source")
    init_bundle = is_bundle(args.init)
    if args.init and not init_bundle and not (Path(args.init) / "config.json").is_file():
        raise UserError(f"--init {args.init} is neither a bundle (manifest.json) nor a checkpoint folder "
                        "(config.json + model.safetensors)")
    if not args.source:
        require_dir(args.corpus, "--corpus", CORPUS_HINT)
    if not init_bundle:
        require_file(args.tokenizer, "--tokenizer", TOKENIZER_HINT)
    return init_bundle


def cmd_train(args) -> Report:
    require_train_extra()
    init_bundle = _check_train_inputs(args)
    from model.finetune import finetune_defaults
    from model.train import PRESETS, TrainConfig

    from .finetune import run_training
    preset = PRESETS[args.preset]
    model = dict(preset["model"])
    for key in ("d_model", "n_layers", "n_heads", "d_ff"):
        if getattr(args, key) is not None:
            model[key] = getattr(args, key)
    names = [f.name for f in dataclasses.fields(TrainConfig)]
    overrides = {k: getattr(args, k) for k in names if hasattr(args, k) and k not in ("preset", "model")}
    overrides.update(model=model, resume=args.resume or None)
    if init_bundle:
        overrides.update({k: v for k, v in finetune_defaults(preset).items() if overrides.get(k) is None})
    if args.no_compile:
        overrides["compile"] = False
    if args.no_bf16:
        overrides["bf16"] = False
    cfg = TrainConfig.from_preset(args.preset, **overrides)
    summary = run_training(cfg, command="quill " + shlex.join(sys.argv[1:]))
    return _summary_report(summary)


def _summary_report(summary: dict) -> Report:
    """A training summary without its history and config; nothing on the ranks other than 0 under torchrun."""
    if "steps" not in summary:
        return Report(None, None)
    shown = {k: v for k, v in summary.items() if k not in ("history", "train_config")}
    return Report(shown, json.dumps(shown, indent=2))


DOC_OVERRIDES = [
    ("batch-size", positive_int, "examples per step"),
    ("block-size", positive_int, "tokens per MLM window"),
    ("max-src", positive_int, "code tokens kept from the start of a function"),
    ("max-pairs-per-package", count, "finetune: (function, docstring) pairs kept per package, a seeded choice "
     "(0 = no cap)"),
    ("eval-items", count, "val windows (mlm) or pairs (finetune); 0 = 64 windows / all pairs"),
    ("label-smoothing", fraction, "label smoothing of the train loss"),
    ("stream-mb", non_negative, "mlm: MB of train code tokenized (0 = all)"),
    ("n-encoder-layers", positive_int, "encoder layers"),
    ("n-layers", positive_int, "decoder layers"),
    *SHARED_OVERRIDES,
]


def add_train_doc(sub) -> None:
    p = add_command(sub, "train-doc", "train the docstring model: --stage mlm (encoder) or finetune (pairs)")
    p.add_argument("--stage", choices=("mlm", "finetune"), required=True,
                   help="mlm: pretrain the encoder on code; finetune: train on (function, docstring) pairs")
    p.add_argument("--preset", default="small", choices=DOC_PRESETS,
                   help="tiny: seconds, for tests; small: the shipped model's size")
    p.add_argument("--init-encoder", default=None, metavar="CHECKPOINT",
                   help="finetune: start the embedding and encoder from this MLM checkpoint (e.g. runs/doc_mlm/final)")
    p.add_argument("--corpus", default="runs/corpus", help="corpus folder made by `quill corpus`")
    p.add_argument("--tokenizer", default="runs/tokenizer.json", help="tokenizer made by `quill tokenizer`")
    p.add_argument("--out", default="runs/doc", help="output folder")
    _add_overrides(p, DOC_OVERRIDES)
    p.add_argument("--no-bf16", action="store_true", help="train in fp32")
    add_json(p)
    p.set_defaults(func=cmd_train_doc)


def cmd_train_doc(args) -> Report:
    require_train_extra()
    require_dir(args.corpus, "--corpus", CORPUS_HINT)
    require_file(args.tokenizer, "--tokenizer", TOKENIZER_HINT)
    if args.init_encoder:
        require_dir(args.init_encoder, "--init-encoder", "give the final/ folder of a `quill train-doc --stage mlm`")
    from model.train_doc import DocTrainConfig, train_doc
    model = {k: getattr(args, k) for k in ("d_model", "n_heads", "d_ff", "n_encoder_layers", "n_layers")}
    names = [f.name for f in dataclasses.fields(DocTrainConfig) if f.name not in ("preset", "model")]
    overrides = {k: getattr(args, k) for k in names if hasattr(args, k)}
    cfg = DocTrainConfig.from_preset(args.preset, model=model, **overrides, bf16=False if args.no_bf16 else None)
    return _summary_report(train_doc(cfg, command="quill " + shlex.join(sys.argv[1:])))


def add_export(sub) -> None:
    p = add_command(sub, "export", "export a checkpoint to an ONNX bundle (parity-checked, int8)")
    p.add_argument("--checkpoint", default="runs/lm/final", help="folder with model.safetensors + config.json")
    p.add_argument("--tokenizer", default="runs/tokenizer.json", help="the tokenizer the model was trained with")
    p.add_argument("--corpus", default="runs/corpus", help="corpus folder: its summary goes into the manifest "
                   "and its test split measures next-token accuracy ('' to skip)")
    p.add_argument("--train-summary", default=None,
                   help="train_summary.json (default: next to the checkpoint)")
    p.add_argument("--out", default="runs/bundle", help="bundle folder to write")
    p.add_argument("--fp32", action="store_true", help="ship fp32 instead of int8")
    p.add_argument("--trained-on", action="append", default=[], metavar="CORPUS",
                   help="another corpus folder the weights were trained on (repeatable; e.g. the one of the model "
                        "--init started from): its train files join the bundle's corpus_hashes.txt")
    p.add_argument("--name", default="quill-code-lm", help="the bundle's name in its manifest")
    p.add_argument("--docstring-checkpoint", default=None, metavar="DIR",
                   help="also add this docstring model (a Seq2Seq checkpoint folder) to the bundle")
    p.add_argument("--docstring-from", default=None, metavar="BUNDLE",
                   help="carry this bundle's docstring model over unchanged (same tokenizer; e.g. lsp_server/bundle)")
    add_json(p)
    p.set_defaults(func=cmd_export)


def cmd_export(args) -> Report:
    require_train_extra()
    ckpt = require_dir(args.checkpoint, "--checkpoint", "train one with `quill train`")
    require_file(ckpt / "config.json", "--checkpoint", "give a folder with model.safetensors + config.json")
    require_file(args.tokenizer, "--tokenizer", TOKENIZER_HINT)
    if args.docstring_checkpoint:
        require_dir(args.docstring_checkpoint, "--docstring-checkpoint")
    if args.docstring_checkpoint and args.docstring_from:
        raise UserError("give --docstring-checkpoint or --docstring-from, not both")
    base = None
    if args.docstring_from:
        from lsp_server.runtime.bundles import load_bundle
        require_file(Path(args.docstring_from) / "manifest.json", "--docstring-from", "give a bundle folder")
        base = load_bundle(args.docstring_from).manifest  # verified: the files carried are the ones it signs
        if "docstring" not in base:
            raise UserError(f"--docstring-from {args.docstring_from}: that bundle has no docstring model")
    from export.bundle import build_bundle
    summary = Path(args.train_summary) if args.train_summary else ckpt.parent / "train_summary.json"
    manifest = build_bundle(ckpt, Path(args.tokenizer), Path(args.out), Path(args.corpus) if args.corpus else None,
                            summary, int8=not args.fp32, name=args.name,
                            trained_on=tuple(Path(t) for t in args.trained_on))
    if args.docstring_checkpoint:
        from export.doc_bundle import add_docstring_model
        manifest = add_docstring_model(Path(args.docstring_checkpoint), Path(args.out), int8=not args.fp32)
    if base is not None:
        from export.upgrade import carry_docstring_model
        from lsp_server.bundle_format import write_manifest
        carry_docstring_model(Path(args.docstring_from), Path(args.out), base, manifest)
        write_manifest(Path(args.out), manifest)
    return _bundle_report(args.out, manifest, manifest["metrics"])


def _bundle_report(out: str, manifest: dict, metrics: dict, what: str = "") -> Report:
    size = sum(f["bytes"] for f in manifest["files"].values())
    data = {"bundle": out, "name": manifest.get("name"), "bytes": size, "metrics": metrics}
    return Report(data, f"bundle {out}: {what}{size / 1e6:.1f} MB, metrics {json.dumps(metrics)}")


def add_export_doc(sub) -> None:
    p = add_command(sub, "export-doc", "add a docstring model (Seq2Seq checkpoint) to an existing bundle")
    p.add_argument("--checkpoint", required=True, help="folder with model.safetensors + config.json, or a "
                   "`quill train-doc` output folder (its final/ checkpoint)")
    p.add_argument("--bundle", default="runs/bundle", help="bundle folder whose manifest is rewritten")
    p.add_argument("--train-summary", default=None,
                   help="train_summary.json (default: in the checkpoint folder or next to it)")
    p.add_argument("--fp32", action="store_true", help="ship fp32 instead of int8")
    add_json(p)
    p.set_defaults(func=cmd_export_doc)


def cmd_export_doc(args) -> Report:
    require_train_extra()
    require_dir(args.checkpoint, "--checkpoint", "train one with `quill train-doc`")
    require_file(Path(args.bundle) / "manifest.json", "--bundle", "build the bundle first with `quill export`")
    from export.doc_bundle import add_docstring_model
    manifest = add_docstring_model(Path(args.checkpoint), Path(args.bundle), int8=not args.fp32,
                                   train_summary=Path(args.train_summary) if args.train_summary else None)
    section = manifest["docstring"]
    return _bundle_report(args.bundle, manifest, section["metrics"],
                          f"docstring model ({section['params']} params, {section['precision']}), ")
