"""Why a bidirectional model cannot generate left to right, measured: change one later word and see which models'
outputs at the earlier positions move (deck 003). Both-sides models (the MLM, the bidirectional encoder's backward
half) change; left-to-right ones (the causal transformer, an LSTM, the encoder's forward half) cannot.

Plain dataclasses of numpy arrays and lists; no Streamlit.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..cloze import masked_logprobs
from ..inputs import model_input
from ..mlm import MaskedLM
from ..rnn import RecurrentLM
from ..seq2seq import Seq2Seq
from ..tokenizer import Tokenizer
from ..transformer import TransformerLM
from .masked import sentence_input


@dataclass
class Leak:
    """How much each model's output at every earlier position i < j moved when token j was replaced."""

    tokens: list[str]  # the sentence as read (the first is <eos>)
    changed: int  # j, the index of the replaced token
    new_word: str
    positions: np.ndarray  # (j − 1,) the earlier positions i = 1..j−1
    mlm: np.ndarray  # (j − 1,) total variation between p(x_i | x_≠i) before and after (i masked alone)
    mlm_before: list[str]  # the MLM's top word at i, before and after
    mlm_after: list[str]
    causal: np.ndarray  # (j − 1,) total variation between the transformer's p(· | x_≤i) before and after
    lstm: np.ndarray  # (j − 1,) ‖Δh_i‖ / ‖h_i‖ of the LSTM
    forward: np.ndarray  # (j − 1,) ‖Δ→h_i‖ / ‖→h_i‖ in the bidirectional encoder (NaN beyond what it reads)
    backward: np.ndarray  # (j − 1,) ‖Δ←h_i‖ / ‖←h_i‖

    @property
    def largest(self) -> dict[str, float]:
        """The largest change of each model over the earlier positions (0 when there are none)."""
        out = {}
        for name in ("mlm", "causal", "lstm", "forward", "backward"):
            row = getattr(self, name)
            out[name] = float(np.nanmax(row)) if np.isfinite(row).any() else 0.0
        return out


def word_id(tokenizer: Tokenizer, word: str) -> int:
    """The id of one known word; a clear ValueError for anything else."""
    inp = model_input(tokenizer, word)
    if len(inp.words) != 1:
        raise ValueError(f"type one word to put in (got {len(inp.words)} tokens)")
    if inp.unknown[0]:
        raise ValueError(f"“{inp.words[0]}” is not in the models' vocabulary: try another word")
    return inp.ids[1]


def _tv(a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
    """Total variation ½ Σ |p − q| between rows of two log-probability tables (N, V)."""
    return (0.5 * (a.exp() - b.exp()).abs().sum(-1)).double().numpy()


def _relative(a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
    """‖a − b‖ / ‖a‖ row by row."""
    return ((a - b).norm(dim=-1) / a.norm(dim=-1).clamp(min=1e-12)).double().numpy()


@torch.no_grad()
def encoder_halves(model: Seq2Seq, src: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """The bidirectional encoder's states for source ids (S,): →h (S, H) and ←h (S, H), ←h_j having read j..S."""
    h, _, _, _ = model.encode(torch.tensor([src], device=next(model.parameters()).device))  # (1, S, 2H)
    H = model.config.n_hidden
    return h[0, :, :H].cpu(), h[0, :, H:].cpu()


@torch.no_grad()
def leak(mlm: MaskedLM, causal: TransformerLM, lstm: RecurrentLM, encoder: Seq2Seq, tokenizer: Tokenizer,
         text: str, changed: int, new_word: str) -> Leak:
    """Replace token ``changed`` (j) by ``new_word`` and measure every model's change at positions 1..j−1."""
    inp = sentence_input(mlm, tokenizer, text)
    if not 1 <= changed < len(inp.ids):
        raise ValueError("there is no word at that position to change")
    new = word_id(tokenizer, new_word)
    before = torch.tensor(inp.ids)
    after = before.clone()
    after[changed] = new
    earlier = list(range(1, changed))
    if earlier:
        mb, ma = masked_logprobs(mlm, before, earlier), masked_logprobs(mlm, after, earlier)  # (j − 1, V)
        cb, ca = (torch.log_softmax(causal(x[None, :changed].to(causal.device))[0][0, 1:].float(), -1).cpu()
                  for x in (before, after))  # (j − 1, V): outputs at 1..j−1
        hb, ha = (lstm.rnn(lstm.embed(x[None, :changed].to(lstm.device)))[0][0, 1:].cpu() for x in (before, after))
    itos = tokenizer.vocab.itos
    src, _ = encoder.source_ids(text)
    fwd, bwd = np.full(len(earlier), np.nan), np.full(len(earlier), np.nan)
    if changed <= len(src):  # the encoder read the changed word (its source has no start token: word i is src[i − 1])
        src_after = list(src)
        src_after[changed - 1] = encoder.src_tok.vocab.stoi.get(itos[new], encoder.src_tok.vocab.unk_id)
        (fb, bb), (fa, ba) = encoder_halves(encoder, src), encoder_halves(encoder, src_after)
        fwd[:], bwd[:] = _relative(fb, fa)[: len(earlier)], _relative(bb, ba)[: len(earlier)]
    empty = np.zeros(0)
    return Leak(
        tokens=[itos[i] for i in inp.ids],
        changed=changed,
        new_word=itos[new],
        positions=np.array(earlier, dtype=np.int64),
        mlm=_tv(mb, ma) if earlier else empty,
        mlm_before=[itos[i] for i in mb.argmax(-1).tolist()] if earlier else [],
        mlm_after=[itos[i] for i in ma.argmax(-1).tolist()] if earlier else [],
        causal=_tv(cb, ca) if earlier else empty,
        lstm=_relative(hb, ha) if earlier else empty,
        forward=fwd,
        backward=bwd,
    )
