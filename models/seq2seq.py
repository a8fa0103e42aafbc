"""Encoder–decoder with attention (Bahdanau et al. 2015; Luong et al. 2015), and without it (Cho et al. 2014).

A bidirectional GRU reads the source into annotations h_j; a GRU decoder writes the output one
token at a time from s_{i−1}, the previous token and a context vector c_i:
    α_ij = softmax_j(e_ij),  c_i = Σ_j α_ij h_j.
Without attention there is no e and no α: c_i is the same "thought vector" c = [→h_T; ←h_1] (the encoder's
final states) at every step.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from .inputs import model_input
from .sampling import Hypothesis, beam_search
from .tokenizer import EOS_ID, PAD_ID, Tokenizer

ATTENTIONS = ("none", "dot", "bilinear", "additive")


@dataclass(frozen=True)
class Seq2SeqConfig:
    """Sizes of the encoder–decoder; the decoder state has the annotations' size 2H (needed by dot)."""

    src_vocab: int
    tgt_vocab: int
    attention: str = "additive"  # one of ATTENTIONS
    n_embd: int = 64
    n_hidden: int = 64  # per encoder direction; annotations and decoder state have 2 * n_hidden
    dropout: float = 0.1
    max_src_len: int = 64  # longer sources are cut (translate says so)
    max_out_len: int = 16


@dataclass
class Translation:
    """One decoded output with everything the attention page shows (T_out steps, the last may emit <eos>)."""

    src_tokens: list[str]  # what the encoder read (unknowns as <unk>, cut to max_src_len)
    out_tokens: list[str]  # decoded tokens, without the final <eos>
    text: str  # the output, detokenized
    attention: torch.Tensor | None  # (T_out, T_in) α, rows sum to 1; None without attention (there is no α)
    scores: torch.Tensor | None  # (T_out, T_in) raw scores e before the softmax; None without attention
    contexts: torch.Tensor  # (T_out, D) the c_i the decoder read at each step (the thought vector for "none")
    token_probs: list[float]  # probability of each chosen token given the ones before it
    log_prob: float  # sum of log-probabilities of the chosen tokens (including <eos> if reached)
    notes: list[str]  # what was changed about the input (empty text, cut length, unknowns)
    beam_steps: tuple[tuple[Hypothesis, ...], ...]  # per step: the hypotheses kept, best first
    annotations: torch.Tensor  # (T_in, D) the encoder states h_j that c_i = Σ_j α_ij h_j mixes
    thought: torch.Tensor  # (D,) c = [→h_T; ←h_1], the encoder's final states; s_0 = tanh(W_s c)
    beam_pruned: tuple[tuple[Hypothesis, ...], ...] = ()  # per step: the candidates that did not make the beam
    prefix_len: int = 0  # the first prefix_len output tokens were fixed by the caller, not chosen by the search
    prefix_log_prob: float = 0.0  # Σ log p of those fixed tokens (included in log_prob)


@dataclass(frozen=True)
class AttentionEdit:
    """Push on the attention at one decoding step (Seq2Seq-Vis, Strobelt et al. 2018): α_i one-hot at source j,
    or token j's weight scaled, α_ij ∝ k·exp(e_ij), i.e. e_ij + ln k before the softmax (k = 0 blocks j)."""

    step: int  # decoding step i, 0-based: the step that reads y_{i−1} and emits output token i + 1
    source: int  # source position j, 0-based
    scale: float | None = None  # None: α_i = one-hot at j; else the factor k on exp(e_ij)

    def apply(self, scores: torch.Tensor, values: torch.Tensor, mask: torch.Tensor):
        """The edited (c_i (B, D), α_i (B, S)) from the step's scores e_i (B, S)."""
        if self.scale is None:
            alpha = F.one_hot(torch.full(scores.shape[:1], self.source, device=scores.device), scores.size(1))
            alpha = alpha.to(values.dtype)  # (B, S): exactly 1 at j, so c_i = h_j to the last bit
            return torch.einsum("bs,bsd->bd", alpha, values), alpha
        shift = torch.zeros_like(scores)
        shift[:, self.source] = math.log(self.scale) if self.scale > 0 else float("-inf")
        context, alpha, _ = _attend(scores + shift, values, mask)
        return context, alpha


