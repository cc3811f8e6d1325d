"""Train the decoder-only code LM: packed causal LM with FIM, AdamW, warmup + cosine, checkpoints.

One process, or data parallel over torchrun's processes (model/distributed.py): each rank samples its own
batches, rank 0 decides the schedule and the time limit, and only rank 0 logs, evaluates and writes files.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer

from .corpus import load_split
from .crossfile import CrossFileSpec, training_stream, validation_stream
from .curves import LOSS_CURVES, plot_loss_curves
from .data import FimSpec, chunk_range, eval_windows, sample_batch
from .distributed import (
    Dist,
    from_main,
    init_distributed,
    shutdown,
    sum_over_ranks,
    wrap,
)
from .finetune import checkpoint_model, resolve_inputs
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
    # Larger shapes for the size/speed comparison (benchmarks/model_shapes.py) and GPU runs
    # (scripts/train_gpu.sh); head dim 64 as in "small". ~10M and ~17M parameters with an 8192 vocabulary.
    "medium": dict(model=dict(d_model=320, n_layers=6, n_heads=5, d_ff=1280, max_seq_len=2048),
                   batch_size=16, block_size=512, max_steps=200_000, warmup_steps=300, eval_interval=500,
                   eval_windows=40),
    "large": dict(model=dict(d_model=384, n_layers=8, n_heads=6, d_ff=1536, max_seq_len=2048),
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
    cross_file_rate: float = 0.5  # share of chunks given windows of other files of their package (model/crossfile.py)
    seed: int = 1234
    compile: bool = True
    bf16: bool = True
    threads: int = 0
    resume: bool = False
    init: str = ""  # start from these weights (a checkpoint or a bundle folder) with a fresh optimizer and schedule
    source: list = field(default_factory=list)  # folders to build <out>/corpus from (fine-tuning on your code)
    holdout: list = field(default_factory=list)  # eval folders kept out of that corpus, near-copies too
    only_source: bool = False  # that corpus without the standard-library sample (model/finetune.py)

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

    def record(self, train_loss: float, val_loss: float, val_acc: float) -> str:
        """One evaluation into history (and best_val_loss); returns the log line."""
        self.best_val_loss = min(self.best_val_loss, val_loss)
        self.history.append({"step": self.step, "tokens": self.tokens, "elapsed_s": round(self.elapsed_s, 1),
                             "train_loss": train_loss, "val_loss": val_loss, "val_acc": val_acc})
        return (f"step {self.step} tokens {self.tokens:,} train {train_loss:.3f} val {val_loss:.3f} "
                f"acc {val_acc:.3f} ({self.elapsed_s / 60:.1f} min)")


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
            moments[f"{names[p]}.{key}"] = st[key].detach().cpu().contiguous()
        moments[f"{names[p]}.step"] = torch.as_tensor(st["step"], dtype=torch.float32).cpu().reshape(1)
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


@dataclass
class Run:
    """What the training loop works on; `model` is the plain module, `step_fn` the DDP/compiled wrapper."""
    cfg: TrainConfig
    env: Dist
    model: DecoderLM
    step_fn: torch.nn.Module
    opt: torch.optim.AdamW
    state: TrainState
    tok: Tokenizer
    train_records: list  # {"path", "text"}
    val_windows: list
    fim: FimSpec
    cross_file: CrossFileSpec
    log: Callable[..., None]
    stream: np.ndarray | None = None
    losses: list = field(default_factory=list)  # this rank's train losses since the last evaluation


@torch.no_grad()
def evaluate_loss(model, windows: list, bf16: bool, device: torch.device = torch.device("cpu")) -> tuple[float, float]:
    """Mean cross-entropy and next-token accuracy over fixed windows."""
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    for x, y in windows:
        x, y = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            logits, _ = model(x)
        logits = logits.float()
        total_loss += F.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1), reduction="sum").item()
        correct += (logits.argmax(-1) == y).sum().item()
        count += y.numel()
    model.train()
    return total_loss / max(count, 1), correct / max(count, 1)


def emulated_bf16(device: torch.device, cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """True on a CPU without native bf16 (avx512_bf16 / amx_bf16), where torch emulates it: a bf16 matmul ran
    55x slower than fp32 on an AVX2-only EPYC (issue 15 measurements)."""
    if device.type != "cpu" or not cpuinfo.is_file():
        return False
    flags = cpuinfo.read_text()
    return "avx512_bf16" not in flags and "amx_bf16" not in flags


def time_left(cfg: TrainConfig, elapsed: float) -> bool:
    return cfg.max_minutes <= 0 or elapsed < cfg.max_minutes * 60


def batch_rng(cfg: TrainConfig, step: int, rank: int) -> np.random.Generator:
    """Each step's batch; rank 0 draws what a single process draws, other ranks their own windows."""
    seed = cfg.seed * 1_000_003 + step
    return np.random.default_rng(seed if rank == 0 else [seed, rank])


