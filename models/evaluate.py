"""Evaluate any zoo model: ``python -m models.evaluate NAME --text FILE`` or ``--pairs FILE``.

Language models, on any UTF-8 text: PPL = exp(−(1/N) Σ_t log p(x_t | x_<t)). Each model gets the
context it has in use: recurrent models carry their state through the whole text, the transformer
slides its window, and the n-gram and feed-forward models see their fixed window. Every model
scores the same N tokens. Seq2seq models, on any source<TAB>target file: exact match, BLEU, and
for dates the alignment accuracy.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .data import encode_stream, read_text
from .dates import gold_spans
from .inputs import model_input
from .lm import LanguageModel, RecurrentLanguageModel
from .pairs import read_pairs
from .registry import LM_NAMES, SEQ2SEQ_SPECS, load
from .seq2seq_train import score_pairs

RECURRENT_CHUNK = 512
WINDOW_CHUNK = 1024


def _recurrent_nll(model: RecurrentLanguageModel, ids: torch.Tensor) -> torch.Tensor:
    """NLL of ids[1:] carrying the recurrent state from chunk to chunk."""
    out, state = [], None
    for a in range(0, len(ids) - 1, RECURRENT_CHUNK):
        x = ids[a : a + RECURRENT_CHUNK].unsqueeze(0)  # (1, T)
        y = ids[a + 1 : a + 1 + RECURRENT_CHUNK]
        logits, state = model.run(x, state)
        out.append(F.cross_entropy(logits[0, : len(y)], y, reduction="none"))
    return torch.cat(out)


def _window_nll(model, ids: torch.Tensor, stride: int, batch: int) -> torch.Tensor:
    """NLL of ids[1:] where target j is predicted from up to ``context_size`` tokens before it.

    Segments of ``stride`` targets are scored from windows that end just before their last target;
    the window's earlier tokens are context only.
    """
    n = len(ids)
    if model.max_len is None:
        length, stride = model.context_size + WINDOW_CHUNK, WINDOW_CHUNK
    else:
        length, stride = model.max_len, max(1, min(stride, model.max_len))
    segments = [(a, min(a + stride, n)) for a in range(1, n, stride)]  # targets ids[a:b]
    nll = torch.empty(n - 1)
    full = []
    for a, b in segments:
        lo = max(0, b - 1 - length)
        if lo == 0:
            logits, _ = model(ids[: b - 1].unsqueeze(0))  # (1, b-1, V)
            nll[a - 1 : b - 1] = F.cross_entropy(logits[0, a - 1 :], ids[a:b], reduction="none")
        else:
            full.append((a, b, lo))
    for i in range(0, len(full), batch):
        group = full[i : i + batch]
        x = torch.stack([ids[lo : b - 1] for a, b, lo in group])  # (G, length)
        logits, _ = model(x)
        for row, (a, b, lo) in enumerate(group):
            nll[a - 1 : b - 1] = F.cross_entropy(logits[row, a - 1 - lo :], ids[a:b], reduction="none")
    return nll


@torch.no_grad()
def token_nll(model: LanguageModel, ids: torch.Tensor, stride: int = 16, batch: int = 32) -> torch.Tensor:
    """−log p(ids[t] | its context) for t = 1..N−1 (ids[0] is the leading ``<eos>``), shape (N−1,)."""
    ids = ids.to(model.device)
    if isinstance(model, RecurrentLanguageModel):
        return _recurrent_nll(model, ids).cpu()
    return _window_nll(model, ids, stride, batch).cpu()


@dataclass
class ChainRule:
    """P(w₁..w_T) = ∏_t p(w_t | w_<t) for one text, token by token (natural logs)."""

    tokens: list[str]  # as the model sees them (unknown words as <unk>)
    words: list[str]  # as typed (before the vocabulary lookup)
    unknown: np.ndarray  # (T,) bool: the word is not in the vocabulary
    logp: np.ndarray  # (T,) log p(w_t | w_<t)
    cumulative: np.ndarray  # (T,) log ∏_{s≤t} p(w_s | w_<s)

    @property
    def total(self) -> float:
        """log P(w₁..w_T)."""
        return float(self.cumulative[-1]) if len(self.cumulative) else 0.0

    @property
    def perplexity(self) -> float:
        """exp(−(1/T) log P(w₁..w_T))."""
        return math.exp(-self.total / len(self.logp)) if len(self.logp) else float("nan")


def chain_rule(model: LanguageModel, tokenizer, text: str, append_eos: bool = False) -> ChainRule:
    """Score every token of ``text`` with its conditional probability (the first after ``<eos>``)."""
    inp = model_input(tokenizer, text, append_eos=append_eos)
    if len(inp.ids) < 2:
        raise ValueError("the text has no tokens to score")
    logp = -token_nll(model, torch.tensor(inp.ids)).double().numpy()
    return ChainRule(
        tokens=inp.tokens,
        words=inp.words,
        unknown=np.array(inp.unknown),
        logp=logp,
        cumulative=np.cumsum(logp),
    )


def evaluate_text(model: LanguageModel, tokenizer, text: str, stride: int = 16) -> dict:
    """Token count, OOV rate, cross-entropy (nats/token) and perplexity of ``text``."""
    ids = encode_stream(tokenizer, text)
    if len(ids) < 2:
        raise ValueError("the text has no tokens to score")
    nll = token_nll(model, ids, stride=stride)
    ce = float(nll.double().mean())
    return {
        "tokens": len(nll),
        "oov_rate": round(tokenizer.oov_rate(text), 6),
        "cross_entropy": ce,
        "perplexity": math.exp(ce),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=(*LM_NAMES, *SEQ2SEQ_SPECS))
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", help="any UTF-8 text file (language models)")
    source.add_argument("--pairs", help="tab-separated source<TAB>target file (seq2seq models)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    parser.add_argument("--stride", type=int, default=16, help="transformer window stride")
    args = parser.parse_args(argv)
    seq2seq = args.name in SEQ2SEQ_SPECS
    if seq2seq != (args.pairs is not None):
        parser.error("language models take --text, seq2seq models take --pairs")
    bundle = load(args.name, args.device)
    try:
        if seq2seq:
            pairs = read_pairs(args.pairs)
            if not pairs:
                raise ValueError("no source<TAB>target lines in the file")
            spans = gold_spans if SEQ2SEQ_SPECS[args.name].task == "dates" else None
            result = score_pairs(bundle.model, pairs, spans)
            result.pop("by_length")
        else:
            result = evaluate_text(bundle.model, bundle.tokenizer, read_text(args.text), args.stride)
    except (OSError, ValueError) as err:
        print(json.dumps({"error": str(err)}))
        return 1
    print(json.dumps({"model": args.name, "file": args.pairs or args.text, **result}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
