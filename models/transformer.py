"""Decoder-only transformer LM (Vaswani et al. 2017; GPT-style pre-norm blocks, as in nanoGPT).

Attention(Q, K, V) = softmax(Q Kᵀ / √d_k + M) V with the causal mask M (−∞ above the diagonal).
Decoding keeps every layer's keys and values (a KV cache), so each new token costs one query, not a full pass.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TypeAlias

import torch
import torch.nn.functional as F
from torch import nn

from .lm import LanguageModel, lm_loss

KV: TypeAlias = tuple[torch.Tensor, torch.Tensor]  # one layer's keys and values, each (B, nh, T, hd)


@dataclass(frozen=True)
class TransformerConfig:
    """Sizes of the decoder-only transformer."""

    vocab_size: int
    block_size: int = 64  # longest context
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.1
    positions: str = "learned"  # "learned" or "sinusoidal"
    tie_weights: bool = True  # output layer shares the token embedding (Press & Wolf 2017)
    bias: bool = True  # biases in Linear and LayerNorm layers (nanoGPT trains without)
    causal: bool = True  # False: no mask M, every position sees both sides (an encoder, as in BERT; models/mlm.py)


@dataclass
class AttentionInternals:
    """One layer's queries, keys, values and attention weights."""

    q: torch.Tensor  # (B, nh, T, hd)
    k: torch.Tensor  # (B, nh, T, hd)
    v: torch.Tensor  # (B, nh, T, hd)
    att: torch.Tensor  # (B, nh, T, T), rows sum to 1


@dataclass(frozen=True)
class Probe:
    """An intervention on one pass: heads switched off (Michel et al. 2019) and attention edges cut.

    Each row b of the batch may switch off its own heads, so one pass can ablate every head in turn.
    """

    heads: torch.Tensor | None = None  # (B, L, nh) bool: True = the head is switched off in that row
    uniform: bool = False  # a switched-off head attends evenly to the keys it may read, instead of outputting 0
    blocked: torch.Tensor | None = None  # (T, T) bool: True = query t₁ may not read key t₂ (−∞ on that score)

    def layer(self, i: int) -> LayerProbe:
        """What this probe does in layer i."""
        return LayerProbe(None if self.heads is None else self.heads[:, i], self.uniform, self.blocked)


