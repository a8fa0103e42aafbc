"""A recurrent model reading a sentence step by step: states, gates, and its next-word guesses.

Plain dataclasses (picklable, so ``st.cache_data`` can keep them); torch work only, no Streamlit.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..inputs import model_input
from ..rnn import RecurrentLM
from ..sampling import SamplingConfig, generate, ranks, top_k_table
from ..tokenizer import Tokenizer


@dataclass
class Reading:
    """One pass over the sentence: inputs, states, gates, and the next-word predictions at every step."""

    inputs: list[str]  # token read at each step (step 0 reads the start <eos>)
    states: np.ndarray  # (T, H) h_t
    parts: dict[str, np.ndarray]  # gates and states by name (i, f, g, o, c, h / r, z, n, h), each (T, H)
    top_words: list[list[str]]  # (T, 10)
    top_probs: np.ndarray  # (T, 10)
    true_next: list[str]  # the word that really comes next ("" after the last)
    true_rank: list[int]  # its rank among the predictions (0 after the last)
    true_prob: np.ndarray  # (T,) its probability (nan after the last)
    cut: bool = False  # the sentence had more tokens than were read


def read_ids(model: RecurrentLM, itos: list[str], ids: list[int], cut: bool = False) -> Reading:
    """Trace the model over ids (hand-written cells) and tabulate its predictions step by step."""
    tr = model.trace(torch.tensor([ids], device=model.device))
    logits = tr.logits[0].cpu()  # (T, V)
    top_ids, top_p = top_k_table(logits, 10)
    nxt = torch.tensor(ids[1:] + [ids[-1]])
    r = ranks(logits, nxt).tolist()
    p = torch.softmax(logits, -1).gather(-1, nxt[:, None])[:, 0].cpu().numpy().astype(np.float64)
    r[-1], p[-1] = 0, np.nan
    parts = {k: v[0].cpu().numpy() for k, v in tr.gates.items()}
    parts["h"] = tr.h[0].cpu().numpy()
    if tr.c is not None:
        parts["c"] = tr.c[0].cpu().numpy()
    return Reading(
        inputs=[itos[i] for i in ids],
        states=parts["h"],
        parts=parts,
        top_words=[[itos[i] for i in row] for row in top_ids.tolist()],
        top_probs=top_p.cpu().numpy(),
        true_next=[itos[i] for i in ids[1:]] + [""],
        true_rank=r,
        true_prob=p,
        cut=cut,
    )


def read(model: RecurrentLM, tokenizer: Tokenizer, text: str, max_steps: int | None = None) -> Reading:
    """The model reads <eos> + the text (at most ``max_steps`` tokens), every state and gate kept."""
    inp = model_input(tokenizer, text, max_steps)
    return read_ids(model, tokenizer.vocab.itos, inp.ids, inp.cut)


def free_run(model: RecurrentLM, tokenizer: Tokenizer, text: str, start: int, max_steps: int | None = None) -> Reading:
    """Read the text up to step ``start``, then feed the model its own most probable word for the remaining steps."""
    ids = model_input(tokenizer, text, max_steps).ids
    own = generate(model, ids[: start + 1], len(ids) - start - 1, SamplingConfig(greedy=True), torch.Generator(),
                   stop_at_eos=False)
    return read_ids(model, tokenizer.vocab.itos, own)


def drift(teacher: Reading, free: Reading) -> np.ndarray:
    """‖h_t(teacher forcing) − h_t(free running)‖₂ at every step. (T,)"""
    return np.linalg.norm(teacher.states - free.states, axis=1)
