"""Size and speed of model shapes on this machine: training tokens/s, serving ms/token, parameters.

    python -m benchmarks.model_shapes --corpus /work/runs/xf_corpus --out benchmarks/results/model_shapes.json
        [--presets small medium large] [--steps 20] [--warmup 3] [--threads 1] [--runs 10]

For each preset of model/train.py (randomly initialised; speed does not depend on the weights):
  * training: model/train.py's own step (`_step`: AdamW, grad clip, the preset's FIM/cross-file windows) on
    batches from the corpus's train split, float32 (bf16 off), torch.compile on, `--threads` torch threads;
    tokens/s over `--steps` timed steps after `--warmup` untimed ones (the first of which compiles);
  * serving: the model saved as a checkpoint and exported the way `quill export` does (export.bundle:
    ONNX, parity, int8) into a temporary bundle, loaded by the server's Engine; a 256-token prompt then
    24 greedy tokens (benchmarks.latency.engine_timing), median of `--runs`, with 1 onnxruntime thread and
    with the server's default (min(2, cores)).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_TOKENIZER = "lsp_server/bundle/tokenizer.json"
TRAIN_FILES = 300  # train-split files tokenized for the timing batches (the whole split takes minutes)


def quiet(*_args) -> None:
    pass


def cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo (platform's otherwise)."""
    info = Path("/proc/cpuinfo")
    if info.is_file():
        for line in info.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def train_config(preset: str, corpus: str, tokenizer: str, out: str, threads: int, block: int, batch: int,
                 compile_model: bool = True):
    """The preset's TrainConfig with the measurement's overrides (fp32, compiled, fixed batch shape)."""
    from model.train import TrainConfig
    return TrainConfig.from_preset(preset, corpus=corpus, tokenizer=tokenizer, out=out, threads=threads,
                                   block_size=block, batch_size=batch, bf16=False, compile=compile_model)


def training_run(cfg, train_files: int = TRAIN_FILES):
    """A model/train.Run of a new model on the first `train_files` train files (no val windows)."""
    import torch

    from model.corpus import load_split
    from model.crossfile import CrossFileSpec, training_stream
    from model.data import FimSpec, chunk_range
    from model.distributed import Dist
    from model.tokenizer import load_tokenizer
    from model.train import Run, TrainState, make_optimizer
    from model.transformer import DecoderLM, ModelConfig
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    tok = load_tokenizer(cfg.tokenizer)
    records = load_split(cfg.corpus, "train")[:train_files]
    model = DecoderLM(ModelConfig(vocab_size=tok.get_vocab_size(), **cfg.model)).train()
    step_fn = torch.compile(model) if cfg.compile else model
    fim = FimSpec(rate=cfg.fim_rate, spm_rate=cfg.spm_rate, chunk_chars=chunk_range(cfg.block_size))
    cross_file = CrossFileSpec(rate=cfg.cross_file_rate)
    run = Run(cfg, Dist(), model, step_fn, make_optimizer(model, cfg), TrainState(), tok, records, [], fim,
              cross_file, quiet)
    run.stream = training_stream(records, tok, cfg.seed, fim, cross_file, quiet)
    return run


def training_speed(run, steps: int, warmup: int) -> dict:
    """Tokens/s of model/train.py's step over `steps` timed steps after `warmup` untimed ones."""
    from model.train import _step
    tokens = run.cfg.batch_size * run.cfg.block_size
    t0 = time.perf_counter()
    for i in range(warmup):
        run.state.step = i
        _step(run, run.cfg.lr)
    warm_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in range(steps):
        run.state.step = warmup + i
        loss = _step(run, run.cfg.lr)
    measured = time.perf_counter() - t0
    return {"tokens_per_s": steps * tokens / measured, "s_per_step": measured / steps,
            "warmup_s": warm_s, "last_loss": loss}


def serving_speed(model, tokenizer: str, threads: list[int], runs: int, work: Path) -> dict:
    """Export the model as `quill export` does (int8 bundle) and time it in the server's Engine per thread count."""
    from benchmarks.latency import engine_timing
    from export.bundle import build_bundle
    from lsp_server.runtime.engine import Engine
    from model.transformer import save_model
    save_model(model, model.cfg, work / "final")
    t0 = time.perf_counter()
    manifest = build_bundle(work / "final", Path(tokenizer), work / "bundle", corpus_dir=None, log=quiet)
    out = {"export_s": time.perf_counter() - t0, "bundle_mb": sum(f["bytes"] for f in manifest["files"].values()) / 1e6,
           "parity_int8_max_abs_diff": manifest["metrics"].get("parity_int8_max_abs_diff")}
    for n in threads:
        engine = Engine.load(work / "bundle", threads=n)
        label = "default" if n == 0 else str(n)
        out[f"ort_threads_{label}"] = engine_timing(engine, runs=runs)
    return out


def measure_shape(preset: str, args, work: Path) -> dict:
    """Parameters, training speed and serving speed of one preset."""
    cfg = train_config(preset, args.corpus, args.tokenizer, str(work), args.threads, args.block, args.batch,
                       compile_model=not args.no_compile)
    run = training_run(cfg, args.train_files)
    row = {"preset": preset, "model": run.model.cfg.to_json(), "params": run.model.num_params(),
           "train": training_speed(run, args.steps, args.warmup)}
    run.model.eval()
    row["serve"] = serving_speed(run.model, args.tokenizer, [1, 0], args.runs, work)
    return row


def table(rows: list[dict]) -> str:
    """A markdown table of the measurements."""
    lines = ["| preset | shape | params | train tok/s (1 thread) | s/step | serve ms/token (1 / default threads) "
             "| 256 + 24 total ms (1 / default) |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        m, t, s = r["model"], r["train"], r["serve"]
        one, dflt = s["ort_threads_1"], s["ort_threads_default"]
        lines.append(f"| {r['preset']} | {m['n_layers']}x{m['d_model']} | {r['params'] / 1e6:.1f}M "
                     f"| {t['tokens_per_s']:,.0f} | {t['s_per_step']:.2f} "
                     f"| {one['per_token_ms']:.2f} / {dflt['per_token_ms']:.2f} "
                     f"| {one['total_ms']:.1f} / {dflt['total_ms']:.1f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True, help="corpus folder (its train split gives the batches)")
    parser.add_argument("--tokenizer", default=DEFAULT_TOKENIZER)
    parser.add_argument("--out", default=None, help="JSON file to write")
    parser.add_argument("--presets", nargs="+", default=["small", "medium", "large"])
    parser.add_argument("--steps", type=int, default=20, help="timed training steps")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (the first compiles)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for training")
    parser.add_argument("--block", type=int, default=512)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--runs", type=int, default=10, help="serving runs (median)")
    parser.add_argument("--train-files", type=int, default=TRAIN_FILES)
    parser.add_argument("--no-compile", action="store_true")
    args = parser.parse_args(argv)
    rows = []
    for preset in args.presets:
        with tempfile.TemporaryDirectory() as tmp:
            rows.append(measure_shape(preset, args, Path(tmp)))
        print(f"{preset}: {json.dumps(rows[-1])}", flush=True)
    print(table(rows))
    if args.out:
        import torch
        result = {"command": "python -m benchmarks.model_shapes " + shlex.join(sys.argv[1:] if argv is None else argv),
                  "machine": {"cpu": cpu_name(), "cores": os.cpu_count(), "torch": torch.__version__},
                  "settings": {k: v for k, v in vars(args).items() if k != "out"}, "shapes": rows}
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
