"""The `quill` command: corpus, tokenizer, training, export, evaluation, demo and the server.

The application layer: the one package that imports all the others. Training subcommands import torch
lazily; `serve` never does (it runs lsp_server.app, as `python -m lsp_server` does).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import sys
from pathlib import Path


def _add_corpus(sub) -> None:
    p = sub.add_parser("corpus", help="collect Python files into train/val/test splits")
    p.add_argument("--out", default="runs/corpus", help="output folder (default: runs/corpus)")
    p.add_argument("--source", action="append", default=[], metavar="DIR",
                   help="extra folder of Python files (repeatable); the standard library is always included "
                        "unless --no-stdlib")
    p.add_argument("--no-stdlib", action="store_true", help="do not include the interpreter's standard library")
    p.add_argument("--max-files", type=int, default=None, help="stop after this many kept files")
    p.add_argument("--holdout", action="append", default=[], metavar="DIR",
                   help="an evaluation folder (repeatable): its files and near-copies of them are never in the corpus")
    p.add_argument("--max-package-mb", type=float, default=0.0,
                   help="cap each top-level package at this many MB so one big library cannot dominate (0 = no cap)")
    p.add_argument("--val-pct", type=int, default=5)
    p.add_argument("--test-pct", type=int, default=5)
    p.set_defaults(func=cmd_corpus)


def cmd_corpus(args) -> int:
    from model.corpus import build_corpus, default_sources, format_summary
    sources = ([] if args.no_stdlib else default_sources()) + [Path(s) for s in args.source]
    if not sources:
        raise SystemExit("quill corpus: no sources (give --source DIR or drop --no-stdlib)")
    summary = build_corpus(sources, Path(args.out), args.val_pct, args.test_pct, args.max_files,
                           holdout=[Path(h) for h in args.holdout], max_package_mb=args.max_package_mb)
    print(format_summary(summary.to_json()))
    print(f"wrote {args.out}/{{train,val,test}}.jsonl and summary.json")
    return 0


def _add_tokenizer(sub) -> None:
    p = sub.add_parser("tokenizer", help="train the byte-level BPE tokenizer on the train split")
    p.add_argument("--corpus", default="runs/corpus")
    p.add_argument("--out", default="runs/tokenizer.json")
    p.add_argument("--vocab-size", type=int, default=8192)
    p.set_defaults(func=cmd_tokenizer)


def cmd_tokenizer(args) -> int:
    from model.corpus import load_split
    from model.tokenizer import decode, encode, train_tokenizer
    records = load_split(args.corpus, "train")
    if not records:
        raise SystemExit(f"quill tokenizer: the train split of {args.corpus} is empty")
    tok = train_tokenizer((r["text"] for r in records), vocab_size=args.vocab_size)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    tok.save(args.out)
    sample = records[0]["text"][:2000]
    ok = decode(tok, encode(tok, sample)) == sample
    print(f"vocab {tok.get_vocab_size()} -> {args.out}; round trip on a sample: {'exact' if ok else 'BROKEN'}")
    return 0 if ok else 1


def _add_train(sub) -> None:
    from_fields = sub.add_parser("train", help="train the code LM (needs the [train] extra)")
    from_fields.add_argument("--preset", default="small", help="tiny (seconds, for tests) or small (default model)")
    for name, typ in [("corpus", str), ("tokenizer", str), ("out", str), ("batch-size", int), ("block-size", int),
                      ("lr", float), ("warmup-steps", int), ("max-steps", int), ("max-minutes", float),
                      ("eval-interval", int), ("checkpoint-interval", int), ("fim-rate", float),
                      ("seed", int), ("threads", int), ("d-model", int), ("n-layers", int), ("n-heads", int),
                      ("d-ff", int)]:
        from_fields.add_argument(f"--{name}", type=typ, default=None)
    from_fields.add_argument("--no-compile", action="store_true", help="skip torch.compile")
    from_fields.add_argument("--no-bf16", action="store_true", help="train in fp32")
    from_fields.add_argument("--resume", action="store_true", help="continue from <out>/ckpt")
    from_fields.add_argument("--init", default=None, metavar="CHECKPOINT|BUNDLE",
                             help="start from these weights with a fresh optimizer: a checkpoint folder, or a "
                                  "bundle (weights recovered from its ONNX, its tokenizer used, and a new bundle "
                                  "exported to <out>/bundle), e.g. --init lsp_server/bundle")
    from_fields.add_argument("--source", action="append", default=[], metavar="DIR",
                             help="build the corpus from this folder of your code into <out>/corpus (repeatable; "
                                  "replaces --corpus)")
    from_fields.add_argument("--holdout", action="append", default=[], metavar="DIR",
                             help="with --source: keep this folder's files and near-copies out of the corpus")
    from_fields.set_defaults(func=cmd_train)


def cmd_train(args) -> int:
    from lsp_server.bundle_format import is_bundle
    from model.finetune import finetune_defaults
    from model.train import PRESETS, TrainConfig

    from .finetune import run_training
    preset = PRESETS.get(args.preset)
    if preset is None:
        raise SystemExit(f"quill train: unknown preset {args.preset!r}; choose from {sorted(PRESETS)}")
    model = dict(preset["model"])
    for key in ("d_model", "n_layers", "n_heads", "d_ff"):
        if getattr(args, key) is not None:
            model[key] = getattr(args, key)
    names = [f.name for f in dataclasses.fields(TrainConfig)]
    overrides = {k: getattr(args, k) for k in names if hasattr(args, k) and k not in ("preset", "model")}
    overrides.update(model=model, resume=args.resume or None)
    if args.init and is_bundle(args.init):
        overrides.update({k: v for k, v in finetune_defaults(preset).items() if overrides.get(k) is None})
    if args.no_compile:
        overrides["compile"] = False
    if args.no_bf16:
        overrides["bf16"] = False
    cfg = TrainConfig.from_preset(args.preset, **overrides)
    if args.holdout and not args.source:
        raise SystemExit("quill train: --holdout applies to a corpus built with --source")
    summary = run_training(cfg, command="quill " + shlex.join(sys.argv[1:]))
    if "steps" in summary:  # under torchrun only rank 0 reports
        print(json.dumps({k: v for k, v in summary.items() if k not in ("history", "train_config")}, indent=2))
    return 0


def _add_train_doc(sub) -> None:
    p = sub.add_parser("train-doc", help="train the docstring model: --stage mlm (encoder) or finetune (pairs)")
    p.add_argument("--stage", choices=("mlm", "finetune"), required=True)
    p.add_argument("--preset", default="small", help="tiny (seconds, for tests) or small (default model)")
    p.add_argument("--init-encoder", default=None, metavar="CHECKPOINT",
                   help="finetune: start the embedding and encoder from this MLM checkpoint (e.g. runs/doc_mlm/final)")
    for name, typ in [("corpus", str), ("tokenizer", str), ("out", str), ("batch-size", int), ("block-size", int),
                      ("max-src", int), ("lr", float), ("warmup-steps", int), ("max-steps", int),
                      ("max-minutes", float), ("eval-interval", int), ("eval-items", int),
                      ("checkpoint-interval", int), ("label-smoothing", float), ("stream-mb", float),
                      ("seed", int), ("threads", int), ("d-model", int), ("n-heads", int), ("d-ff", int),
                      ("n-encoder-layers", int), ("n-layers", int)]:
        p.add_argument(f"--{name}", type=typ, default=None)
    p.add_argument("--no-bf16", action="store_true", help="train in fp32")
    p.set_defaults(func=cmd_train_doc)


def cmd_train_doc(args) -> int:
    from model.train_doc import DocTrainConfig, train_doc
    model = {k: getattr(args, k) for k in ("d_model", "n_heads", "d_ff", "n_encoder_layers", "n_layers")}
    names = [f.name for f in dataclasses.fields(DocTrainConfig) if f.name not in ("preset", "model")]
    overrides = {k: getattr(args, k) for k in names if hasattr(args, k)}
    try:
        cfg = DocTrainConfig.from_preset(args.preset, model=model, **overrides, bf16=False if args.no_bf16 else None)
    except ValueError as exc:
        raise SystemExit(f"quill train-doc: {exc}")
    summary = train_doc(cfg, command="quill " + shlex.join(sys.argv[1:]))
    print(json.dumps({k: v for k, v in summary.items() if k not in ("history", "train_config")}, indent=2))
    return 0


def _add_export(sub) -> None:
    p = sub.add_parser("export", help="export a checkpoint to an ONNX bundle (parity-checked, int8)")
    p.add_argument("--checkpoint", default="runs/lm/final", help="folder with model.safetensors + config.json")
    p.add_argument("--tokenizer", default="runs/tokenizer.json")
    p.add_argument("--corpus", default="runs/corpus", help="corpus folder: its summary goes into the manifest "
                   "and its test split measures next-token accuracy ('' to skip)")
    p.add_argument("--train-summary", default=None, help="train_summary.json (default: next to the checkpoint)")
    p.add_argument("--out", default="runs/bundle")
    p.add_argument("--fp32", action="store_true", help="ship fp32 instead of int8")
    p.add_argument("--trained-on", action="append", default=[], metavar="CORPUS",
                   help="another corpus folder the weights were trained on (repeatable; e.g. the one of the model "
                        "--init started from): its train files join the bundle's corpus_hashes.txt")
    p.add_argument("--name", default="quill-code-lm")
    p.add_argument("--docstring-checkpoint", default=None, metavar="DIR",
                   help="also add this docstring model (a Seq2Seq checkpoint folder) to the bundle")
    p.set_defaults(func=cmd_export)


def cmd_export(args) -> int:
    from export.bundle import build_bundle
    ckpt = Path(args.checkpoint)
    summary = Path(args.train_summary) if args.train_summary else ckpt.parent / "train_summary.json"
    manifest = build_bundle(ckpt, Path(args.tokenizer), Path(args.out), Path(args.corpus) if args.corpus else None,
                            summary, int8=not args.fp32, name=args.name,
                            trained_on=tuple(Path(t) for t in args.trained_on))
    if args.docstring_checkpoint:
        from export.doc_bundle import add_docstring_model
        manifest = add_docstring_model(Path(args.docstring_checkpoint), Path(args.out), int8=not args.fp32)
    size = sum(f["bytes"] for f in manifest["files"].values())
    print(f"bundle {args.out}: {size / 1e6:.1f} MB, metrics {json.dumps(manifest['metrics'])}")
    return 0


def _add_export_doc(sub) -> None:
    p = sub.add_parser("export-doc", help="add a docstring model (Seq2Seq checkpoint) to an existing bundle")
    p.add_argument("--checkpoint", required=True, help="folder with model.safetensors + config.json, or a "
                   "`quill train-doc` output folder (its final/ checkpoint)")
    p.add_argument("--bundle", default="runs/bundle", help="bundle folder whose manifest is rewritten")
    p.add_argument("--train-summary", default=None,
                   help="train_summary.json (default: in the checkpoint folder or next to it)")
    p.add_argument("--fp32", action="store_true", help="ship fp32 instead of int8")
    p.add_argument("--trained-on", action="append", default=[], metavar="CORPUS",
                   help="another corpus folder the weights were trained on (repeatable; e.g. the one of the model "
                        "--init started from): its train files join the bundle's corpus_hashes.txt")
    p.set_defaults(func=cmd_export_doc)


def cmd_export_doc(args) -> int:
    from export.doc_bundle import add_docstring_model
    manifest = add_docstring_model(Path(args.checkpoint), Path(args.bundle), int8=not args.fp32,
                                   train_summary=Path(args.train_summary) if args.train_summary else None)
    section = manifest["docstring"]
    print(f"bundle {args.bundle}: docstring model ({section['params']} params, {section['precision']}), "
          f"metrics {json.dumps(section['metrics'])}")
    return 0


def _add_serve(sub) -> None:
    from lsp_server.app import add_serve_arguments
    p = add_serve_arguments(sub.add_parser("serve", help="run the language server (stdio by default)"))
    p.set_defaults(func=cmd_serve)


def cmd_serve(args) -> int:
    from lsp_server.app import serve
    return serve(args)


def _add_complete(sub) -> None:
    p = sub.add_parser("complete", help="print the suggestion at FILE LINE COL (1-based line and column)")
    p.add_argument("file")
    p.add_argument("line", type=int)
    p.add_argument("col", type=int, help="1-based column in characters")
    p.add_argument("--bundle", default=None)
    p.add_argument("--json", action="store_true", help="print text, stop reason and timings as JSON")
    p.set_defaults(func=cmd_complete)


def read_source(path: str) -> str:
    """A source file's text; bytes that are not UTF-8 become U+FFFD (said once on stderr), never a crash."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise SystemExit(f"quill complete: cannot read {path}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        print(f"quill complete: {path} is not valid UTF-8 ({exc.reason} at byte {exc.start}); "
              "invalid bytes read as U+FFFD", file=sys.stderr)
        return data.decode("utf-8", "replace")


