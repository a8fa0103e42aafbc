"""The transformer reading a sentence: attention of every head, Q/K/V, the residual stream, the logit lens;
its position vectors, a causality check, and what its forward pass costs against a recurrent model's.

Plain dataclasses of numpy arrays (picklable, so ``st.cache_data`` can keep them); no Streamlit.
"""
from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..inputs import ModelInput, model_input
from ..lm import LanguageModel
from ..sampling import ranks
from ..tokenizer import Tokenizer
from ..transformer import TransformerConfig, TransformerLM, sinusoidal_positions
from ..vectors import softmax, unit_rows

LENS_TOP = 5  # next-token guesses kept per position and layer


@dataclass
class TransformerReading:
    """One pass of the transformer over <eos> + the sentence, with everything the page draws."""

    tokens: list[str]  # T tokens read (the first is the start <eos>)
    cut: bool  # the sentence had more tokens than the model has positions (block_size)
    attention: np.ndarray  # (L, H, T, T) α = softmax(QKᵀ/√d_k + M); rows sum to 1, zero above the diagonal
    scores: np.ndarray  # (L, H, T, T) QKᵀ/√d_k before the mask (above the diagonal: what the mask removes)
    q: np.ndarray  # (L, H, T, d_k)
    k: np.ndarray  # (L, H, T, d_k)
    v: np.ndarray  # (L, H, T, d_k)
    residual_norm: np.ndarray  # (L+1, T) ‖x‖ after the embedding, then after each block
    lens_words: list[list[list[str]]]  # (L+1, T, LENS_TOP) most probable next tokens read from each layer
    lens_probs: np.ndarray  # (L+1, T, LENS_TOP)
    true_rank: np.ndarray  # (L+1, T) rank of the true next token read from each layer (0 after the last)
    true_next: list[str]  # the token that really comes next ("" after the last)

    @property
    def median_ranks(self) -> list[int]:
        """Median rank of the true next token read after the embedding and after each block (empty if T = 1)."""
        if len(self.tokens) < 2:
            return []
        return [int(np.median(row[:-1])) for row in self.true_rank]


@dataclass
class OpenedQuery:
    """One head's attention for one query t, term by term: s_j = q_t·k_j/√d_k, α = softmax(s), Σ α_j v_j."""

    keys: list[str]  # the t+1 tokens the query may read
    dots: np.ndarray  # (t+1,) q_t·k_j
    scores: np.ndarray  # (t+1,) s_j = q_t·k_j/√d_k
    top: float  # m = max_j s_j, subtracted before exp (it cancels)
    z: float  # Σ_j exp(s_j − m), the softmax's normaliser
    alpha: np.ndarray  # (t+1,) α_j = exp(s_j − m)/z
    weighted: np.ndarray  # (t+1, d_k) α_j v_j
    output: np.ndarray  # (d_k,) the head's output Σ_j α_j v_j


@dataclass
class Positions:
    """Position vectors pos(t) added to the token embeddings, and how alike they are."""

    vectors: np.ndarray  # (block_size, d_model)
    similarity: np.ndarray  # (block_size, block_size) cosine similarity
    learned: bool  # the model's own (learned) vectors, or the sinusoids of Vaswani et al. at the same size


@dataclass
class Work:
    """Multiply-adds of one forward pass over T tokens, by part (dense attention: the masked scores are computed too).

    Per layer: the Q, K, V and output projections 4·d_model² and the FFN 8·d_model² per token; the scores QKᵀ
    H·T²·d_k and the weighted sum αV as many again; once: the output layer d_model·n_vocab per token.
    """

    lengths: np.ndarray  # (N,) T
    attention_scores: np.ndarray  # (N,) L·H·T² scores q·k, the only term that grows with T²
    attention: np.ndarray  # (N,) 2·L·H·T²·d_k = 2·L·T²·d_model multiply-adds (QKᵀ and αV)
    projections: np.ndarray  # (N,) 12·L·T·d_model² (Q, K, V, W^O and the FFN)
    output: np.ndarray  # (N,) T·d_model·n_vocab (the output layer)
    crossover: float  # T at which attention's multiply-adds equal all the others'

    @property
    def attention_share(self) -> np.ndarray:
        """(N,) attention's share of all multiply-adds."""
        return self.attention / (self.attention + self.projections + self.output)