InitModel = Callable[[TrainConfig, int, Callable], DecoderLM]  # (cfg, vocab size, log) -> the --init model


def _initial_state(cfg: TrainConfig, out: Path, vocab_size: int, log, init_model: InitModel):
    """(model, optimizer, state): resumed from <out>/ckpt, initialized from --init, or new."""
    if cfg.resume:
        model, opt, state = load_checkpoint(out, cfg)
        log(f"resumed at step {state.step}, {state.tokens:,} tokens, {state.elapsed_s / 60:.1f} min")
        return model, opt, state
    if cfg.init:
        model = init_model(cfg, vocab_size, log)
        log(f"initialized from {cfg.init}")
    else:
        model = DecoderLM(ModelConfig(vocab_size=vocab_size, **cfg.model)).train()
    return model, make_optimizer(model, cfg), TrainState()


def _setup(cfg: TrainConfig, env: Dist, log, init_model: InitModel) -> Run:
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)  # the same initial weights on every rank (DDP also broadcasts rank 0's)
    if cfg.bf16 and emulated_bf16(env.device):
        log("warning: this CPU has no native bf16, so bf16 autocast makes training many times slower; "
            "pass --no-bf16")
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    tok = load_tokenizer(cfg.tokenizer)
    train_records, val_records = load_split(cfg.corpus, "train"), load_split(cfg.corpus, "val")
    if not train_records:
        raise ValueError(f"the train split of {cfg.corpus} is empty")
    if not val_records:  # a small fine-tuning corpus may have no val files
        log("no val split: the val loss is measured on (up to 8) train files")
        val_records = train_records[:8]
    model, opt, state = _initial_state(cfg, out, tok.get_vocab_size(), log, init_model)
    model.to(env.device)  # in place: the optimizer's parameters are the same objects
    for st in opt.state.values():
        st.update({k: st[k].to(env.device) for k in ("exp_avg", "exp_avg_sq") if k in st})
    log(f"model: {model.num_params():,} parameters {model.cfg.to_json()}"
        + (f"; data parallel over {env.world_size} processes on {env.device.type}" if env.enabled else ""))
    step_fn = wrap(model, env)
    if cfg.compile and hasattr(torch, "compile"):
        step_fn = torch.compile(step_fn)
    fim = FimSpec(rate=cfg.fim_rate, spm_rate=cfg.spm_rate, chunk_chars=chunk_range(cfg.block_size))
    cross_file = CrossFileSpec(rate=cfg.cross_file_rate)
    val_stream = validation_stream(val_records, train_records, tok, fim, cross_file,
                                   cfg.block_size * cfg.eval_windows + 1)
    val_windows = list(eval_windows(val_stream, cfg.block_size, cfg.eval_windows))
    run = Run(cfg, env, model, step_fn, opt, state, tok, train_records, val_windows, fim, cross_file, log)
    run.stream = training_stream(train_records, tok, cfg.seed + state.epoch, fim, cross_file, log)
    log(f"epoch stream: {len(run.stream):,} tokens; val windows: {len(val_windows)}")
    return run


def _step(run: Run, lr: float) -> float:
    """One optimizer step on this rank's batch (gradients are averaged over ranks by DDP)."""
    cfg, device = run.cfg, run.env.device
    for group in run.opt.param_groups:
        group["lr"] = lr
    x, y = sample_batch(run.stream, cfg.batch_size, cfg.block_size, batch_rng(cfg, run.state.step, run.env.rank))
    x, y = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.bf16):
        logits, _ = run.step_fn(x)
    loss = F.cross_entropy(logits.float().view(-1, logits.size(-1)), y.view(-1))
    run.opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(run.model.parameters(), run.cfg.grad_clip)
    run.opt.step()
    return loss.item()


def _advance(run: Run, loss: float) -> None:
    """Count the step's tokens (all ranks') and start a new epoch (new shuffle, new FIM splits) when due."""
    state, cfg = run.state, run.cfg
    tokens = cfg.batch_size * cfg.block_size * run.env.world_size
    state.step += 1
    state.tokens += tokens
    state.stream_pos += tokens
    run.losses.append(loss)
    if state.stream_pos >= len(run.stream):
        state.epoch, state.stream_pos = state.epoch + 1, 0
        run.stream = training_stream(run.train_records, run.tok, cfg.seed + state.epoch, run.fim, run.cross_file,
                                     run.log)