def cmd_complete(args) -> int:
    import time

    from lsp_server.errors import QuillError
    from lsp_server.inline.pipeline import suggest
    from lsp_server.runtime.engine import Engine
    from lsp_server.syntax.documents import Document
    from lsp_server.syntax.positions import Position, PositionEncoding
    text = read_source(args.file)
    if args.line < 1 or args.col < 1:
        raise SystemExit("quill complete: LINE and COL are 1-based")
    try:
        engine = Engine.load(args.bundle)
    except QuillError as exc:
        raise SystemExit(f"quill complete: {exc}")
    doc = Document(Path(args.file).resolve().as_uri(), text)
    offset = doc.offset_at(Position(args.line - 1, args.col - 1), PositionEncoding.UTF32)
    started = time.perf_counter()
    try:
        result = suggest(doc, offset, engine)
    except QuillError as exc:  # InputTooComplex: a position beyond lsp_server.syntax.limits' limits
        print(f"quill complete: no suggestion: {exc}", file=sys.stderr)
        result = None
    ms = (time.perf_counter() - started) * 1000
    if args.json:
        out = {"text": result.text if result else "", "ms": round(ms, 2)}
        if result:
            g = result.generation
            out.update(stop_reason=g.stop_reason, tokens=len(g.token_ids), prompt_tokens=g.prompt_tokens,
                       prompt_ms=round(g.prompt_ms, 2), decode_ms=round(g.decode_ms, 2),
                       mean_logprob=round(g.mean_logprob, 3), mode=result.mode)
        print(json.dumps(out))
    else:
        print(result.text if result else "")
    return 0


