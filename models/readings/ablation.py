"""Pushing on the transformer's attention: switch heads off, rank them by what the sentence's loss loses, cut one
attention edge (head ablation as in Michel et al. 2019, "Are sixteen heads really better than one?"; attention
knockout as in Geva et al. 2023), each beside the model's own prediction.

Plain dataclasses of numpy arrays and lists; no Streamlit.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..tokenizer import Tokenizer
from ..transformer import Probe, TransformerLM
from .transformer import transformer_input

MODES = {"zero": "output zeroed", "uniform": "uniform attention"}


@dataclass(frozen=True)
class Change:
    """The next-token distribution at every position with and without an intervention."""

    tokens: list[str]  # (T,) tokens read; the first is the start <eos>
    true_next: list[str]  # (T,) the token that really follows ("" after the last)
    kl: np.ndarray  # (T,) KL(p ‖ p′) in nats: p the model's own distribution, p′ the changed one
    top_before: list[str]  # (T,) most probable next token, model's own
    top_after: list[str]  # (T,) most probable next token, changed
    p_top_before: np.ndarray  # (T,) its probability
    p_top_after: np.ndarray  # (T,)
    p_true_before: np.ndarray  # (T,) p(true next token); NaN after the last
    p_true_after: np.ndarray  # (T,)
    loss_before: float  # mean −log p of the true next tokens
    loss_after: float

    @property
    def flipped(self) -> list[int]:
        """Positions whose most probable next token changed."""
        return [t for t, (a, b) in enumerate(zip(self.top_before, self.top_after, strict=True)) if a != b]


@dataclass(frozen=True)
class HeadRanking:
    """The sentence's loss with each head switched off in turn (all in one batched pass)."""

    base_loss: float  # mean −log p of the true next tokens, every head on
    loss: np.ndarray  # (L, H) the same with head (ℓ, h) off
    mode: str  # "zero" or "uniform"

    @property
    def increase(self) -> np.ndarray:
        """(L, H) loss with the head off − loss with every head on."""
        return self.loss - self.base_loss

    def order(self) -> list[tuple[int, int]]:
        """Heads (layer, head), most harmful to switch off first."""
        flat = np.argsort(-self.increase, axis=None, kind="stable")
        return [tuple(int(v) for v in np.unravel_index(i, self.loss.shape)) for i in flat]


def _ids(model: TransformerLM, tokenizer: Tokenizer, text: str) -> tuple[list[int], torch.Tensor]:
    ids = transformer_input(model, tokenizer, text).ids
    return ids, torch.tensor([ids], device=model.device)


def head_mask(model: TransformerLM, heads: Sequence[tuple[int, int]]) -> torch.Tensor:
    """(1, L, H) bool with True at every (layer, head) of ``heads``."""
    cfg = model.config
    mask = torch.zeros(1, cfg.n_layer, cfg.n_head, dtype=torch.bool, device=model.device)
    for layer, head in heads:
        mask[0, layer, head] = True
    return mask


