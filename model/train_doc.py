"""Train the docstring model (model/seq2seq.py): MLM pretraining of the encoder, then fine-tuning on pairs.

Stage "mlm" trains the encoder and the tied MLM head on 256-token windows of train-split code and saves a
full Seq2Seq checkpoint (its decoder stays at its random init). Stage "finetune" trains the whole
encoder–decoder on model/docpairs.py pairs with teacher forcing, from scratch or with the embedding and
encoder copied from an MLM checkpoint (`init_encoder`); the decoder init depends only on the seed, so the
two ablation arms differ only in where the encoder starts.

Formats (the serving side must build the same):
- source: `encode(doc_source(code, class_name, neighbours))[:max_src]` (lsp_server/doc_format.py: a `# class`
  line and `# see:` lines of similar functions' summaries before the code; manifest source_format
  "context-v1"), no special tokens; padding is masked (`src_mask`, True on real tokens).
- target: `<docstring>` summary `<eos>`; the decoder reads target[:-1] and predicts target[1:].

MLM: BERT-style 80/10/10. 15% of the non-special tokens are chosen; of those 80% become `<mask>`, 10% a
random token and 10% stay, and the loss is on the chosen ones only. Why not T5 span corruption: the
encoder is bidirectional and its head is tied to the embedding, so predicting the token at each position
needs nothing else, while span corruption trains the decoder to write the spans — a decoder we do not
keep (fine-tuning's decoder starts fresh in both arms, so the ablation isolates the encoder).
"""
from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from lsp_server.doc_format import SOURCE_FORMAT, doc_source
from model.train import TrainState, lr_at, make_optimizer, save_checkpoint, time_left

from .corpus import load_split
from .curves import LOSS_CURVES, plot_loss_curves
from .data import eval_windows, plain_stream, sample_batch
from .docpairs import MAX_PAIRS_PER_PACKAGE, build_pairs
from .seq2seq import Seq2Seq, load_seq2seq
from .tokenizer import EOS, PAD, SPECIAL_TOKENS, load_tokenizer
from .transformer import ModelConfig, save_model

DOC = "<docstring>"
MASK = "<mask>"
ENCODER_PARTS = ("embed.", "encoder.", "ln_enc.")  # what an MLM checkpoint gives a fine-tuning run

PRESETS: dict[str, dict] = {
    "tiny": dict(model=dict(d_model=64, n_heads=2, d_ff=128, n_encoder_layers=2, n_layers=1, max_seq_len=512),
                 batch_size=4, block_size=64, max_src=64, max_steps=6, warmup_steps=2, eval_interval=3,
                 eval_items=4, stream_mb=0.5),
    # ~6.6M parameters, 2.1M of them the shared embedding.
    "small": dict(model=dict(d_model=256, n_heads=4, d_ff=1024, n_encoder_layers=3, n_layers=2, max_seq_len=1024)),
}


@dataclass
class DocTrainConfig:
    """Options of `quill train-doc`; every field is a typed CLI override."""
    stage: str = "finetune"        # "mlm" or "finetune"
    corpus: str = "runs/corpus"
    tokenizer: str = "runs/tokenizer.json"
    out: str = "runs/doc"
    preset: str = "small"
    model: dict = field(default_factory=dict)
    init_encoder: str = ""         # finetune: copy embedding + encoder from this MLM checkpoint
    batch_size: int = 32
    block_size: int = 256          # MLM window
    max_src: int = 256             # code tokens kept from the start of a function
    max_tgt: int = 64              # target tokens, <docstring> and <eos> included
    max_pairs_per_package: int = MAX_PAIRS_PER_PACKAGE  # finetune: pairs kept per package; 0 = no cap
    mask_rate: float = 0.15
    label_smoothing: float = 0.1   # train loss only; val loss is plain cross-entropy
    stream_mb: float = 20.0        # MLM: tokenize this many MB of train code (seeded file order); 0 = all
    lr: float = 1e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = 100
    max_steps: int = 200_000
    max_minutes: float = 0.0
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    eval_interval: int = 200
    eval_items: int = 0            # val windows (mlm) or val pairs (finetune); 0 = 64 windows / all pairs
    checkpoint_interval: int = 500
    seed: int = 1234
    bf16: bool = True
    threads: int = 0

    @classmethod
    def from_preset(cls, preset: str, **overrides) -> "DocTrainConfig":
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; choose from {sorted(PRESETS)}")
        values = {k: v for k, v in PRESETS[preset].items() if k != "model"}
        values.update({k: v for k, v in overrides.items() if v is not None and k != "model"})
        model = {**PRESETS[preset]["model"], **{k: v for k, v in overrides.get("model", {}).items() if v is not None}}
        unknown = set(values) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown training options: {sorted(unknown)}")
        if values.get("stage", "finetune") not in ("mlm", "finetune"):
            raise ValueError(f"unknown stage {values['stage']!r}; choose mlm or finetune")
        return cls(preset=preset, model=model, **values)


