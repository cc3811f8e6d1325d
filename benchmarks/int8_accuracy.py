"""What int8 costs: next-token accuracy of fp32 vs int8 ONNX of one checkpoint on the test split.

    python -m benchmarks.int8_accuracy --checkpoint runs/lm/final [--corpus runs/corpus] [--windows 40]

Both graphs are exported here from the checkpoint (int8 exactly as `quill export` makes it) and read the
same windows of the test split's token stream (files left to right, as `quill eval` does), in the two
ways the server runs the model: decoding one token per step with the KV cache (every position of each
window), and a prompt pass whose last-position logits predict the next token (random cut points; int8
activation scales then span the whole prompt). PyTorch's accuracy on the same windows is the reference.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

MAX_DIFF_POINTS = 0.5  # int8 stays the default while it costs at most this many points of accuracy


def windows(corpus: Path, tokenizer, block: int, count: int) -> np.ndarray:
    """(count, block + 1) consecutive windows from the start of the test split's token stream."""
    from model.corpus import load_split
    from model.data import plain_stream
    stream = plain_stream([r["text"] for r in load_split(corpus, "test")], tokenizer)
    n = min(count, (len(stream) - 1) // block)
    return np.stack([stream[i * block:i * block + block + 1] for i in range(n)]).astype(np.int64)


def _empty(session) -> list[np.ndarray]:
    shape = session.get_inputs()[1].shape
    return [np.zeros((1, shape[1], 0, shape[3]), np.float32) for _ in session.get_inputs()[1:]]


def decode_predictions(session, rows: np.ndarray) -> np.ndarray:
    """Top-1 predictions, (windows, block), when each window is fed one token per step through the KV cache."""
    names = [i.name for i in session.get_inputs()]
    predicted = np.zeros((len(rows), rows.shape[1] - 1), np.int64)
    for r, row in enumerate(rows):
        past = _empty(session)
        for t in range(len(row) - 1):
            out = session.run(None, dict(zip(names, [row[t:t + 1][None], *past])))
            past = out[1:]
            predicted[r, t] = out[0][0].argmax()
    return predicted


def prompt_predictions(session, rows: np.ndarray, cuts: list[tuple[int, int]]) -> np.ndarray:
    """Top-1 last-position predictions of prompt passes over row[:cut], one per cut."""
    names = [i.name for i in session.get_inputs()]
    return np.array([session.run(["logits"], dict(zip(names, [rows[r, :c][None], *_empty(session)])))[0][0].argmax()
                     for r, c in cuts])


def torch_accuracy(model, rows: np.ndarray) -> float:
    """PyTorch fp32, all positions at once (the reference)."""
    import torch
    with torch.no_grad():
        logits, _ = model(torch.from_numpy(rows[:, :-1]))
    return float((logits.argmax(-1).numpy() == rows[:, 1:]).mean())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--corpus", default="runs/corpus")
    parser.add_argument("--tokenizer", default=None, help="default: the shipped bundle's tokenizer.json")
    parser.add_argument("--windows", type=int, default=40)
    parser.add_argument("--block", type=int, default=256)
    parser.add_argument("--cuts", type=int, default=400)
    args = parser.parse_args(argv)
    import onnxruntime as ort

    from export.onnx_export import export_decoder, quantize_int8
    from lsp_server.runtime.bundles import default_bundle_path
    from lsp_server.runtime.ort_session import session_options
    from model.tokenizer import load_tokenizer
    from model.transformer import load_model
    model = load_model(Path(args.checkpoint))
    tokenizer = load_tokenizer(Path(args.tokenizer or default_bundle_path() / "tokenizer.json"))
    if tokenizer.get_vocab_size() != model.cfg.vocab_size:
        raise SystemExit("the tokenizer does not match the checkpoint; pass --tokenizer")
    rows = windows(Path(args.corpus), tokenizer, args.block, args.windows)
    rng = np.random.default_rng(0)
    cuts = [(int(rng.integers(len(rows))), int(rng.integers(16, args.block + 1))) for _ in range(args.cuts)]
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = export_decoder(model, Path(tmp) / "fp32.onnx")
        int8 = quantize_int8(fp32, Path(tmp) / "int8.onnx")
        found = {name: ort.InferenceSession(str(path), session_options(2), providers=["CPUExecutionProvider"])
                 for name, path in (("fp32", fp32), ("int8", int8))}
        decoded = {name: decode_predictions(s, rows) for name, s in found.items()}
        prompted = {name: prompt_predictions(s, rows, cuts) for name, s in found.items()}
    truth = np.array([rows[r, c] for r, c in cuts])
    decode = {name: float((p == rows[:, 1:]).mean()) for name, p in decoded.items()}
    prompt = {name: float((p == truth).mean()) for name, p in prompted.items()}
    tokens = rows.shape[0] * (rows.shape[1] - 1)
    print(f"test split, {rows.shape[0]} windows of {args.block} tokens ({tokens} predictions) + {len(cuts)} prompt cuts")
    print(f"PyTorch fp32 reference (all positions at once): {torch_accuracy(model, rows):.2%}\n")
    print("| ONNX | decoding, one token per step (hits) | prompt pass, last position (hits) |")
    print("|---|---|---|")
    for name in ("fp32", "int8"):
        print(f"| {name} | {decode[name]:.2%} ({int((decoded[name] == rows[:, 1:]).sum())}) | "
              f"{prompt[name]:.2%} ({int((prompted[name] == truth).sum())}) |")
    print(f"\nint8 and fp32 predict different tokens at {(decoded['int8'] != decoded['fp32']).mean():.2%} of the "
          f"decoding positions and {(prompted['int8'] != prompted['fp32']).mean():.2%} of the prompt cuts")
    cost = max(decode["fp32"] - decode["int8"], prompt["fp32"] - prompt["int8"]) * 100
    verdict = "keep int8 as the default" if cost <= MAX_DIFF_POINTS else "int8 costs too much: ship fp32"
    print(f"\nint8 - fp32: {(decode['int8'] - decode['fp32']) * 100:+.2f} points decoding, "
          f"{(prompt['int8'] - prompt['fp32']) * 100:+.2f} points on prompt passes; "
          f"cost at worst {max(cost, 0.0):.2f} points (limit {MAX_DIFF_POINTS}): {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