class DecoderState(NamedTuple):
    """What ``SourceDecoder`` carries between steps: the decoder states, a row per hypothesis, and the step."""

    s: torch.Tensor  # (A, D)
    step: int  # decoder inputs read so far: the index of the next step


class _Scorer(nn.Module):
    """Base: ``keys(h)`` is what s_{i−1} is compared with, computed once per sentence."""

    def keys(self, h: torch.Tensor) -> torch.Tensor:
        return h


class NoAttention(_Scorer):
    """No attention: c_i = c = [→h_T; ←h_1], the encoder's final states, at every step (the bottleneck).

    There are no scores and no weights, so it returns None for both rather than a distribution it does not have.
    """

    def forward(self, s, keys, values, mask, thought):
        return thought, None, None


class DotAttention(_Scorer):
    """e_ij = s_{i−1} · h_j (Luong et al. 2015, "dot")."""

    def forward(self, s, keys, values, mask, thought):
        scores = torch.einsum("bd,bsd->bs", s, keys)  # (B, S)
        return _attend(scores, values, mask)


class BilinearAttention(_Scorer):
    """e_ij = s_{i−1}ᵀ W h_j (Luong et al. 2015, "general")."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.W = nn.Linear(dim, dim, bias=False)

    def keys(self, h: torch.Tensor) -> torch.Tensor:
        """W h_j for every source position: (B, S, D)."""
        return self.W(h)

    def forward(self, s, keys, values, mask, thought):
        scores = torch.einsum("bd,bsd->bs", s, keys)  # s_{i−1}ᵀ (W h_j)
        return _attend(scores, values, mask)


class AdditiveAttention(_Scorer):
    """e_ij = vᵀ tanh(W s_{i−1} + U h_j + b) (Bahdanau et al. 2015, feed-forward scoring; b is U's bias)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.W = nn.Linear(dim, dim, bias=False)
        self.U = nn.Linear(dim, dim, bias=True)
        self.v = nn.Linear(dim, 1, bias=False)

    def keys(self, h: torch.Tensor) -> torch.Tensor:
        """U h_j + b for every source position, computed once per sentence: (B, S, D)."""
        return self.U(h)

    def forward(self, s, keys, values, mask, thought):
        scores = self.v(torch.tanh(self.W(s)[:, None, :] + keys)).squeeze(-1)  # (B, S)
        return _attend(scores, values, mask)


def _attend(scores: torch.Tensor, values: torch.Tensor, mask: torch.Tensor):
    """α = softmax over real source positions (padding gets exactly 0); c = Σ_j α_j h_j."""
    alpha = F.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)  # (B, S)
    context = torch.einsum("bs,bsd->bd", alpha, values)  # (B, D)
    return context, alpha, scores


def make_attention(kind: str, dim: int) -> nn.Module:
    """The scoring module for ``kind``."""
    if kind == "none":
        return NoAttention()
    if kind == "dot":
        return DotAttention()
    if kind == "bilinear":
        return BilinearAttention(dim)
    if kind == "additive":
        return AdditiveAttention(dim)
    raise ValueError(f"attention must be one of {ATTENTIONS}")