@dataclass(frozen=True)
class LayerProbe:
    """``Probe`` inside one layer: the heads off (B, nh), and the score mask it adds."""

    heads: torch.Tensor | None = None
    uniform: bool = False
    blocked: torch.Tensor | None = None

    def allowed(self, mask: torch.Tensor) -> torch.Tensor:
        """The causal mask (T, T) less the blocked edges."""
        return mask if self.blocked is None else mask & ~self.blocked

    def weights(self, att: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        """α (B, nh, T, T), switched-off heads spread evenly over the allowed keys when ``uniform``."""
        if self.heads is None or not self.uniform:
            return att
        even = allowed / allowed.sum(-1, keepdim=True)  # (T, T)
        return torch.where(self.heads[:, :, None, None], even.to(att.dtype), att)

    def outputs(self, y: torch.Tensor) -> torch.Tensor:
        """Head outputs (B, nh, T, hd), switched-off heads zeroed unless they attend uniformly."""
        if self.heads is None or self.uniform:
            return y
        return y.masked_fill(self.heads[:, :, None, None], 0.0)


@dataclass
class TransformerTrace:
    """Internals of one pass: attention [layer, head, T, T], residual stream, Q/K/V."""

    attention: torch.Tensor  # (B, L, nh, T, T)
    q: torch.Tensor  # (B, L, nh, T, hd)
    k: torch.Tensor  # (B, L, nh, T, hd)
    v: torch.Tensor  # (B, L, nh, T, hd)
    residual: torch.Tensor  # (B, L+1, T, C): after the embedding, then after each block
    positions: torch.Tensor  # (T, C) positional encodings added to the token embeddings
    logits: torch.Tensor  # (B, T, V)


@dataclass(frozen=True)
class KVCache:
    """What decoding carries from step to step: the ids so far and every layer's keys and values for them."""

    ids: torch.Tensor  # (B, T), at most block_size
    layers: tuple[KV, ...]  # per layer: k, v (B, nh, T, hd)

    @property
    def length(self) -> int:
        """Positions cached, T."""
        return self.ids.size(1)


def sinusoidal_positions(n: int, d: int) -> torch.Tensor:
    """PE(p, 2i) = sin(p / 10000^{2i/d}), PE(p, 2i+1) = cos(·) (Vaswani et al. 2017, §3.5)."""
    pos = torch.arange(n, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, d, 2, dtype=torch.float32) * (-math.log(10000.0) / d))
    pe = torch.zeros(n, d)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq)[:, : d // 2]
    return pe


class CausalSelfAttention(nn.Module):
    """Multi-head masked self-attention: heads attend only to earlier positions (``causal=False``: to all)."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        if config.n_embd % config.n_head:
            raise ValueError("n_embd must be divisible by n_head")
        self.n_head = config.n_head
        self.qkv = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.attn_drop = nn.Dropout(config.dropout)
        self.resid_drop = nn.Dropout(config.dropout)
        self.dropout = config.dropout
        self.causal = config.causal

    def _heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x (B, T, C) -> q, k, v, each split into heads (B, nh, T, hd)."""
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        return tuple(t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))

    def _merge(self, y: torch.Tensor) -> torch.Tensor:
        """Heads (B, nh, T, hd) -> the projected output (B, T, C)."""
        B, nh, T, hd = y.shape
        return self.resid_drop(self.proj(y.transpose(1, 2).contiguous().view(B, T, nh * hd)))

    def forward(self, x: torch.Tensor, keep: bool = False, probe: LayerProbe | None = None):
        """x (B, T, C) -> (y (B, T, C), AttentionInternals if ``keep`` else None); ``probe`` intervenes."""
        q, k, v = self._heads(x)  # (B, nh, T, hd)
        T = x.size(1)
        if keep or probe is not None:
            probe = probe or LayerProbe()
            scores = (q @ k.transpose(-2, -1)) / math.sqrt(k.size(-1))  # (B, nh, T, T)
            mask = torch.ones(T, T, dtype=torch.bool, device=x.device)
            mask = probe.allowed(mask.tril() if self.causal else mask)
            att = probe.weights(F.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1), mask)
            y = probe.outputs(self.attn_drop(att) @ v)  # (B, nh, T, hd)
            internals = AttentionInternals(q, k, v, att) if keep else None
        else:
            # The fused kernel computes the same softmax(QKᵀ/√d_k + M) V without materialising it.
            p = self.dropout if self.training else 0.0
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=self.causal)
            internals = None
        return self._merge(y), internals

    def decode(self, x: torch.Tensor, past: KV | None) -> tuple[torch.Tensor, KV]:
        """New positions x (B, T, C) after the cached ``past`` -> (y (B, T, C), keys and values of all positions).

        Without a past this is the causal pass over a prompt; with one, x must be a single position: its query
        may see every cached key, so no mask is needed.
        """
        q, k, v = self._heads(x)  # (B, nh, T, hd)
        if past is not None:
            if x.size(1) != 1:
                raise ValueError("after a cache, decode one position at a time")
            k, v = torch.cat([past[0], k], 2), torch.cat([past[1], v], 2)  # (B, nh, S+1, hd)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=past is None)
        return self._merge(y), (k, v)


class MLP(nn.Module):
    """Position-wise feed-forward network FFN(x) = W₂ GELU(W₁ x)."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.proj(F.gelu(self.fc(x))))


class Block(nn.Module):
    """Pre-norm residual block: x + Attn(LN(x)), then x + FFN(LN(x))."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor, keep: bool = False, probe: LayerProbe | None = None):
        a, internals = self.attn(self.ln1(x), keep, probe)
        return self._feed_forward(x + a), internals

    def decode(self, x: torch.Tensor, past: KV | None) -> tuple[torch.Tensor, KV]:
        """``forward`` for new positions after cached keys and values (see ``CausalSelfAttention.decode``)."""
        a, kv = self.attn.decode(self.ln1(x), past)
        return self._feed_forward(x + a), kv

    def _feed_forward(self, x: torch.Tensor) -> torch.Tensor:
        """The second residual branch, x + FFN(LN(x))."""
        return x + self.mlp(self.ln2(x))