@dataclass
class Timing:
    """Measured forward time of a recurrent model and the transformer on the sentence and on longer inputs."""

    tokens: int  # T of the sentence as read
    rnn_ms: float
    transformer_ms: float
    lengths: np.ndarray  # (N,) T of each timed input of the sweep
    rnn_sweep_ms: np.ndarray  # (N,)
    transformer_sweep_ms: np.ndarray  # (N,)

    @property
    def growth(self) -> tuple[float, float]:
        """How many times longer the longest timed input took than the shortest: (transformer, RNN)."""
        return (float(self.transformer_sweep_ms[-1] / self.transformer_sweep_ms[0]),
                float(self.rnn_sweep_ms[-1] / self.rnn_sweep_ms[0]))


def transformer_input(model: TransformerLM, tokenizer: Tokenizer, text: str) -> ModelInput:
    """<eos> + the sentence's ids, cut to ``block_size`` (the longest context the model has positions for)."""
    return model_input(tokenizer, text, model.config.block_size)


@torch.no_grad()
def logit_lens(model: TransformerLM, residual: torch.Tensor) -> torch.Tensor:
    """Read a prediction from any layer: softmax(W_out LN_f(x_ℓ)) (the "logit lens", nostalgebraist 2020).

    residual (L+1, T, d_model) -> probabilities (L+1, T, n_vocab); the last layer gives the model's own output.
    """
    return torch.softmax(model.head(model.ln_f(residual)).float(), dim=-1)


def read_transformer(model: TransformerLM, tokenizer: Tokenizer, text: str) -> TransformerReading:
    """Trace the transformer over <eos> + the sentence and tabulate its attention, residual stream and
    layer-by-layer guesses."""
    read = transformer_input(model, tokenizer, text)
    ids, itos = read.ids, tokenizer.vocab.itos
    tr = model.trace(torch.tensor([ids], device=model.device))
    q, k = tr.q[0].float(), tr.k[0].float()  # (L, H, T, d_k)
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))  # (L, H, T, T)
    residual = tr.residual[0]  # (L+1, T, d_model)
    probs = logit_lens(model, residual).cpu()  # (L+1, T, n_vocab)
    top = torch.topk(probs, LENS_TOP, dim=-1)
    nxt = torch.tensor(ids[1:] + [ids[-1]])
    true_rank = torch.stack([ranks(layer, nxt) for layer in probs]).cpu().numpy()  # (L+1, T)
    true_rank[:, -1] = 0
    return TransformerReading(
        tokens=[itos[i] for i in ids],
        cut=read.cut,
        attention=tr.attention[0].float().cpu().numpy(),
        scores=scores.cpu().numpy(),
        q=q.cpu().numpy(),
        k=k.cpu().numpy(),
        v=tr.v[0].float().cpu().numpy(),
        residual_norm=residual.float().norm(dim=-1).cpu().numpy(),
        lens_words=[[[itos[i] for i in row] for row in layer] for layer in top.indices.tolist()],
        lens_probs=top.values.cpu().numpy(),
        true_rank=true_rank,
        true_next=[itos[i] for i in ids[1:]] + [""],
    )


def open_query(reading: TransformerReading, layer: int, head: int, t: int) -> OpenedQuery:
    """Query t of one head, written out as the softmax computes it (max subtracted so exp cannot overflow)."""
    q, k = reading.q[layer, head, t], reading.k[layer, head, : t + 1]  # (d_k,), (t+1, d_k)
    dots = k @ q  # (t+1,)
    scores = dots / math.sqrt(q.shape[-1])
    top = float(scores.max())
    e = np.exp(scores - top)
    alpha = e / e.sum()
    weighted = alpha[:, None] * reading.v[layer, head, : t + 1]  # (t+1, d_k)
    return OpenedQuery(reading.tokens[: t + 1], dots, scores, top, float(e.sum()), alpha, weighted, weighted.sum(0))