def _add_demo(sub) -> None:
    p = sub.add_parser("demo", help="start the server with the shipped model and show inline completions")
    p.add_argument("--bundle", default=None)
    p.add_argument("--file", default=None, help="a Python file to use instead of the bundled sample")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args) -> int:
    from .demo import main
    return main(args.bundle, args.file)


def _add_eval(sub) -> None:
    p = sub.add_parser("eval", help="measure suggestion quality of a bundle on a folder of Python files")
    p.add_argument("--corpus", required=True, metavar="DIR", help="folder of .py files (never the training corpus)")
    p.add_argument("--bundle", default=None, help="model bundle folder (default: the shipped model)")
    p.add_argument("--max-files", type=int, default=200, help="files sampled from DIR (default 200)")
    p.add_argument("--seed", type=int, default=0, help="seed of every random choice (default 0)")
    p.add_argument("--docstring-model", choices=("auto", "seq2seq", "lm"), default="auto",
                   help="seq2seq: the bundle's docstring model; lm: the code LM's summary line; "
                        "auto (default): seq2seq when the bundle has one")
    p.add_argument("--max-tokens", type=int, default=60_000, help="next-token positions scored (default 60000)")
    p.add_argument("--line-samples", type=int, default=400, help="line cuts completed (default 400)")
    p.add_argument("--docstring-samples", type=int, default=200, help="docstrings generated (default 200)")
    p.add_argument("--settings", default=None, metavar="JSON",
                   help='server settings to measure, as the editor sends them, e.g. \'{"inline": {"prefix_tokens": 512}}\'')
    p.add_argument("--codegen-samples", type=int, default=150, help="function bodies generated (default 150)")
    p.add_argument("--project-context", choices=("on", "off"), default="on",
                   help="on (default): each top-level folder of DIR is a project whose other files steer decoding, "
                        "as the server's workspace index would; the JSON also has *_no_project numbers")
    p.add_argument("--json", default=None, metavar="OUT", help="also write every number and the config to OUT")
    p.set_defaults(func=cmd_eval)


