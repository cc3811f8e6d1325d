"""Transformer building blocks and the decoder-only code LM.

Written so that an encoder (bidirectional self-attention) and a cross-attending decoder can reuse the
same Attention / MLP / norm modules; the KV cache is explicit in every forward signature.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

KV = tuple[torch.Tensor, torch.Tensor]  # (B, heads, past, head_dim) each


@dataclass
class ModelConfig:
    """Architecture of a Quill transformer; saved as JSON next to the weights."""
    vocab_size: int = 8192
    d_model: int = 256
    n_layers: int = 4
    n_heads: int = 4
    d_ff: int = 1024
    max_seq_len: int = 2048
    rope_base: float = 10000.0
    dropout: float = 0.0
    norm_eps: float = 1e-5
    arch: str = "decoder_lm"   # or "seq2seq" (model/seq2seq.py)
    n_encoder_layers: int = 0  # seq2seq only; n_layers is then the decoder depth

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    def validate(self) -> None:
        if self.d_model % self.n_heads or self.head_dim % 2:
            raise ValueError(f"d_model {self.d_model} must split into {self.n_heads} heads of even size")

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "ModelConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown ModelConfig fields: {sorted(unknown)}")
        return cls(**data)


def rope_tables(cfg: ModelConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin tables of shape (max_seq_len, head_dim // 2) for rotary position embeddings."""
    half = cfg.head_dim // 2
    inv_freq = 1.0 / (cfg.rope_base ** (torch.arange(0, half, dtype=torch.float32) / half))
    angles = torch.outer(torch.arange(cfg.max_seq_len, dtype=torch.float32), inv_freq)
    return angles.cos(), angles.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate pairs (x1, x2) = halves of head_dim; x: (B, H, T, Dh), cos/sin: (T, Dh/2)."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1).type_as(x)


class Attention(nn.Module):
    """Multi-head attention: self-attention (causal or not) or cross-attention over `memory`."""

    def __init__(self, cfg: ModelConfig, cross: bool = False):
        super().__init__()
        self.n_heads, self.head_dim, self.cross = cfg.n_heads, cfg.head_dim, cross
        self.q_proj = nn.Linear(cfg.d_model, cfg.d_model, bias=False)
        self.kv_proj = nn.Linear(cfg.d_model, 2 * cfg.d_model, bias=False)
        self.out_proj = nn.Linear(cfg.d_model, cfg.d_model, bias=False)
        self.dropout = cfg.dropout

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        B, T, _ = x.shape
        return x.view(B, T, self.n_heads, self.head_dim).transpose(1, 2)  # (B, H, T, Dh)

    def project_kv(self, src: torch.Tensor) -> KV:
        """Keys and values of src, (B, H, S, Dh) each; cross-attention computes these once per request."""
        k, v = self.kv_proj(src).chunk(2, dim=-1)
        return self._heads(k), self._heads(v)

    def forward(self, x: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor] | None = None,
                past: KV | None = None, mask: torch.Tensor | None = None, is_causal: bool = False,
                memory: torch.Tensor | None = None, memory_kv: KV | None = None) -> tuple[torch.Tensor, KV]:
        """x: (B, T, C). Returns the output (B, T, C) and the keys/values to cache."""
        B, T, C = x.shape
        q = self._heads(self.q_proj(x))
        if self.cross:
            k, v = memory_kv if memory_kv is not None else self.project_kv(memory)
        else:
            k, v = self.project_kv(x)
            if rope is not None:
                q, k = apply_rope(q, *rope), apply_rope(k, *rope)
            if past is not None:
                k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)  # (B, H, P+T, Dh)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=is_causal and mask is None,
                                           dropout_p=self.dropout if self.training else 0.0)
        return self.out_proj(y.transpose(1, 2).reshape(B, T, C)), (k, v)


