"""Recurrent networks beyond one left-to-right layer (decks 001 and 003): the bidirectional encoder's two halves,
and the stacked LSTM's layers with what each layer's state predicts (a per-layer readout, like a logit lens).

Plain dataclasses of numpy arrays and lists; no Streamlit.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..inputs import model_input
from ..rnn import RecurrentLM
from ..sampling import ranks
from ..seq2seq import Seq2Seq
from ..tokenizer import Tokenizer
from .leak import encoder_halves

READ_TOP = 5  # next-word guesses kept per layer and position


@dataclass
class Directions:
    """The bidirectional encoder on one source: →h_j has read words 1..j, ←h_j words j..S; h_j = [→h_j; ←h_j]."""

    tokens: list[str]  # the S source tokens as read (unknown words as <unk>)
    notes: list[str]  # what was changed about the input (cut, unknown words)
    forward: np.ndarray  # (S, H)
    backward: np.ndarray  # (S, H)

    @property
    def both(self) -> np.ndarray:
        """(S, 2H) the annotations h_j = [→h_j; ←h_j] the decoder's attention reads."""
        return np.concatenate([self.forward, self.backward], 1)

    @property
    def thought(self) -> np.ndarray:
        """(2H,) c = [→h_S; ←h_1], the no-attention decoder's thought vector."""
        return np.concatenate([self.forward[-1], self.backward[0]])


def read_directions(model: Seq2Seq, text: str) -> Directions:
    """Run the encoder of a seq2seq model over the source sentence."""
    ids, notes = model.source_ids(text)
    if not ids:
        raise ValueError("the source has no words")
    fwd, bwd = encoder_halves(model, ids)
    itos = model.src_tok.vocab.itos
    return Directions([itos[i] for i in ids], notes, fwd.float().numpy(), bwd.float().numpy())


@dataclass
class Stack:
    """Every layer of a stacked LSTM on <eos> + the sentence, and the next word read from each layer's state."""

    tokens: list[str]  # T tokens read (the first is <eos>)
    layers: np.ndarray  # (L, T, H) h_t of each layer, bottom first
    read_words: list[list[list[str]]]  # (L, T, READ_TOP) most probable next words, softmax(W_out h_t^(l) + b)
    read_probs: np.ndarray  # (L, T, READ_TOP)
    true_rank: np.ndarray  # (L, T − 1) rank of the true next word read from each layer
    true_logp: np.ndarray  # (L, T − 1) log p(true next word) read from each layer

    @property
    def mean_logp(self) -> np.ndarray:
        """(L,) mean log-probability of the true next word read from each layer (the last layer: the model's own)."""
        return self.true_logp.mean(1) if self.true_logp.shape[1] else np.zeros(len(self.layers))


@torch.no_grad()
def read_stack(model: RecurrentLM, tokenizer: Tokenizer, text: str, max_steps: int = 64) -> Stack:
    """Trace the stacked LSTM's hand-written cells and read every layer through the model's output layer.

    Only the top layer was trained to feed W_out; reading the lower one through it shows how far the first layer's
    state already is from a next-word prediction.
    """
    inp = model_input(tokenizer, text, max_steps)
    ids = torch.tensor([inp.ids], device=model.device)
    layers = model.trace(ids).layers[0]  # (L, T, H)
    logp = torch.log_softmax(model.head(layers).float(), -1).cpu()  # (L, T, V)
    top = torch.topk(logp, READ_TOP, dim=-1)
    nxt = torch.tensor(inp.ids[1:])
    itos = tokenizer.vocab.itos
    return Stack(
        tokens=[itos[i] for i in inp.ids],
        layers=layers.float().cpu().numpy(),
        read_words=[[[itos[i] for i in row] for row in layer] for layer in top.indices.tolist()],
        read_probs=top.values.exp().numpy(),
        true_rank=torch.stack([ranks(layer[:-1], nxt) for layer in logp]).numpy(),
        true_logp=logp[:, :-1].gather(-1, nxt[None, :, None].expand(len(logp), -1, 1))[..., 0].double().numpy(),
    )
