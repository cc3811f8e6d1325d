"""Tiny models for the docstring-model tests: a random code LM bundle with a random Seq2Seq added to it."""
from __future__ import annotations

from pathlib import Path

import torch

from export.bundle import build_bundle
from export.doc_bundle import add_docstring_model
from model.seq2seq import Seq2Seq
from model.transformer import DecoderLM, ModelConfig, save_model


def small_tokenizer(texts: list[str], folder: Path) -> Path:
    """A 600-token Quill tokenizer trained on texts, saved as folder/tokenizer.json."""
    from model.tokenizer import train_tokenizer
    train_tokenizer(texts, vocab_size=600).save(str(folder / "tokenizer.json"))
    return folder / "tokenizer.json"


def spread(model: torch.nn.Module, std: float = 0.3) -> torch.nn.Module:
    """Larger weights than the usual init, so that an untrained model's steps differ from each other
    (at std 0.02 the tied head repeats its input token forever, which hides broken caches and beams)."""
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() >= 2:
                p.normal_(0.0, std)
    return model


def tiny_seq2seq(vocab: int, seed: int = 0, std: float | None = 0.3) -> Seq2Seq:
    """d_model 32, 2 encoder + 2 decoder layers, 2 heads; std None keeps the usual init."""
    torch.manual_seed(seed)
    cfg = ModelConfig(vocab_size=vocab, d_model=32, n_layers=2, n_heads=2, d_ff=64, max_seq_len=128,
                      arch="seq2seq", n_encoder_layers=2)
    model = Seq2Seq(cfg).eval()
    return spread(model, std) if std is not None else model


def tiny_lm_checkpoint(vocab: int, out: Path) -> Path:
    """A random one-layer code LM saved as a checkpoint folder."""
    torch.manual_seed(1)
    cfg = ModelConfig(vocab_size=vocab, d_model=32, n_layers=1, n_heads=2, d_ff=64, max_seq_len=128)
    save_model(DecoderLM(cfg), cfg, out)
    return out


def doc_bundle(tokenizer_path: Path, seq2seq: Seq2Seq, work: Path, int8: bool = False) -> Path:
    """A bundle folder (random LM) that carries seq2seq as its docstring model."""
    save_model(seq2seq, seq2seq.cfg, work / "doc_ckpt")
    lm = tiny_lm_checkpoint(seq2seq.cfg.vocab_size, work / "lm_ckpt")
    build_bundle(lm, tokenizer_path, work / "bundle", corpus_dir=None, int8=int8, log=lambda *_: None)
    add_docstring_model(work / "doc_ckpt", work / "bundle", int8=int8, log=lambda *_: None)
    return work / "bundle"


def taught_seq2seq(tokenizer_path: Path, sentence: str, codes: list[str], steps: int = 150) -> Seq2Seq:
    """A tiny Seq2Seq trained to answer `sentence` for any of codes: a model whose summary is usable."""
    from model.tokenizer import encode, load_tokenizer
    tok = load_tokenizer(tokenizer_path)
    model = tiny_seq2seq(tok.get_vocab_size(), std=None).train()
    target = [tok.token_to_id("<docstring>"), *encode(tok, sentence), tok.token_to_id("<eos>")]
    tgt = torch.tensor([target] * len(codes))
    sources = [encode(tok, code)[:64] for code in codes]
    width = max(len(s) for s in sources)
    src = torch.tensor([s + [tok.token_to_id("<pad>")] * (width - len(s)) for s in sources])
    mask = torch.tensor([[i < len(s) for i in range(width)] for s in sources])
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(steps):
        logits = model(src, tgt[:, :-1], src_mask=mask)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()