def sentence_loss(logits: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """(B, T, V) logits, (1, T) ids -> (B,) mean −log p(x_{t+1} | x_≤t) over the sentence's T − 1 next tokens."""
    log_p = torch.log_softmax(logits[:, :-1].float(), -1)  # (B, T−1, V)
    target = ids[:, 1:].expand(logits.size(0), -1)  # (B, T−1)
    return -log_p.gather(-1, target[..., None])[..., 0].mean(-1)


def compare(tokenizer: Tokenizer, ids: torch.Tensor, before: torch.Tensor, after: torch.Tensor) -> Change:
    """The two passes' logits (T, V) side by side, position by position."""
    itos = tokenizer.vocab.itos
    log_p, log_q = torch.log_softmax(before.float(), -1), torch.log_softmax(after.float(), -1)  # (T, V)
    kl = (log_p.exp() * (log_p - log_q)).sum(-1).clamp(min=0)  # (T,): rounding can dip just below 0
    nxt = ids[0, 1:]
    true_p = [torch.cat([lp[:-1].gather(-1, nxt[:, None])[:, 0].exp(), torch.tensor([float("nan")])])
              for lp in (log_p, log_q)]
    top_p, top_q = log_p.max(-1), log_q.max(-1)
    loss = [float(sentence_loss(lp[None], ids)[0]) if len(nxt) else 0.0 for lp in (log_p, log_q)]
    return Change(
        tokens=[itos[i] for i in ids[0].tolist()],
        true_next=[itos[i] for i in nxt.tolist()] + [""],
        kl=kl.cpu().numpy(),
        top_before=[itos[i] for i in top_p.indices.tolist()],
        top_after=[itos[i] for i in top_q.indices.tolist()],
        p_top_before=top_p.values.exp().cpu().numpy(),
        p_top_after=top_q.values.exp().cpu().numpy(),
        p_true_before=true_p[0].cpu().numpy(),
        p_true_after=true_p[1].cpu().numpy(),
        loss_before=loss[0],
        loss_after=loss[1],
    )


@torch.no_grad()
def ablate_heads(model: TransformerLM, tokenizer: Tokenizer, text: str, heads: Sequence[tuple[int, int]],
                 mode: str = "zero") -> Change:
    """Switch off ``heads`` (layer, head): their output zeroed, or their attention made uniform over the keys they
    may read; then every position's next-token distribution against the model's own."""
    cfg = model.config
    if len(set(heads)) >= cfg.n_layer * cfg.n_head:
        raise ValueError("every head is switched off: no token could read any other, so nothing is left to compare")
    ids, x = _ids(model, tokenizer, text)
    before = model(x, probe=Probe())[0][0]  # the same arithmetic as the changed pass, only the change differs
    after = model(x, probe=Probe(head_mask(model, heads), mode == "uniform"))[0][0]
    return compare(tokenizer, x, before, after)


@torch.no_grad()
def rank_heads(model: TransformerLM, tokenizer: Tokenizer, text: str, mode: str = "zero") -> HeadRanking:
    """The loss with each of the L·H heads off in turn: one pass over L·H + 1 copies of the sentence, row 0 with
    every head on, row 1 + ℓ·H + h with head (ℓ, h) off."""
    cfg = model.config
    L, H = cfg.n_layer, cfg.n_head
    ids, x = _ids(model, tokenizer, text)
    if len(ids) < 2:
        raise ValueError("the sentence has no next token to score: type at least one word")
    heads = torch.zeros(1 + L * H, L * H, dtype=torch.bool, device=model.device)
    heads[1:] = torch.eye(L * H, dtype=torch.bool, device=model.device)  # row 1 + i: head i off
    logits = model(x.expand(1 + L * H, -1), probe=Probe(heads.view(-1, L, H), mode == "uniform"))[0]
    loss = sentence_loss(logits, x).cpu().numpy()  # (1 + L·H,)
    return HeadRanking(float(loss[0]), loss[1:].reshape(L, H), mode)


@dataclass(frozen=True)
class Knockout:
    """One attention edge cut: query t₁ may not read key t₂; what t₁ (and every later position) predicts."""

    query: int  # t₁, 0-based
    key: int  # t₂, 0-based
    change: Change
    words: list[str]  # (W,) the TOP most probable next tokens at the query with and without the cut, together
    probs_before: np.ndarray  # (W,) their probabilities, model's own
    probs_after: np.ndarray  # (W,) with the edge cut


TOP = 5


def _tops(tokenizer: Tokenizer, before: torch.Tensor, after: torch.Tensor) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The TOP most probable next tokens of either logits (V,), and each one's probability under both."""
    p, q = F.softmax(before.float(), -1), F.softmax(after.float(), -1)
    ids = list(dict.fromkeys(p.topk(TOP).indices.tolist() + q.topk(TOP).indices.tolist()))
    return [tokenizer.vocab.itos[i] for i in ids], p[ids].cpu().numpy(), q[ids].cpu().numpy()


@torch.no_grad()
def knock_out_edge(model: TransformerLM, tokenizer: Tokenizer, text: str, query: int, key: int) -> Knockout:
    """Query ``query`` may not read key ``key`` in any layer or head (−∞ added to that score before the softmax)."""
    ids, x = _ids(model, tokenizer, text)
    T = len(ids)
    if not (0 <= query < T and 0 <= key < T):
        raise ValueError(f"positions run from 1 to {T}")
    if query == 0 and key == 0:
        raise ValueError("the first token can read only itself: cutting that edge leaves it nothing to read")
    blocked = torch.zeros(T, T, dtype=torch.bool, device=model.device)
    blocked[query, key] = True
    before = model(x, probe=Probe())[0][0]  # the same arithmetic as the changed pass, only the change differs
    after = model(x, probe=Probe(blocked=blocked))[0][0]
    return Knockout(query, key, compare(tokenizer, x, before, after), *_tops(tokenizer, before[query], after[query]))
