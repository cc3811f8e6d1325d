"""The engine alone: PyTorch eager (KV cache) vs onnxruntime fp32 vs int8, same model, same run.

    python -m benchmarks.engine --checkpoint runs/lm/final [--bundle DIR] [--threads 2] [--runs 20]

The checkpoint (config.json + model.safetensors) is exported to fp32 ONNX in a temporary folder and
quantized to int8 there, so all three runtimes run the same weights; the bundle's own int8 model (the one
the server ships) is timed too. Then onnxruntime settings for two cores: threads and spinning.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PROMPT, NEW = 256, 24


def _median_runs(fn, runs: int) -> tuple[float, float]:
    """Median (prompt ms, per-token ms) of fn() -> (prompt s, decode s), after two warm-up runs."""
    prompts, tokens = [], []
    for r in range(runs + 2):
        p, d = fn()
        if r >= 2:
            prompts.append(p * 1000)
            tokens.append(d * 1000 / NEW)
    return statistics.median(prompts), statistics.median(tokens)


def time_torch(model, vocab: int, runs: int) -> tuple[float, float]:
    """PyTorch eager with the KV cache: a 256-token prompt (last-position logits), then 24 greedy steps."""
    import torch
    rng = np.random.default_rng(0)

    @torch.no_grad()
    def once():
        ids = torch.from_numpy(rng.integers(20, vocab, size=(1, PROMPT)))
        t0 = time.perf_counter()
        logits, past = model(ids, past=model.empty_past(1), last_only=True)
        t1 = time.perf_counter()
        for _ in range(NEW):
            logits, past = model(logits.argmax(-1, keepdim=True), past=past, last_only=True)
        return t1 - t0, time.perf_counter() - t1
    return _median_runs(once, runs)


def time_session(session, n_layers: int, n_heads: int, head_dim: int, vocab: int, runs: int,
                 batch: int = 1) -> tuple[float, float]:
    """onnxruntime: the same prompt and steps; `batch` rows decode together (alternatives)."""
    names = [i.name for i in session.get_inputs()]
    outputs = [o.name for o in session.get_outputs()]
    rng = np.random.default_rng(0)

    def once():
        past = [np.zeros((1, n_heads, 0, head_dim), np.float32) for _ in range(2 * n_layers)]
        ids = rng.integers(20, vocab, size=(1, PROMPT)).astype(np.int64)
        t0 = time.perf_counter()
        out = session.run(outputs, dict(zip(names, [ids, *past])))
        t1 = time.perf_counter()
        logits, past = np.repeat(out[0], batch, axis=0), [np.repeat(p, batch, axis=0) for p in out[1:]]
        for _ in range(NEW):
            out = session.run(outputs, dict(zip(names, [logits.argmax(-1)[:, None].astype(np.int64), *past])))
            logits, past = out[0], out[1:]
        return t1 - t0, time.perf_counter() - t1
    return _median_runs(once, runs)


def check_last_position_only(session, vocab: int) -> str:
    """The prompt pass returns logits for the last position only: (1, V), not (1, T, V)."""
    names = [i.name for i in session.get_inputs()]
    shape = session.get_inputs()[1].shape
    heads, head_dim = shape[1], shape[3]
    past = [np.zeros((1, heads, 0, head_dim), np.float32) for _ in names[1:]]
    logits = session.run(["logits"], dict(zip(names, [np.ones((1, 16), np.int64), *past])))[0]
    if logits.shape != (1, vocab):
        raise SystemExit(f"the ONNX prompt pass returns logits of shape {logits.shape}, not (1, {vocab})")
    return f"logits of a 16-token prompt pass: shape {logits.shape} (last position only)"


def sessions(checkpoint: Path, bundle: str | None, threads: int, tmp: Path):
    """(model, {label: onnxruntime session}) for fp32, int8 of this checkpoint, and the bundle's int8."""
    import onnxruntime as ort

    from export.onnx_export import export_decoder, quantize_int8
    from lsp_server.runtime.bundles import load_bundle
    from lsp_server.runtime.ort_session import session_options
    from model.transformer import load_model
    model = load_model(checkpoint)
    fp32 = export_decoder(model, tmp / "fp32.onnx")
    int8 = quantize_int8(fp32, tmp / "int8.onnx")
    make = lambda src: ort.InferenceSession(src, session_options(threads), providers=["CPUExecutionProvider"])  # noqa: E731
    found = {"onnxruntime fp32": make(str(fp32)), "onnxruntime int8": make(str(int8))}
    shipped = load_bundle(bundle)
    found[f"onnxruntime int8, shipped bundle ({shipped.name})"] = make(shipped.onnx_bytes)
    return model, found