def mask_tokens(ids: torch.Tensor, gen: torch.Generator, vocab_size: int, mask_id: int, n_special: int,
                rate: float = 0.15) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT masking of (B, T) ids: (inputs, labels), labels -100 except at the chosen positions."""
    chosen = (torch.rand(ids.shape, generator=gen) < rate) & (ids >= n_special)  # never a special token
    action = torch.rand(ids.shape, generator=gen)
    inputs = ids.clone()
    inputs[chosen & (action < 0.8)] = mask_id
    swap = chosen & (action >= 0.8) & (action < 0.9)
    inputs[swap] = torch.randint(n_special, vocab_size, ids.shape, generator=gen)[swap]
    return inputs, torch.where(chosen, ids, torch.full_like(ids, -100))


def mlm_loss(model: Seq2Seq, inputs: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy and correct-count over the chosen positions; the head runs on those rows only."""
    chosen = labels != -100
    logits = model.mlm_logits(model.encode(inputs)[chosen]).float()  # (N, V)
    target = labels[chosen]
    return F.cross_entropy(logits, target), (logits.argmax(-1) == target).sum()


def seq2seq_loss(model: Seq2Seq, batch: dict, smoothing: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Teacher-forced cross-entropy per target token and correct-count (padding ignored)."""
    logits = model(batch["src"], batch["tgt_in"], batch["src_mask"]).float()  # (B, T, V)
    labels = batch["labels"]
    loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), labels.reshape(-1), ignore_index=-100,
                           label_smoothing=smoothing)
    return loss, ((logits.argmax(-1) == labels) & (labels != -100)).sum()


def encode_pairs(pairs: list[dict], tok, max_src: int, max_tgt: int) -> list[tuple[list[int], list[int]]]:
    """(source ids, target ids) per pair: doc_source (context header, then code) truncated from the start;
    <docstring> summary <eos>. A pair without "class_name"/"neighbours" is plain code."""
    doc, eos = tok.token_to_id(DOC), tok.token_to_id(EOS)
    sources = [doc_source(p["code"], p.get("class_name"), p.get("neighbours") or []) for p in pairs]
    codes = tok.encode_batch(sources, add_special_tokens=False)
    sums = tok.encode_batch([p["summary"] for p in pairs], add_special_tokens=False)
    return [(c.ids[:max_src], [doc, *s.ids[:max_tgt - 2], eos]) for c, s in zip(codes, sums)]


def collate(items: list[tuple[list[int], list[int]]], pad: int) -> dict:
    """Right-padded tensors: src (B, S), src_mask (B, S), tgt_in and labels (B, T-1)."""
    S, T = max(len(s) for s, _ in items), max(len(t) for _, t in items)
    src = torch.full((len(items), S), pad, dtype=torch.long)
    tgt = torch.full((len(items), T), pad, dtype=torch.long)
    labels = torch.full((len(items), T), -100, dtype=torch.long)
    for i, (s, t) in enumerate(items):
        src[i, :len(s)], tgt[i, :len(t)], labels[i, :len(t)] = torch.tensor(s), torch.tensor(t), torch.tensor(t)
    mask = torch.arange(S)[None, :] < torch.tensor([len(s) for s, _ in items])[:, None]
    return {"src": src, "src_mask": mask, "tgt_in": tgt[:, :-1], "labels": labels[:, 1:]}


def length_batches(items: list, batch_size: int, rng: random.Random | None) -> list[list]:
    """Batches of similar source length (less padding): shuffled pools sorted by length, then batch order
    shuffled; rng None keeps the given order (evaluation)."""
    order = list(range(len(items)))
    if rng is not None:
        rng.shuffle(order)
    pool = batch_size * 32
    batches = []
    for i in range(0, len(order), pool):
        chunk = sorted(order[i:i + pool], key=lambda j: len(items[j][0]))
        batches += [[items[j] for j in chunk[k:k + batch_size]] for k in range(0, len(chunk), batch_size)]
    if rng is not None:
        rng.shuffle(batches)
    return batches


def init_model(cfg: DocTrainConfig, vocab_size: int, log=print) -> Seq2Seq:
    """A seeded fresh Seq2Seq, with embedding + encoder copied from cfg.init_encoder when given."""
    model_cfg = ModelConfig(arch="seq2seq", vocab_size=vocab_size, **cfg.model)
    torch.manual_seed(cfg.seed)
    model = Seq2Seq(model_cfg)
    if cfg.init_encoder:
        pretrained = load_seq2seq(Path(cfg.init_encoder))
        if pretrained.cfg != model_cfg:
            raise ValueError(f"--init-encoder {cfg.init_encoder} has config {pretrained.cfg.to_json()}, "
                             f"this run {model_cfg.to_json()}: use the same preset and sizes")
        shared = {k: v for k, v in pretrained.state_dict().items() if k.startswith(ENCODER_PARTS)}
        model.load_state_dict(shared, strict=False)
        log(f"embedding + encoder ({sum(v.numel() for v in shared.values()):,} params) from {cfg.init_encoder}")
    return model.train()


@torch.no_grad()
def _evaluate(model: Seq2Seq, batches: list, loss_fn, bf16: bool) -> tuple[float, float]:
    """Mean loss per predicted token and token accuracy over fixed batches."""
    model.eval()
    total, correct, count = 0.0, 0, 0
    for batch in batches:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss, right, n = loss_fn(batch)
        total, correct, count = total + loss.item() * n, correct + right.item(), count + n
    model.train()
    return total / max(count, 1), correct / max(count, 1)


def _mlm_data(cfg: DocTrainConfig, tok, log):
    """(next_batch, val batches, info) of the MLM stage."""
    texts = [r["text"] for r in load_split(cfg.corpus, "train")]
    random.Random(cfg.seed).shuffle(texts)
    if cfg.stream_mb > 0:
        total, keep = 0, 0
        while keep < len(texts) and total < cfg.stream_mb * 1e6:
            total, keep = total + len(texts[keep]), keep + 1
        texts = texts[:keep]
    stream = plain_stream(texts, tok)
    val_stream = plain_stream([r["text"] for r in load_split(cfg.corpus, "val")], tok)
    log(f"MLM stream: {len(texts)} files, {len(stream):,} tokens; val {len(val_stream):,} tokens")
    args = dict(vocab_size=tok.get_vocab_size(), mask_id=tok.token_to_id(MASK), n_special=len(SPECIAL_TOKENS),
                rate=cfg.mask_rate)
    gen = torch.Generator().manual_seed(cfg.seed)

    def next_batch(step):
        x, _ = sample_batch(stream, cfg.batch_size, cfg.block_size, np.random.default_rng(cfg.seed * 1_000_003 + step))
        return mask_tokens(torch.from_numpy(x), gen, **args)

    val_gen = torch.Generator().manual_seed(0)
    val = [mask_tokens(torch.from_numpy(x), val_gen, **args)
           for x, _ in eval_windows(val_stream, cfg.block_size, cfg.eval_items or 64)]
    info = {"stream_files": len(texts), "stream_tokens": int(len(stream)), "val_windows": len(val)}
    return next_batch, val, info


def _finetune_data(cfg: DocTrainConfig, tok, log):
    """(next_batch, val batches, info) of the fine-tuning stage."""
    cap = dict(max_pairs_per_package=cfg.max_pairs_per_package, seed=cfg.seed)
    train_pairs, train_counts = build_pairs(cfg.corpus, "train", **cap)
    val_pairs, val_counts = build_pairs(cfg.corpus, "val", exclude_codes={p["code"] for p in train_pairs}, **cap)
    log(f"pairs: train {train_counts}\n       val {val_counts}")
    if not train_pairs or not val_pairs:
        raise ValueError(f"{cfg.corpus} gives {len(train_pairs)} train and {len(val_pairs)} val pairs; need both")
    items = encode_pairs(train_pairs, tok, cfg.max_src, cfg.max_tgt)
    val_items = encode_pairs(val_pairs[:cfg.eval_items or None], tok, cfg.max_src, cfg.max_tgt)
    pad = tok.token_to_id(PAD)
    queue: list = []

    def next_batch(step):
        if not queue:  # a new epoch: fresh shuffle, seeded by the step it starts at
            queue.extend(length_batches(items, cfg.batch_size, random.Random(cfg.seed + step)))
        return collate(queue.pop(), pad)

    val = [collate(b, pad) for b in length_batches(val_items, cfg.batch_size, None)]
    info = {"source_format": SOURCE_FORMAT, "pairs": {"train": train_counts, "val": val_counts},
            "val_pairs_evaluated": len(val_items),
            "mean_src_tokens": round(sum(len(s) for s, _ in items) / len(items), 1)}
    return next_batch, val, info


def _batch_tokens(cfg: DocTrainConfig, batch) -> int:
    """Tokens a step reads: the MLM window, or real source + target tokens."""
    if cfg.stage == "mlm":
        return batch[0].numel()
    return int(batch["src_mask"].sum()) + int((batch["labels"] != -100).sum()) + batch["labels"].shape[0]


def train_doc(cfg: DocTrainConfig, command: str = "", log=print) -> dict:
    """Run one stage; returns the summary also written to <out>/train_summary.json."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    tok = load_tokenizer(cfg.tokenizer)
    model = init_model(cfg, tok.get_vocab_size(), log)
    log(f"model: {model.num_params():,} parameters {model.cfg.to_json()}")
    if cfg.stage == "mlm":
        next_batch, val, info = _mlm_data(cfg, tok, log)
        step_loss = lambda b: mlm_loss(model, *b)[0]  # noqa: E731
        eval_loss = lambda b: (*mlm_loss(model, *b), int((b[1] != -100).sum()))  # noqa: E731
    else:
        next_batch, val, info = _finetune_data(cfg, tok, log)
        step_loss = lambda b: seq2seq_loss(model, b, cfg.label_smoothing)[0]  # noqa: E731
        eval_loss = lambda b: (*seq2seq_loss(model, b), int((b["labels"] != -100).sum()))  # noqa: E731
    state = _loop(model, cfg, next_batch, step_loss, lambda: _evaluate(model, val, eval_loss, cfg.bf16), log)
    val_loss, val_acc = state.history[-1]["val_loss"], state.history[-1]["val_acc"]
    save_model(model, model.cfg, out / "final")
    summary = {"command": command, "stage": cfg.stage, "init_encoder": cfg.init_encoder, "steps": state.step,
               "tokens": state.tokens, "wall_time_s": round(state.elapsed_s, 1),
               "tokens_per_s": round(state.tokens / max(state.elapsed_s, 1e-9)), "val_loss": val_loss,
               "val_token_accuracy": val_acc, "best_val_loss": state.best_val_loss, "params": model.num_params(),
               **info, "history": state.history, "train_config": asdict(cfg)}
    (out / "train_summary.json").write_text(json.dumps(summary, indent=2))
    plot_loss_curves(state.history, out / LOSS_CURVES, f"{cfg.stage} {out.name}")
    return summary


def _loop(model: Seq2Seq, cfg: DocTrainConfig, next_batch, step_loss, evaluate, log) -> TrainState:
    """AdamW, warmup + cosine over max_steps or max_minutes, evals and checkpoints (out/ckpt)."""
    opt, state, out = make_optimizer(model, cfg), TrainState(), Path(cfg.out)
    start = time.time()
    while state.step < cfg.max_steps and time_left(cfg, time.time() - start):
        elapsed = time.time() - start
        progress = max(state.step / cfg.max_steps, elapsed / (cfg.max_minutes * 60) if cfg.max_minutes else 0.0)
        for group in opt.param_groups:
            group["lr"] = lr_at(cfg, state.step, progress)
        batch = next_batch(state.step)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.bf16):
            loss = step_loss(batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        state.step, state.tokens = state.step + 1, state.tokens + _batch_tokens(cfg, batch)
        state.elapsed_s = time.time() - start
        if state.step % cfg.eval_interval == 0:
            _record(state, loss.item(), evaluate(), log)
        if state.step % cfg.checkpoint_interval == 0:
            save_checkpoint(out, model, model.cfg, opt, state, cfg)
    state.elapsed_s = time.time() - start
    _record(state, float("nan"), evaluate(), log)
    save_checkpoint(out, model, model.cfg, opt, state, cfg)
    return state


def _record(state: TrainState, train_loss: float, val: tuple[float, float], log) -> None:
    line = state.record(train_loss, *val)
    log(f"{line[:-1]}, {state.tokens / max(state.elapsed_s, 1e-9):.0f} tok/s)")