def _eval_settings(text: str | None):
    """The server settings `quill eval --settings JSON` measures; a bad setting is an error, not a default."""
    from lsp_server.config import parse_config
    try:
        data = json.loads(text) if text else None
    except json.JSONDecodeError as exc:
        raise SystemExit(f"quill eval: --settings is not JSON: {exc}")
    config, problems = parse_config(data)
    if problems:
        raise SystemExit(f"quill eval: --settings: {'; '.join(problems)}")
    return config


def cmd_eval(args) -> int:
    from lsp_server.errors import QuillError
    from quill.evaluation.runner import (
        EvalOptions,
        format_table,
        run_eval,
        write_result,
    )
    from quill.evaluation.tasks import TokenOptions
    counts = {"--max-files": args.max_files, "--max-tokens": args.max_tokens, "--line-samples": args.line_samples,
              "--docstring-samples": args.docstring_samples, "--codegen-samples": args.codegen_samples}
    negative = [name for name, value in counts.items() if value < 0]
    if negative or args.max_files == 0:
        raise SystemExit(f"quill eval: {', '.join(negative) or '--max-files'} must be positive")
    settings = _eval_settings(args.settings)
    options = EvalOptions(Path(args.corpus), Path(args.bundle) if args.bundle else None, args.max_files, args.seed,
                          args.docstring_model, TokenOptions(max_tokens=args.max_tokens),
                          args.line_samples, args.docstring_samples, args.codegen_samples, settings=settings,
                          project_context=args.project_context == "on")
    try:
        result = run_eval(options)
    except QuillError as exc:  # EvalOverlap, EvalError, BundleCorrupt, ModelUnavailable
        raise SystemExit(f"quill eval: {exc}")
    print(format_table(result))
    if args.json:
        write_result(result, Path(args.json))
        print(f"wrote {args.json}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argparse tree of every subcommand."""
    parser = argparse.ArgumentParser(prog="quill", description="Quill: a local AI code assistant language server")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_corpus(sub)
    _add_tokenizer(sub)
    _add_train(sub)
    _add_train_doc(sub)
    _add_export(sub)
    _add_export_doc(sub)
    _add_serve(sub)
    _add_complete(sub)
    _add_demo(sub)
    _add_eval(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `quill` console script."""
    args = build_parser().parse_args(argv)
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