class TransformerLM(LanguageModel):
    """Token + position embeddings -> n_layer blocks -> final LayerNorm -> logits."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.config = config
        self.context_size = self.max_len = config.block_size
        self.tok = nn.Embedding(config.vocab_size, config.n_embd)
        if config.positions == "learned":
            self.pos = nn.Embedding(config.block_size, config.n_embd)
        elif config.positions == "sinusoidal":
            self.register_buffer("pe", sinusoidal_positions(config.block_size, config.n_embd), persistent=False)
        else:
            raise ValueError("positions must be 'learned' or 'sinusoidal'")
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        if config.tie_weights:
            self.head.weight = self.tok.weight
        self.apply(self._init)
        for name, p in self.named_parameters():
            if name.endswith("proj.weight"):
                # GPT-2: scale residual projections by 1/√(2L) so the stream's variance stays put.
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, 0.0, 0.02)

    def position_encodings(self, T: int, start: int = 0) -> torch.Tensor:
        """(T, C) vectors added to the token embeddings of positions start .. start + T − 1."""
        if self.config.positions == "learned":
            return self.pos.weight[start : start + T]
        return self.pe[start : start + T]

    def _run(self, idx: torch.Tensor, keep: bool, probe: Probe | None = None):
        B, T = idx.shape
        if T > self.config.block_size:
            raise ValueError(f"sequence of {T} tokens is longer than the context of {self.config.block_size}")
        pos = self.position_encodings(T)
        x = self.drop(self.tok(idx) + pos)  # (B, T, C)
        stream, internals = [x], []
        for i, block in enumerate(self.blocks):
            x, inner = block(x, keep, None if probe is None else probe.layer(i))
            stream.append(x)
            internals.append(inner)
        return self.head(self.ln_f(x)), stream, internals, pos

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None, probe: Probe | None = None):
        logits = self._run(idx, keep=False, probe=probe)[0]
        return logits, lm_loss(logits, targets)

    @torch.no_grad()
    def trace(self, idx: torch.Tensor, probe: Probe | None = None) -> TransformerTrace:
        """Attention weights, Q/K/V and the residual stream, from the same blocks as ``forward``."""
        logits, stream, internals, pos = self._run(idx, keep=True, probe=probe)
        return TransformerTrace(
            attention=torch.stack([a.att for a in internals], 1),
            q=torch.stack([a.q for a in internals], 1),
            k=torch.stack([a.k for a in internals], 1),
            v=torch.stack([a.v for a in internals], 1),
            residual=torch.stack(stream, 1),
            positions=pos,
            logits=logits,
        )

    def _decode(self, idx: torch.Tensor, past: KVCache | None) -> tuple[torch.Tensor, KVCache]:
        """ids (B, T) after the cached positions -> logits (B, V) of the token after the last one, and the cache."""
        start = past.length if past is not None else 0
        x = self.drop(self.tok(idx) + self.position_encodings(idx.size(1), start))  # (B, T, C)
        layers = []
        for i, block in enumerate(self.blocks):
            x, kv = block.decode(x, past.layers[i] if past is not None else None)
            layers.append(kv)
        ids = torch.cat([past.ids, idx], 1) if past is not None else idx
        # Only the next token is sampled, so the output layer (C × V, the largest) runs for the last position only.
        return self.head(self.ln_f(x[:, -1])), KVCache(ids, tuple(layers))

    @torch.no_grad()
    def begin(self, ids: torch.Tensor) -> tuple[torch.Tensor, KVCache]:
        """One causal pass over the last block_size ids (B, T), keeping every layer's keys and values."""
        return self._decode(self.trailing(ids), None)

    @torch.no_grad()
    def extend(self, cache: KVCache, nxt: torch.Tensor) -> tuple[torch.Tensor, KVCache]:
        """One new position per row, nxt (B,), attending to the cached keys and values."""
        if cache.length == self.config.block_size:
            # The window must slide, and cached keys cannot follow: each was computed at its absolute position,
            # from earlier tokens that now fall out. So start again from the last block_size ids, as without a cache.
            return self.begin(torch.cat([cache.ids, nxt[:, None]], 1))
        return self._decode(nxt[:, None], cache)

    def reorder(self, cache: KVCache, rows: torch.Tensor) -> KVCache:
        """The cache of rows ``rows`` (K,), in that order."""
        return KVCache(cache.ids[rows], tuple((k[rows], v[rows]) for k, v in cache.layers))
