"""PyTorch-side evaluation: next-token accuracy under teacher forcing on a corpus split."""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from tokenizers import Tokenizer

from .corpus import load_split
from .data import plain_stream


@torch.no_grad()
def token_accuracy(model, tok: Tokenizer, corpus_dir: Path, split: str = "test", block: int = 512,
                   max_windows: int = 200) -> dict:
    """Top-1 next-token accuracy and loss over consecutive windows of the split's files, left to right."""
    texts = [r["text"] for r in load_split(corpus_dir, split)]
    if not texts:
        raise ValueError(f"the {split} split of {corpus_dir} is empty")
    stream = torch.from_numpy(plain_stream(texts, tok)).long()
    model = model.eval()
    n = min(max_windows, (len(stream) - 1) // block)
    correct = total = 0
    loss = 0.0
    for i in range(0, n, 8):
        rows = range(i, min(n, i + 8))
        x = torch.stack([stream[r * block:(r + 1) * block] for r in rows])
        y = torch.stack([stream[r * block + 1:(r + 1) * block + 1] for r in rows])
        logits, _ = model(x)
        loss += F.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1), reduction="sum").item()
        correct += (logits.argmax(-1) == y).sum().item()
        total += y.numel()
    return {"accuracy": correct / max(total, 1), "loss": loss / max(total, 1), "tokens": total}
