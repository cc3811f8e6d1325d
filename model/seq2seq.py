"""Encoder–decoder transformer for docstrings: code in, summary out.

Built from the code LM's blocks (model/transformer.py): the encoder is a stack of bidirectional Blocks
(pretrained alone with masked-language modelling through a tied MLM head), the decoder a stack of
Blocks with cross-attention. One embedding table is shared by encoder, decoder and both output heads.
Decoding keeps an explicit self-attention KV cache, and the cross-attention keys/values of the encoder
output are computed once per request (`cross_kv`).
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from .transformer import (
    KV,
    Block,
    ModelConfig,
    causal_mask,
    init_weights,
    norm,
    rope_tables,
)


class Seq2Seq(nn.Module):
    """cfg.arch == "seq2seq"; cfg.n_encoder_layers encoder blocks, cfg.n_layers decoder blocks."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        cfg.validate()
        if cfg.arch != "seq2seq" or cfg.n_encoder_layers < 1:
            raise ValueError("Seq2Seq needs arch='seq2seq' and n_encoder_layers >= 1")
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.drop = nn.Dropout(cfg.dropout)
        self.encoder = nn.ModuleList(Block(cfg) for _ in range(cfg.n_encoder_layers))
        self.ln_enc = norm(cfg)
        self.decoder = nn.ModuleList(Block(cfg, cross=True) for _ in range(cfg.n_layers))
        self.ln_dec = norm(cfg)
        cos, sin = rope_tables(cfg)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        init_weights(self, [*self.encoder, *self.decoder])

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def encode(self, src: torch.Tensor, src_mask: torch.Tensor | None = None) -> torch.Tensor:
        """src: (B, S) ids; src_mask: (B, S) bool, True on real tokens. Returns memory (B, S, C)."""
        S = src.shape[1]
        rope = (self.rope_cos[:S], self.rope_sin[:S])
        attn_mask = None if src_mask is None else src_mask[:, None, None, :]  # (B, 1, 1, S): keys to see
        x = self.drop(self.embed(src))
        for block in self.encoder:
            x, _ = block(x, rope=rope, mask=attn_mask, is_causal=False)
        return self.ln_enc(x)

    def mlm_logits(self, memory: torch.Tensor) -> torch.Tensor:
        """(B, S, V) logits of the masked-language-modelling head (tied to the embedding)."""
        return F.linear(memory, self.embed.weight)

    def cross_kv(self, memory: torch.Tensor) -> list[KV]:
        """Per decoder layer, the cross-attention keys/values of the memory: (B, H, S, Dh) each."""
        return [block.cross_attn.project_kv(memory) for block in self.decoder]

    def decode(self, tgt: torch.Tensor, memory_kv: list[KV], past: list[KV] | None = None,
               memory_mask: torch.Tensor | None = None, last_only: bool = False) -> tuple[torch.Tensor, list[KV]]:
        """tgt: (B, T) ids after `past` (P positions). Returns logits (B, T, V) or (B, V), and present KV."""
        T = tgt.shape[1]
        P = past[0][0].shape[2] if past is not None else 0
        rope = (self.rope_cos[P:P + T], self.rope_sin[P:P + T])
        mask = causal_mask(P, T, tgt.device) if past is not None else None
        cross_mask = None if memory_mask is None else memory_mask[:, None, None, :]
        x = self.drop(self.embed(tgt))
        present = []
        for i, block in enumerate(self.decoder):
            x, kv = block(x, rope=rope, past=None if past is None else past[i], mask=mask,
                          is_causal=past is None, memory_kv=memory_kv[i], memory_mask=cross_mask)
            present.append(kv)
        x = self.ln_dec(x)
        if last_only:
            x = x[:, -1, :]
        return F.linear(x, self.embed.weight), present

    def forward(self, src: torch.Tensor, tgt: torch.Tensor, src_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Teacher-forced logits (B, T, V) of tgt given src (training)."""
        memory = self.encode(src, src_mask)
        logits, _ = self.decode(tgt, self.cross_kv(memory), memory_mask=src_mask)
        return logits

    def empty_past(self, batch: int = 1) -> list[KV]:
        shape = (batch, self.cfg.n_heads, 0, self.cfg.head_dim)
        return [(torch.zeros(shape), torch.zeros(shape)) for _ in range(self.cfg.n_layers)]


def load_seq2seq(ckpt_dir: Path) -> Seq2Seq:
    """Rebuild a Seq2Seq from config.json and model.safetensors (written by transformer.save_model)."""
    from safetensors.torch import load_file
    ckpt_dir = Path(ckpt_dir)
    cfg = ModelConfig.from_json(json.loads((ckpt_dir / "config.json").read_text()))
    model = Seq2Seq(cfg)
    model.load_state_dict(load_file(str(ckpt_dir / "model.safetensors")))
    return model.eval()
