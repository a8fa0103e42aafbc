"""Reading of a seq2seq translation: α_ij = softmax_j(e_ij), c_i = Σ_j α_ij h_j and the beam, as plain numpy.

Everything the attention page draws comes from here (Bahdanau et al. 2015); without attention there is no α
and no e (None), and the context is the thought vector c = [→h_T; ←h_1] at every step.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..sampling import Hypothesis
from ..seq2seq import AttentionEdit, Seq2Seq
from ..tokenizer import EOS


@dataclass(frozen=True)
class Seq2SeqReading:
    """One source through the encoder and the decoder: T_in source tokens, T_out decoding steps, D = 2H."""

    attention_kind: str  # "none", "dot", "bilinear" or "additive"
    src_tokens: list[str]  # (T_in,) what the encoder read (unknowns as <unk>)
    out_tokens: list[str]  # the output, without the final <eos>
    rows: list[str]  # (T_out,) the token each step emitted: the output, then <eos> if decoding stopped on it
    text: str  # the output, detokenized
    attention: np.ndarray | None  # (T_out, T_in) α, rows sum to 1; None without attention
    scores: np.ndarray | None  # (T_out, T_in) e before the softmax; None without attention
    contexts: np.ndarray  # (T_out, D) c_i the decoder read at step i (the thought vector at every step for none)
    annotations: np.ndarray  # (T_in, D) h_j = [→h_j; ←h_j]
    thought: np.ndarray  # (D,) c = [→h_T; ←h_1], the encoder's final states (s_0 = tanh(W_s c))
    token_probs: np.ndarray  # (T_out,) p(emitted token) at each step
    log_prob: float  # Σ log p of the emitted tokens (with <eos> if reached)
    notes: list[str]  # what became of the source: empty, cut, unknown tokens
    beam_steps: tuple[tuple[Hypothesis, ...], ...]  # the hypotheses kept after each step, best first
    words: dict[int, str]  # target word of every id in the beam (kept or pruned)
    beam_pruned: tuple[tuple[Hypothesis, ...], ...] = ()  # the candidates each step ranked but did not keep
    prefix_len: int = 0  # the first prefix_len output tokens were fixed, not chosen by the decoder
    prefix_log_prob: float = 0.0  # Σ log p of the fixed tokens (part of log_prob)

    @property
    def has_attention(self) -> bool:
        """Whether the model scores the source at all (the "none" model has no e and no α)."""
        return self.attention is not None

    def tokens_of(self, hypothesis: Hypothesis) -> list[str]:
        """A beam hypothesis as target words."""
        return [self.words[k] for k in hypothesis.tokens]

    def weighted_sum(self, step: int) -> np.ndarray:
        """(D,) Σ_j α_ij h_j recomputed from α and the annotations: the c_i the decoder read (``contexts[step]``)."""
        return self.attention[step] @ self.annotations  # (T_in,) @ (T_in, D)

    def contributions(self, step: int) -> np.ndarray:
        """(T_in,) ‖α_ij h_j‖: how much of c_i each source token supplies at step i."""
        return np.linalg.norm(self.attention[step][:, None] * self.annotations, axis=1)


def _numpy(tensor) -> np.ndarray | None:
    return None if tensor is None else tensor.float().cpu().numpy()


def read_translation(model: Seq2Seq, text: str, beam: int = 1, prefix: Sequence[int] = (),
                     edit: AttentionEdit | None = None) -> Seq2SeqReading:
    """Translate ``text`` (beam 1 = greedy) and return what every step read and emitted; ``prefix`` fixes the first
    output ids, ``edit`` forces the attention at one step (see ``Seq2Seq.translate``)."""
    tr = model.translate(text, beam=beam, prefix=prefix, edit=edit)
    itos = model.tgt_tok.vocab.itos
    beam_ids = {k for steps in (tr.beam_steps, tr.beam_pruned) for kept in steps for h in kept for k in h.tokens}
    beam_ids.update(prefix)
    return Seq2SeqReading(
        attention_kind=model.config.attention,
        src_tokens=tr.src_tokens,
        out_tokens=tr.out_tokens,
        rows=tr.out_tokens + [EOS] * (len(tr.token_probs) - len(tr.out_tokens)),
        text=tr.text,
        attention=_numpy(tr.attention),
        scores=_numpy(tr.scores),
        contexts=tr.contexts.float().cpu().numpy(),
        annotations=tr.annotations.float().cpu().numpy(),
        thought=tr.thought.float().cpu().numpy(),
        token_probs=np.asarray(tr.token_probs, dtype=np.float32),
        log_prob=float(tr.log_prob),
        notes=list(tr.notes),
        beam_steps=tr.beam_steps,
        words={k: itos[k] for k in sorted(beam_ids)},
        beam_pruned=tr.beam_pruned,
        prefix_len=tr.prefix_len,
        prefix_log_prob=tr.prefix_log_prob,
    )


def length_curves(metrics: dict[str, dict], metric: str) -> tuple[list[str], dict[str, list[float]]]:
    """Each model's ``metric`` per source-length bucket, as recorded in its manifest entry at training time."""
    buckets = list(next(iter(metrics.values()))["by_length"]) if metrics else []
    return buckets, {name: [m["by_length"][b][metric] for b in buckets] for name, m in metrics.items()}