def mask_softmax(scores: np.ndarray, masked: bool) -> np.ndarray:
    """(T, T) scores S -> α = softmax(S + M) row by row, M = −∞ above the diagonal; without the mask, softmax(S)."""
    future = np.triu(np.ones(scores.shape, dtype=bool), 1)
    kept = np.where(future, -np.inf, scores) if masked else scores
    return softmax(kept, axis=1).astype(np.float32)  # exp(−∞) = 0: the future gets no weight


def position_similarity(pe: np.ndarray) -> np.ndarray:
    """Cosine similarity between every pair of position vectors: (P, C) -> (P, P)."""
    unit = unit_rows(pe)
    return (unit @ unit.T).astype(np.float32)


@torch.no_grad()
def read_positions(model: TransformerLM, learned: bool) -> Positions:
    """The model's learned position vectors, or PE(p, 2i) = sin(p/10000^(2i/d_model)), cos for 2i+1
    (Vaswani et al. 2017, §3.5) at the same size."""
    cfg = model.config
    own = learned and cfg.positions == "learned"
    pe = model.position_encodings(cfg.block_size) if own else sinusoidal_positions(cfg.block_size, cfg.n_embd)
    pe = pe.detach().float().cpu().numpy()  # (block_size, d_model)
    return Positions(pe, position_similarity(pe), own)


@torch.no_grad()
def future_leak(model: TransformerLM, ids: list[int], n: int) -> float:
    """Largest change in the first n positions' logits when the later tokens are added (0 up to rounding: causal)."""
    alone = model(torch.tensor([ids[:n]], device=model.device))[0][0]  # (n, n_vocab)
    inside = model(torch.tensor([ids], device=model.device))[0][0, :n]  # (n, n_vocab)
    return float((alone - inside).abs().max())


def causality_check(model: TransformerLM, tokenizer: Tokenizer, text: str) -> tuple[int, float]:
    """The first half of the sentence read alone vs inside the whole sentence: (its length, max logit change)."""
    ids = transformer_input(model, tokenizer, text).ids
    half = max(1, len(ids) // 2)
    return half, future_leak(model, ids, half)


def forward_work(cfg: TransformerConfig, lengths: Sequence[int]) -> Work:
    """Count the multiply-adds of one forward pass of a transformer of this size over T tokens, for each T."""
    T = np.asarray(lengths, dtype=np.int64)
    L, C, V = cfg.n_layer, cfg.n_embd, cfg.vocab_size
    return Work(
        lengths=T,
        attention_scores=L * cfg.n_head * T**2,
        attention=2 * L * C * T**2,
        projections=12 * L * C**2 * T,
        output=C * V * T,
        crossover=(12 * L * C**2 + C * V) / (2 * L * C),  # 2·L·C·T² = (12·L·C² + C·V)·T
    )


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


def time_sweep(rnn: LanguageModel, transformer: TransformerLM, lengths: Sequence[int]) -> np.ndarray:
    """(2, N) forward time in ms of the RNN (row 0) and the transformer (row 1) on inputs of each length.

    Which tokens are read does not change the arithmetic, so the sweep reads ids 3, 4, 5, … and is measured once
    per model, not once per sentence.
    """
    inputs = [[3 + i % (transformer.config.vocab_size - 3) for i in range(n)] for n in lengths]
    for model in (rnn, transformer):  # a first pass at every shape: a fresh process pays one-off setup costs there
        for ids in inputs:
            forward_ms(model, ids, repeats=1)
    return np.array([[forward_ms(model, ids) for ids in inputs] for model in (rnn, transformer)])


def time_forward(rnn: LanguageModel, transformer: TransformerLM, tokenizer: Tokenizer, text: str,
                 lengths: Sequence[int], sweep: np.ndarray) -> Timing:
    """Forward time of both models on the sentence (as the transformer reads it), beside the sweep over lengths."""
    ids = transformer_input(transformer, tokenizer, text).ids
    return Timing(
        tokens=len(ids),
        rnn_ms=forward_ms(rnn, ids),
        transformer_ms=forward_ms(transformer, ids),
        lengths=np.asarray(lengths),
        rnn_sweep_ms=sweep[0],
        transformer_sweep_ms=sweep[1],
    )
