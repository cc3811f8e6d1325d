"""Train the decoder-only code LM: packed causal LM with FIM, AdamW, warmup + cosine, checkpoints."""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .corpus import load_split
from .data import FimSpec, build_stream, eval_windows, sample_batch
from .tokenizer import load_tokenizer
from .transformer import DecoderLM, ModelConfig, load_model, save_model

PRESETS: dict[str, dict] = {
    # Seconds on a laptop: for tests and the pipeline check.
    "tiny": dict(model=dict(d_model=64, n_layers=2, n_heads=2, d_ff=128, max_seq_len=512),
                 batch_size=8, block_size=64, max_steps=30, warmup_steps=5, eval_interval=15,
                 eval_windows=4, compile=False),
    # The shipped default: ~5M parameters, 24 tokens after a 256-token prompt in ~20 ms with int8 ORT.
    "small": dict(model=dict(d_model=256, n_layers=4, n_heads=4, d_ff=1024, max_seq_len=2048),
                  batch_size=16, block_size=512, max_steps=200_000, warmup_steps=300, eval_interval=500,
                  eval_windows=40),
}


@dataclass
class TrainConfig:
    """Training options; every field is a typed CLI override (--lr 3e-4)."""
    corpus: str = "runs/corpus"
    tokenizer: str = "runs/tokenizer.json"
    out: str = "runs/lm"
    preset: str = "small"
    model: dict = field(default_factory=dict)
    batch_size: int = 16
    block_size: int = 512
    lr: float = 2e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = 300
    max_steps: int = 200_000
    max_minutes: float = 0.0  # 0 = no time limit; otherwise the cosine schedule ends at this wall time
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    eval_interval: int = 500
    eval_windows: int = 40
    checkpoint_interval: int = 500
    fim_rate: float = 0.5
    spm_rate: float = 0.5
    seed: int = 1234
    compile: bool = True
    bf16: bool = True
    threads: int = 0
    resume: bool = False
    init: str = ""  # start from these weights (a checkpoint folder) with a fresh optimizer and schedule

    @classmethod
    def from_preset(cls, preset: str, **overrides) -> "TrainConfig":
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; choose from {sorted(PRESETS)}")
        values = {**PRESETS[preset], **{k: v for k, v in overrides.items() if v is not None}}
        names = {f.name for f in fields(cls)}
        unknown = set(values) - names
        if unknown:
            raise ValueError(f"unknown training options: {sorted(unknown)}")
        return cls(preset=preset, **values)


@dataclass
class TrainState:
    step: int = 0
    tokens: int = 0
    elapsed_s: float = 0.0
    epoch: int = 0
    stream_pos: int = 0
    best_val_loss: float = float("inf")
    history: list = field(default_factory=list)