def _loop(run: Run) -> None:
    from .progress import TrainProgress
    cfg, state, env = run.cfg, run.state, run.env
    start, start_elapsed = time.time(), state.elapsed_s
    bar = TrainProgress(cfg, state.step, state.elapsed_s, enabled=env.is_main, log=run.log,
                        compiling=cfg.compile and hasattr(torch, "compile"))
    while state.step < cfg.max_steps:
        elapsed = start_elapsed + time.time() - start
        progress = max(state.step / cfg.max_steps, elapsed / (cfg.max_minutes * 60) if cfg.max_minutes else 0.0)
        # Rank 0's clock decides for all: every rank must take the same number of steps.
        stop, progress = from_main([float(not time_left(cfg, elapsed)), progress], env)
        if stop:
            break
        loss = _step(run, lr_at(cfg, state.step, progress))
        _advance(run, loss)
        state.elapsed_s = start_elapsed + time.time() - start
        bar.step_done(state.step, state.elapsed_s, loss, run.opt.param_groups[0]["lr"],
                      state.tokens / max(1e-9, state.elapsed_s))
        if state.step % cfg.eval_interval == 0:
            _eval_and_log(run)
        if state.step % cfg.checkpoint_interval == 0 and env.is_main:
            _save(run)
    bar.close()
    state.elapsed_s = start_elapsed + time.time() - start


def _save(run: Run) -> None:
    """Checkpoint and loss curves (rank 0 only)."""
    out = Path(run.cfg.out)
    save_checkpoint(out, run.model, run.model.cfg, run.opt, run.state, run.cfg)
    plot_loss_curves(run.state.history, out / LOSS_CURVES, title=f"{out.name}: {run.model.num_params():,} parameters")


def train(cfg: TrainConfig, command: str = "", log=print, init_model: InitModel = checkpoint_model) -> dict:
    """Run (or resume) training; returns the summary also written to <out>/train_summary.json.

    Under torchrun every rank calls this; rank 0 returns the summary, the others {"rank": r}. `init_model`
    makes the --init model (a checkpoint folder by default; quill/finetune.py also recovers bundles).
    """
    env = init_distributed()
    log = log if env.is_main else (lambda *_: None)
    cfg = resolve_inputs(cfg, env, log)
    run = _setup(cfg, env, log, init_model)
    steps_before = run.state.step
    _loop(run)
    if run.state.step > steps_before and run.state.step % cfg.eval_interval == 0:  # just evaluated (all ranks agree)
        last = run.state.history[-1] if env.is_main else {}
        val_loss, val_acc = last.get("val_loss", float("nan")), last.get("val_acc", float("nan"))
    else:
        val_loss, val_acc = _eval_and_log(run)
    tokens_each = (run.state.step - steps_before) * cfg.batch_size * cfg.block_size
    counted = sum_over_ranks([float(tokens_each)], env)[0]  # proof that every rank did its share
    summary = {"rank": env.rank}
    if env.is_main:
        summary = _finish(run, command, val_loss, val_acc, {"world_size": env.world_size,
                          "tokens_per_rank": tokens_each, "tokens_all_ranks": int(counted)})
    shutdown(env)
    return summary


def _finish(run: Run, command: str, val_loss: float, val_acc: float, parallel: dict) -> dict:
    """Rank 0: final checkpoint, weights, summary and loss curves."""
    cfg, state, out = run.cfg, run.state, Path(run.cfg.out)
    _save(run)
    save_model(run.model, run.model.cfg, out / "final")
    summary = {"command": command, "steps": state.step, "tokens": state.tokens, "epochs": state.epoch,
               "wall_time_s": round(state.elapsed_s, 1), "val_loss": val_loss, "val_token_accuracy": val_acc,
               "params": run.model.num_params(), **parallel, "history": state.history,
               "train_config": asdict(cfg)}
    (out / "train_summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def _eval_and_log(run: Run) -> tuple[float, float]:
    """Every rank: the mean train loss since the last evaluation over all ranks; rank 0: val loss and log."""
    total, count = sum_over_ranks([float(sum(run.losses)), float(len(run.losses))], run.env)
    run.losses.clear()
    if not run.env.is_main:
        return float("nan"), float("nan")
    state, cfg = run.state, run.cfg
    train_loss = total / count if count else float("nan")
    val_loss, val_acc = evaluate_loss(run.model, run.val_windows, cfg.bf16, run.env.device)
    run.log(state.record(train_loss, val_loss, val_acc))
    return val_loss, val_acc