def tuning_table(src: bytes | str, dims: tuple, runs: int) -> list[str]:
    """int8 with 1 or 2 threads, spinning on or off: prompt ms, per-token ms at batch 1 and 3."""
    import onnxruntime as ort

    from lsp_server.runtime.ort_session import session_options
    rows = ["| threads | spinning | 256-token prompt ms | ms/token, 1 row | ms/token, 3 rows |", "|---|---|---|---|---|"]
    for threads in (1, 2):
        for spinning in (False, True):
            session = ort.InferenceSession(src, session_options(threads, spinning), providers=["CPUExecutionProvider"])
            prompt, one = time_session(session, *dims, runs)
            _, three = time_session(session, *dims, runs, batch=3)
            rows.append(f"| {threads} | {'on' if spinning else 'off'} | {prompt:.1f} | {one:.2f} | {three:.2f} |")
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=None, help="a checkpoint folder (config.json, model.safetensors)")
    parser.add_argument("--bundle", default=None, help="the served bundle (default: the shipped one)")
    parser.add_argument("--threads", type=int, default=2, help="threads for PyTorch and onnxruntime")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--no-tuning", action="store_true")
    args = parser.parse_args(argv)
    ckpt = Path(args.checkpoint) if args.checkpoint else None
    if ckpt is None or not (ckpt / "config.json").exists() or not (ckpt / "model.safetensors").exists():
        print("benchmarks.engine compares PyTorch with onnxruntime on the same weights, so it needs the PyTorch "
              "checkpoint the bundle was exported from: --checkpoint DIR with config.json and model.safetensors "
              "(e.g. runs/lm/final after `quill train`; a bundle holds only ONNX).", file=sys.stderr)
        return 2
    import torch
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        model, found = sessions(ckpt, args.bundle, args.threads, Path(tmp))
        cfg = model.cfg
        dims = (cfg.n_layers, cfg.n_heads, cfg.head_dim, cfg.vocab_size)
        print(check_last_position_only(found["onnxruntime int8"], cfg.vocab_size))
        rows = {"PyTorch eager, KV cache": time_torch(model, cfg.vocab_size, args.runs)}
        rows.update({label: time_session(s, *dims, args.runs) for label, s in found.items()})
        torch_prompt, torch_token = rows["PyTorch eager, KV cache"]
        print(f"\n{cfg.n_layers} layers, d={cfg.d_model}, vocab {cfg.vocab_size}; {PROMPT}-token prompt, {NEW} new "
              f"tokens, batch 1, {args.threads} threads, median of {args.runs}\n")
        print("| runtime | prompt ms | ms per new token | speed-up per token vs PyTorch | speed-up on the prompt |")
        print("|---|---|---|---|---|")
        for label, (prompt, token) in rows.items():
            print(f"| {label} | {prompt:.1f} | {token:.2f} | {torch_token / token:.1f}x | {torch_prompt / prompt:.1f}x |")
        if not args.no_tuning:
            print("\nonnxruntime int8 (this checkpoint) settings:\n")
            print("\n".join(tuning_table(str(Path(tmp) / "int8.onnx"), dims, args.runs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