class Seq2Seq(nn.Module):
    """Bidirectional GRU encoder, attention, GRU decoder; owns its source and target tokenizers."""

    def __init__(self, config: Seq2SeqConfig, src_tok: Tokenizer, tgt_tok: Tokenizer) -> None:
        super().__init__()
        self.config, self.src_tok, self.tgt_tok = config, src_tok, tgt_tok
        H, D, E = config.n_hidden, 2 * config.n_hidden, config.n_embd
        self.src_embed = nn.Embedding(config.src_vocab, E, padding_idx=PAD_ID)
        self.encoder = nn.GRU(E, H, batch_first=True, bidirectional=True)
        self.init_state = nn.Linear(D, D)  # s_0 = tanh(W_s [→h_T; ←h_1])
        self.tgt_embed = nn.Embedding(config.tgt_vocab, E, padding_idx=PAD_ID)
        self.attention = make_attention(config.attention, D)
        self.cell = nn.GRUCell(E + D, D)  # s_i = GRU([y_{i−1}; c_i], s_{i−1})
        self.pre_out = nn.Linear(D + D + E, D)  # t_i = tanh(W [s_i; c_i; y_{i−1}])
        self.out = nn.Linear(D, config.tgt_vocab)
        self.drop = nn.Dropout(config.dropout)

    # ----- the two halves, exposed separately for decoding and for the attention page -----
    def encode(self, src: torch.Tensor):
        """src (B, S) -> annotations h (B, S, D), mask (B, S), thought vector c (B, D), s_0 (B, D)."""
        mask = src != PAD_ID
        lengths = mask.sum(1).clamp(min=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(self.drop(self.src_embed(src)), lengths, batch_first=True,
                                                   enforce_sorted=False)
        out, last = self.encoder(packed)  # last: (2, B, H) = final forward and backward states
        h, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=src.size(1))  # (B, S, D)
        thought = torch.cat([last[0], last[1]], dim=-1)  # (B, D)
        return h, mask, thought, torch.tanh(self.init_state(thought))

    def keys(self, h: torch.Tensor) -> torch.Tensor:
        """What the scores compare s_{i−1} against (h_j, W h_j or U h_j + b), once per sentence."""
        return self.attention.keys(h)

    def read_step(self, y_prev, s_prev, h, keys, mask, thought, edit: AttentionEdit | None = None):
        """The state half of a step: c_i from s_{i−1}, then s_i = GRU([y_{i−1}; c_i], s_{i−1}).

        -> (s_i (B, D), c_i (B, D), embedded y_{i−1} (B, E), α_i (B, S), e_i (B, S)); α_i, e_i None without attention.
        ``edit`` replaces α_i (and so c_i) before the GRU reads it; e_i stays the model's own.
        """
        context, alpha, scores = self.attention(s_prev, keys, h, mask, thought)  # c_i from s_{i−1}
        if edit is not None:
            context, alpha = edit.apply(scores, h, mask)
        emb = self.drop(self.tgt_embed(y_prev))  # (B, E)
        s = self.cell(torch.cat([emb, context], -1), s_prev)  # (B, D)
        return s, context, emb, alpha, scores

    def output(self, s, context, emb):
        """The output half: logits = W_o tanh(W [s_i; c_i; y_{i−1}]), (B, V)."""
        t = torch.tanh(self.pre_out(self.drop(torch.cat([s, context, emb], -1))))
        return self.out(self.drop(t))

    def step(self, y_prev, s_prev, h, keys, mask, thought, edit: AttentionEdit | None = None):
        """One step, with what it read: -> (logits (B, V), s_i (B, D), c_i (B, D), α_i (B, S), e_i (B, S)).

        α_i and e_i are None without attention; ``edit`` forces α_i (see ``read_step``).
        """
        s, context, emb, alpha, scores = self.read_step(y_prev, s_prev, h, keys, mask, thought, edit)
        return self.output(s, context, emb), s, context, alpha, scores

    def decode_step(self, y_prev, s_prev, h, keys, mask, thought):
        """One step: (y_{i−1} (B,), s_{i−1} (B, D)) -> (logits (B, V), s_i, α_i (B, S), e_i (B, S)); α, e None
        without attention."""
        logits, s, _, alpha, scores = self.step(y_prev, s_prev, h, keys, mask, thought)
        return logits, s, alpha, scores

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor, tgt_out: torch.Tensor | None = None):
        """Teacher forcing: logits (B, T, V) for tgt_in (starting with <eos>); loss against tgt_out."""
        h, mask, thought, s = self.encode(src)
        keys = self.keys(h)
        logits = []
        for i in range(tgt_in.size(1)):
            step, s, _, _ = self.decode_step(tgt_in[:, i], s, h, keys, mask, thought)
            logits.append(step)
        logits = torch.stack(logits, 1)  # (B, T, V)
        loss = None
        if tgt_out is not None:
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), tgt_out.reshape(-1), ignore_index=PAD_ID)
        return logits, loss

    # ----- decoding from text -------------------------------------------------------------
    def source_ids(self, text: str) -> tuple[list[int], list[str]]:
        """Encode user text for the encoder; returns ids and notes about what was changed.

        The source is ``model_input``'s tokens without its start ``<eos>``: the encoder was trained on bare sources.
        """
        inp = model_input(self.src_tok, text.strip(), max_len=self.config.max_src_len + 1)
        ids = inp.ids[1:]
        notes = []
        if not ids:
            notes.append("The source is empty: nothing to translate.")
        if inp.cut:
            notes.append(f"The source is longer than {self.config.max_src_len} tokens; only the first "
                         f"{self.config.max_src_len} are read.")
        if any(inp.unknown):
            notes.append(f"{sum(inp.unknown)} token(s) are not in the vocabulary and are read as <unk>.")
        return ids, notes

    @torch.no_grad()
    def translate(self, text: str, beam: int = 1, max_len: int | None = None, prefix: Sequence[int] = (),
                  edit: AttentionEdit | None = None) -> Translation:
        """Beam search (beam 1 = greedy) with ``models.sampling.beam_search``, then the winner's α, e, c and
        distributions from a teacher-forced decode of its tokens.

        ``prefix``: target ids the output must start with (the search continues after them); ``edit``: the attention
        forced at one step, the decoder continuing from the context it gives.
        """
        ids, notes = self.source_ids(text)
        src_tokens = [self.src_tok.vocab.itos[i] for i in ids]
        D = 2 * self.config.n_hidden
        if edit is not None and self.config.attention == "none":
            raise ValueError("this model has no attention: there is no α to force")
        if not ids:
            none = self.config.attention == "none"
            empty = None if none else torch.zeros(0, 0)
            return Translation([], [], "", empty, empty, torch.zeros(0, D), [], 0.0, notes, (), torch.zeros(0, D),
                               torch.zeros(D))
        device = next(self.parameters()).device
        h, mask, thought, s0 = self.encode(torch.tensor([ids], device=device))
        decoder = SourceDecoder(self, h, mask, thought, s0, edit)
        limit = max(1, max_len or self.config.max_out_len)
        result = beam_search(decoder, [EOS_ID, *prefix], max(1, limit - len(prefix)), beam)
        toks = [*prefix, *result.best.tokens]
        contexts, alphas, scores, log_probs = decoder.teacher_forced([EOS_ID] + toks[:-1], toks[: len(prefix)])
        out = toks[:-1] if toks[-1] == EOS_ID else toks
        out_tokens = [self.tgt_tok.vocab.itos[k] for k in out]
        prefix_log_prob = float(sum(log_probs))
        return Translation(
            src_tokens=src_tokens,
            out_tokens=out_tokens,
            text=self.tgt_tok.detokenize(out_tokens),
            attention=None if alphas is None else alphas.cpu(),  # (T_out, T_in), one row per step incl. <eos>
            scores=None if scores is None else scores.cpu(),
            contexts=contexts.cpu(),
            token_probs=[math.exp(lp) for lp in log_probs] + [float(p) for p in result.token_probs()],
            log_prob=prefix_log_prob + result.best.log_prob,
            notes=notes,
            beam_steps=result.steps,
            annotations=h[0].cpu(),
            thought=thought[0].cpu(),
            beam_pruned=result.pruned,
            prefix_len=len(prefix),
            prefix_log_prob=prefix_log_prob,
        )

    def num_parameters(self) -> int:
        """Trainable parameter count."""
        return sum(p.numel() for p in self.parameters())