def lr_at(cfg: TrainConfig, step: int, progress: float) -> float:
    """Linear warmup, then cosine from lr to lr*min_lr_ratio over `progress` in [0, 1]."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * cosine)


def make_optimizer(model: DecoderLM, cfg: TrainConfig) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only (not norms or biases)."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.95), eps=1e-8)


def save_checkpoint(out: Path, model, model_cfg, opt, state: TrainState, cfg: TrainConfig) -> None:
    """Weights and optimizer moments as safetensors, counters as JSON — no pickle anywhere."""
    from safetensors.torch import save_file
    tmp = out / "ckpt.tmp"
    save_model(model, model_cfg, tmp)
    names = {p: n for n, p in model.named_parameters()}
    moments = {}
    for p, st in opt.state.items():
        for key in ("exp_avg", "exp_avg_sq"):
            moments[f"{names[p]}.{key}"] = st[key].contiguous()
        moments[f"{names[p]}.step"] = torch.as_tensor(st["step"], dtype=torch.float32).reshape(1)
    save_file(moments, str(tmp / "optimizer.safetensors"))
    (tmp / "train_state.json").write_text(json.dumps({"state": asdict(state), "config": asdict(cfg)}, indent=2))
    final = out / "ckpt"
    if final.exists():
        for f in final.iterdir():
            f.unlink()
        final.rmdir()
    tmp.rename(final)


def load_checkpoint(out: Path, cfg: TrainConfig):
    """Resume model, optimizer and counters from out/ckpt."""
    from safetensors.torch import load_file
    ckpt = out / "ckpt"
    if not (ckpt / "train_state.json").exists():
        raise FileNotFoundError(f"--resume given but no checkpoint in {ckpt}")
    model = load_model(ckpt).train()
    opt = make_optimizer(model, cfg)
    moments = load_file(str(ckpt / "optimizer.safetensors"))
    for name, p in model.named_parameters():
        if f"{name}.exp_avg" in moments:
            opt.state[p] = {"exp_avg": moments[f"{name}.exp_avg"], "exp_avg_sq": moments[f"{name}.exp_avg_sq"],
                            "step": moments[f"{name}.step"].reshape(())}
    saved = json.loads((ckpt / "train_state.json").read_text())["state"]
    return model, opt, TrainState(**saved)


@torch.no_grad()
def evaluate_loss(model, windows: list, bf16: bool) -> tuple[float, float]:
    """Mean cross-entropy and next-token accuracy over fixed windows."""
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    for x, y in windows:
        x, y = torch.from_numpy(x), torch.from_numpy(y)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits, _ = model(x)
        logits = logits.float()
        total_loss += F.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1), reduction="sum").item()
        correct += (logits.argmax(-1) == y).sum().item()
        count += y.numel()
    model.train()
    return total_loss / max(count, 1), correct / max(count, 1)


def _time_left(cfg: TrainConfig, elapsed: float) -> bool:
    return cfg.max_minutes <= 0 or elapsed < cfg.max_minutes * 60


def train(cfg: TrainConfig, command: str = "", log=print) -> dict:
    """Run (or resume) training; returns the summary also written to <out>/train_summary.json."""
    from tqdm import tqdm

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    tok = load_tokenizer(cfg.tokenizer)
    train_texts = [r["text"] for r in load_split(cfg.corpus, "train")]
    val_texts = [r["text"] for r in load_split(cfg.corpus, "val")] or train_texts[:8]
    if not train_texts:
        raise ValueError(f"the train split of {cfg.corpus} is empty")
    fim = FimSpec(rate=cfg.fim_rate, spm_rate=cfg.spm_rate)
    if cfg.resume:
        model, opt, state = load_checkpoint(out, cfg)
        model_cfg = model.cfg
        log(f"resumed at step {state.step}, {state.tokens:,} tokens, {state.elapsed_s / 60:.1f} min")
    elif cfg.init:
        model = load_model(Path(cfg.init)).train()
        model_cfg = model.cfg
        if model_cfg.vocab_size != tok.get_vocab_size():
            raise ValueError(f"--init {cfg.init} expects {model_cfg.vocab_size} tokens but the tokenizer has "
                             f"{tok.get_vocab_size()}; fine-tune with the tokenizer the model was trained with")
        opt, state = make_optimizer(model, cfg), TrainState()
        log(f"initialized from {cfg.init}")
    else:
        model_cfg = ModelConfig(vocab_size=tok.get_vocab_size(), **cfg.model)
        model = DecoderLM(model_cfg).train()
        opt, state = make_optimizer(model, cfg), TrainState()
    log(f"model: {model.num_params():,} parameters {model_cfg.to_json()}")
    stream = build_stream(train_texts, tok, seed=cfg.seed + state.epoch, fim=fim)
    val_windows = list(eval_windows(build_stream(val_texts, tok, seed=0, fim=fim), cfg.block_size, cfg.eval_windows))
    log(f"epoch stream: {len(stream):,} tokens; val windows: {len(val_windows)}")
    step_fn = torch.compile(model) if cfg.compile and hasattr(torch, "compile") else model
    start, start_elapsed = time.time(), state.elapsed_s
    bar = tqdm(total=cfg.max_steps, initial=state.step, desc="train", unit="step", mininterval=2.0)
    tokens_per_step = cfg.batch_size * cfg.block_size
    while state.step < cfg.max_steps:
        elapsed = start_elapsed + time.time() - start
        if not _time_left(cfg, elapsed):
            break
        progress = max(state.step / cfg.max_steps, elapsed / (cfg.max_minutes * 60) if cfg.max_minutes else 0.0)
        for group in opt.param_groups:
            group["lr"] = lr_at(cfg, state.step, progress)
        x, y = sample_batch(stream, cfg.batch_size, cfg.block_size, np.random.default_rng(cfg.seed * 1_000_003 + state.step))
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.bf16):
            logits, _ = step_fn(torch.from_numpy(x))
        loss = F.cross_entropy(logits.float().view(-1, logits.size(-1)), torch.from_numpy(y).view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        state.step += 1
        state.tokens += tokens_per_step
        state.stream_pos += tokens_per_step
        if state.stream_pos >= len(stream):  # one epoch's worth seen: new shuffle and new FIM splits
            state.epoch, state.stream_pos = state.epoch + 1, 0
            stream = build_stream(train_texts, tok, seed=cfg.seed + state.epoch, fim=fim)
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.3f}", lr=f"{opt.param_groups[0]['lr']:.2e}",
                        tok_s=f"{state.tokens / max(1e-9, start_elapsed + time.time() - start):.0f}")
        state.elapsed_s = start_elapsed + time.time() - start
        if state.step % cfg.eval_interval == 0:
            _eval_and_log(model, val_windows, cfg, state, loss.item(), log)
        if state.step % cfg.checkpoint_interval == 0:
            save_checkpoint(out, model, model_cfg, opt, state, cfg)
    bar.close()
    state.elapsed_s = start_elapsed + time.time() - start
    val_loss, val_acc = _eval_and_log(model, val_windows, cfg, state, float("nan"), log)
    save_checkpoint(out, model, model_cfg, opt, state, cfg)
    save_model(model, model_cfg, out / "final")
    summary = {"command": command, "steps": state.step, "tokens": state.tokens, "epochs": state.epoch,
               "wall_time_s": round(state.elapsed_s, 1), "val_loss": val_loss, "val_token_accuracy": val_acc,
               "params": model.num_params(), "history": state.history, "train_config": asdict(cfg)}
    (out / "train_summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def _eval_and_log(model, windows, cfg: TrainConfig, state: TrainState, train_loss: float, log):
    val_loss, val_acc = evaluate_loss(model, windows, cfg.bf16)
    state.best_val_loss = min(state.best_val_loss, val_loss)
    state.history.append({"step": state.step, "tokens": state.tokens, "elapsed_s": round(state.elapsed_s, 1),
                          "train_loss": train_loss, "val_loss": val_loss, "val_acc": val_acc})
    log(f"step {state.step} tokens {state.tokens:,} train {train_loss:.3f} val {val_loss:.3f} acc {val_acc:.3f} "
        f"({state.elapsed_s / 60:.1f} min)")
    return val_loss, val_acc
