"""Readings of a model while it learns (the Train page): α of one input, exact match, a sentence's per-token loss.

Plain numpy out, computed under ``no_grad`` on the run's own private model; the live jobs call them at every
snapshot and the page calls them on the untrained model a run would start from.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..evaluate import greedy_batch, token_nll
from ..inputs import model_input
from ..lm import LanguageModel
from ..seq2seq import Seq2Seq, SourceDecoder
from ..tokenizer import EOS_ID, Tokenizer


@dataclass(frozen=True)
class SentenceLoss:
    """−log p of each token of one sentence under a model at one step (the student's sentence becoming familiar)."""

    model: str
    step: int
    tokens: tuple[str, ...]  # as the model reads them (unknown ones as <unk>)
    nll: np.ndarray  # (T,) nats per token


@torch.no_grad()
def alignment(model: Seq2Seq, source: str, target: str) -> np.ndarray | None:
    """α of ``source`` with the decoder fed the gold ``target`` (teacher forcing): (T_out + 1, T_in), or None."""
    ids, _ = model.source_ids(source)
    h, mask, thought, s0 = model.encode(torch.tensor([ids]))
    _, alpha, _, _ = SourceDecoder(model, h, mask, thought, s0).teacher_forced([EOS_ID, *model.tgt_tok.encode(target)])
    return None if alpha is None else alpha.cpu().numpy().astype(np.float32)


@torch.no_grad()
def exact_match(model: Seq2Seq, fresh: list[tuple[list[int], list[int]]]) -> float:
    """Share of fresh (source ids, target ids) pairs whose greedy output is exactly right."""
    outs, _ = greedy_batch(model, [s for s, _ in fresh])
    return float(np.mean([out == tgt for out, (_, tgt) in zip(outs, fresh, strict=True)]))


@torch.no_grad()
def sentence_loss(model: LanguageModel, tokenizer: Tokenizer, text: str, name: str = "", step: int = 0) -> SentenceLoss:
    """Each token's −log p(w_t | w_<t) in ``text`` (at most 64 tokens), read after ``<eos>`` like a new text."""
    inp = model_input(tokenizer, text, max_len=65)
    nll = token_nll(model, torch.tensor(inp.ids)).cpu().numpy() if len(inp.ids) > 1 else np.zeros(0)
    return SentenceLoss(name, step, tuple(inp.tokens), nll.astype(np.float32))