class SourceDecoder:
    """The decoder for one encoded source behind the LM decoding contract (``begin``, ``extend``, ``reorder``), so
    the one beam search of ``models.sampling`` serves it; its cache is a ``DecoderState``: the decoder state s
    (A, D), a row per hypothesis, and the step (every live hypothesis has read as many inputs). An optional
    ``AttentionEdit`` forces α at its step, for every hypothesis."""

    def __init__(self, model: Seq2Seq, h: torch.Tensor, mask: torch.Tensor, thought: torch.Tensor,
                 s0: torch.Tensor, edit: AttentionEdit | None = None) -> None:
        self.model, self.h, self.mask, self.thought, self.s0 = model, h, mask, thought, s0  # (1, S, D) ... (1, D)
        self.keys = model.keys(h)  # (1, S, D), once per source
        self.edit = edit

    @property
    def device(self) -> torch.device:
        return self.h.device

    def _step(self, y_prev: torch.Tensor, s_prev: torch.Tensor, step: int):
        """``Seq2Seq.step`` for A hypotheses of this one source, at decoding step ``step``."""
        A = y_prev.size(0)
        return self.model.step(y_prev, s_prev, self.h.expand(A, -1, -1), self.keys.expand(A, -1, -1),
                               self.mask.expand(A, -1), self.thought.expand(A, -1), self._edit_at(step))

    def _edit_at(self, step: int) -> AttentionEdit | None:
        """The edit if it acts at this step."""
        return self.edit if self.edit is not None and self.edit.step == step else None

    def begin(self, ids: torch.Tensor) -> tuple[torch.Tensor, DecoderState]:
        """Read the decoder inputs ids (1, T) (the first is <eos>) from s_0: the next logits (1, V) and the state."""
        state = DecoderState(self.s0, 0)
        for i in range(ids.size(1)):
            logits, state = self.extend(state, ids[:, i])
        return logits, state

    def extend(self, state: DecoderState, nxt: torch.Tensor) -> tuple[torch.Tensor, DecoderState]:
        """One token per hypothesis, nxt (A,): logits (A, V) of the token after it and the new state."""
        logits, s, *_ = self._step(nxt, state.s, state.step)
        return logits, DecoderState(s, state.step + 1)

    def reorder(self, state: DecoderState, rows: torch.Tensor) -> DecoderState:
        """The states of the hypotheses the beam kept, rows (K,), repeats allowed."""
        return DecoderState(state.s[rows], state.step)

    def teacher_forced(self, inputs: list[int], targets: Sequence[int] = ()):
        """Replay the given inputs (<eos> + the output but its last token) from s_0: c (T, D), α (T, S) and e (T, S),
        the last two None without attention, and log p of each of ``targets`` (the first outputs, at most T).

        Only the state half runs after the targets: the beam already scored every other token.
        """
        s, contexts, alphas, scores, log_probs = self.s0, [], [], [], []
        for i, y in enumerate(inputs):
            y_prev = torch.tensor([y], device=self.device)
            s, context, emb, alpha, e = self.model.read_step(y_prev, s, self.h, self.keys, self.mask, self.thought,
                                                             self._edit_at(i))
            if i < len(targets):  # float64, as the beam scores its tokens
                log_p = torch.log_softmax(self.model.output(s, context, emb).double(), -1)  # (1, V)
                log_probs.append(float(log_p[0, targets[i]]))
            contexts.append(context[0])
            alphas.append(alpha)
            scores.append(e)
        if alphas[0] is None:
            return torch.stack(contexts), None, None, log_probs
        return torch.stack(contexts), torch.cat(alphas), torch.cat(scores), log_probs  # (T, D) (T, S) (T, S) (P,)