class MLP(nn.Module):
    """Position-wise feed-forward with tanh-GELU."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.up = nn.Linear(cfg.d_model, cfg.d_ff, bias=False)
        self.down = nn.Linear(cfg.d_ff, cfg.d_model, bias=False)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.down(F.gelu(self.up(x), approximate="tanh")))


def norm(cfg: ModelConfig) -> nn.LayerNorm:
    """Pre-norm LayerNorm (exports to one ONNX LayerNormalization op)."""
    return nn.LayerNorm(cfg.d_model, eps=cfg.norm_eps)


class Block(nn.Module):
    """Pre-norm residual block: self-attention, optional cross-attention, MLP."""

    def __init__(self, cfg: ModelConfig, cross: bool = False):
        super().__init__()
        self.ln_attn, self.attn = norm(cfg), Attention(cfg)
        self.ln_cross = norm(cfg) if cross else None
        self.cross_attn = Attention(cfg, cross=True) if cross else None
        self.ln_mlp, self.mlp = norm(cfg), MLP(cfg)

    def forward(self, x, rope=None, past=None, mask=None, is_causal=False, memory=None, memory_kv=None,
                memory_mask=None):
        """memory_mask: (B, 1, 1, S) bool, True where a memory (encoder) position is real, not padding."""
        h, present = self.attn(self.ln_attn(x), rope=rope, past=past, mask=mask, is_causal=is_causal)
        x = x + h
        if self.cross_attn is not None:
            x = x + self.cross_attn(self.ln_cross(x), memory=memory, memory_kv=memory_kv, mask=memory_mask)[0]
        return x + self.mlp(self.ln_mlp(x)), present


def init_weights(model: nn.Module, blocks) -> None:
    """N(0, 0.02) for every Linear and Embedding; GPT-2 scaling of each block's residual projections by
    1/sqrt(2 * depth) keeps the residual stream's variance flat with depth."""
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)
    blocks = list(blocks)
    for block in blocks:
        for proj in (block.attn.out_proj, block.mlp.down):
            nn.init.normal_(proj.weight, std=0.02 / math.sqrt(2 * len(blocks)))


def causal_mask(past_len: torch.Tensor | int, T: int, device=None) -> torch.Tensor:
    """(T, past_len+T) boolean mask: query i sees keys 0..past_len+i."""
    keys = torch.arange(T + past_len, device=device)
    queries = torch.arange(T, device=device) + past_len
    return keys[None, :] <= queries[:, None]


class DecoderLM(nn.Module):
    """Decoder-only code LM with RoPE, pre-norm blocks and tied input/output embeddings."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.ln_f = norm(cfg)
        cos, sin = rope_tables(cfg)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        init_weights(self, self.blocks)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def forward(self, idx: torch.Tensor, past: list[KV] | None = None,
                last_only: bool = False, last_n: torch.Tensor | None = None) -> tuple[torch.Tensor, list[KV]]:
        """idx: (B, T) token ids; past: per layer (k, v) of (B, H, P, Dh).

        Returns logits (B, T, V) — or (B, V) with last_only, which skips 40% of prompt compute, or
        (B, n, V) for the last n positions with last_n (a 0-d tensor: the exported graph's num_logits
        input, so one graph serves prompt passes and the verification of several drafted tokens) —
        and the per-layer keys/values including the new positions.
        """
        T = idx.shape[1]
        P = past[0][0].shape[2] if past is not None else 0
        rope = (self.rope_cos[P:P + T], self.rope_sin[P:P + T])
        # Training (no cache) uses SDPA's built-in causal path; with a cache the mask covers P+T keys.
        mask = causal_mask(P, T, idx.device) if past is not None else None
        x = self.drop(self.embed(idx))
        present = []
        for i, block in enumerate(self.blocks):
            x, kv = block(x, rope=rope, past=None if past is None else past[i], mask=mask,
                          is_causal=past is None)
            present.append(kv)
        x = self.ln_f(x)
        if last_only:
            x = x[:, -1, :]
        elif last_n is not None:  # index_select over arange traces to a dynamic Range + Gather
            x = x.index_select(1, torch.arange(x.shape[1] - last_n, x.shape[1], device=x.device))
        return F.linear(x, self.embed.weight), present  # tied head

    def empty_past(self, batch: int = 1) -> list[KV]:
        """A zero-length cache, the first input of an exported decoding loop."""
        shape = (batch, self.cfg.n_heads, 0, self.cfg.head_dim)
        return [(torch.zeros(shape), torch.zeros(shape)) for _ in range(self.cfg.n_layers)]


def save_model(model: nn.Module, cfg: ModelConfig, out_dir: Path) -> None:
    """Weights as safetensors (never pickle) plus config.json."""
    from safetensors.torch import save_file
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(state, str(out_dir / "model.safetensors"))
    (out_dir / "config.json").write_text(json.dumps(cfg.to_json(), indent=2))


def load_model(ckpt_dir: Path) -> DecoderLM:
    """Rebuild a DecoderLM from config.json and model.safetensors."""
    from safetensors.torch import load_file
    ckpt_dir = Path(ckpt_dir)
    cfg = ModelConfig.from_json(json.loads((ckpt_dir / "config.json").read_text()))
    model = DecoderLM(cfg)
    state = load_file(str(ckpt_dir / "model.safetensors"))
    model.load_state_dict(state)
    return model.eval()
