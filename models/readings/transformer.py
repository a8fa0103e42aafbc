"""The transformer reading a sentence: attention of every head, Q/K/V, the residual stream, the logit lens.

Plain dataclasses of numpy arrays (picklable, so ``st.cache_data`` can keep them); no Streamlit.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from ..lm import LanguageModel
from ..sampling import ranks
from ..transformer import TransformerLM

LENS_TOP = 5  # next-token guesses kept per position and layer


@dataclass
class TransformerReading:
    """One pass of the transformer over <eos> + the sentence, with everything the page draws."""

    tokens: list[str]  # T tokens read (the first is the start <eos>)
    attention: np.ndarray  # (L, H, T, T) α = softmax(QKᵀ/√d + M); rows sum to 1, zero above the diagonal
    scores: np.ndarray  # (L, H, T, T) QKᵀ/√d before the mask (above the diagonal: what the mask removes)
    q: np.ndarray  # (L, H, T, d)
    k: np.ndarray  # (L, H, T, d)
    v: np.ndarray  # (L, H, T, d)
    residual_norm: np.ndarray  # (L+1, T) ‖x‖ after the embedding, then after each block
    lens_words: list[list[list[str]]]  # (L+1, T, LENS_TOP) most probable next tokens read from each layer
    lens_probs: np.ndarray  # (L+1, T, LENS_TOP)
    true_rank: np.ndarray  # (L+1, T) rank of the true next token read from each layer (0 after the last)
    true_next: list[str]  # the token that really comes next ("" after the last)


def transformer_ids(model: TransformerLM, ids: list[int]) -> tuple[list[int], bool]:
    """The first ``block_size`` ids (the longest context the model has positions for); and whether it cut."""
    n = model.config.block_size
    return ids[:n], len(ids) > n


@torch.no_grad()
def logit_lens(model: TransformerLM, residual: torch.Tensor) -> torch.Tensor:
    """Read a prediction from any layer: softmax(W_out LN_f(x_ℓ)) (the "logit lens", nostalgebraist 2020).

    residual (L+1, T, C) -> probabilities (L+1, T, V); the last layer gives the model's own output.
    """
    return torch.softmax(model.head(model.ln_f(residual)).float(), dim=-1)


def read_transformer(model: TransformerLM, itos: list[str], ids: list[int]) -> TransformerReading:
    """Trace the transformer over ids and tabulate its attention, residual stream and layer-by-layer guesses."""
    tr = model.trace(torch.tensor([ids], device=model.device))
    q, k = tr.q[0].float(), tr.k[0].float()  # (L, H, T, d)
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))  # (L, H, T, T)
    residual = tr.residual[0]  # (L+1, T, C)
    probs = logit_lens(model, residual).cpu()  # (L+1, T, V)
    top = torch.topk(probs, LENS_TOP, dim=-1)
    nxt = torch.tensor(ids[1:] + [ids[-1]])
    true_rank = torch.stack([ranks(layer, nxt) for layer in probs]).numpy()  # (L+1, T)
    true_rank[:, -1] = 0
    return TransformerReading(
        tokens=[itos[i] for i in ids],
        attention=tr.attention[0].float().cpu().numpy(),
        scores=scores.cpu().numpy(),
        q=q.cpu().numpy(),
        k=k.cpu().numpy(),
        v=tr.v[0].float().cpu().numpy(),
        residual_norm=residual.float().norm(dim=-1).cpu().numpy(),
        lens_words=[[[itos[i] for i in row] for row in layer] for layer in top.indices.tolist()],
        lens_probs=top.values.numpy(),
        true_rank=true_rank,
        true_next=[itos[i] for i in ids[1:]] + [""],
    )


def position_similarity(pe: np.ndarray) -> np.ndarray:
    """Cosine similarity between every pair of position vectors: (P, C) -> (P, P)."""
    unit = pe / np.maximum(np.linalg.norm(pe, axis=1, keepdims=True), 1e-12)
    return (unit @ unit.T).astype(np.float32)


@torch.no_grad()
def forward_ms(model: LanguageModel, ids: list[int], repeats: int = 7) -> float:
    """Median wall time of one forward pass over ids, in milliseconds (after one warm-up pass)."""
    x = torch.tensor([ids], device=model.device)
    model(x)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model(x)
        if x.is_cuda:
            torch.cuda.synchronize()
        times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times))


@torch.no_grad()
def future_leak(model: TransformerLM, ids: list[int], n: int) -> float:
    """Largest change in the first n positions' logits when the later tokens are added (0 up to rounding: causal)."""
    alone = model(torch.tensor([ids[:n]], device=model.device))[0][0]  # (n, V)
    inside = model(torch.tensor([ids], device=model.device))[0][0, :n]  # (n, V)
    return float((alone - inside).abs().max())
