"""The masked LM against the causal transformer on one sentence: fill in a masked word three ways, both models'
attention, and cloze probes ("LMs as knowledge bases", Petroni et al. 2019; deck 002).

Plain dataclasses of numpy arrays and lists (picklable for ``st.cache_data``); no Streamlit.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import torch

from ..cloze import masked_logprobs
from ..inputs import ModelInput, model_input
from ..mlm import MaskedLM
from ..sampling import ranks
from ..tokenizer import Tokenizer
from ..transformer import TransformerLM

TOP = 10  # candidates shown per model
BLANK = re.compile(r"_{2,}|<mask>|\[mask\]", re.IGNORECASE)  # how a probe marks its blank
PROBES = (  # written for TinyStories' world: children's stories, animals, weather, colours
    "the sky is ___ .",
    "cats like to drink ___ .",
    "the sun is big and ___ .",
    "birds can ___ in the sky .",
    "the dog said , \" ___ ! \"",
    "fish live in the ___ .",
    "at night , the moon and the ___ came out .",
    "grass is ___ .",
    "she ate a red ___ .",
    "when it rains , the ground gets ___ .",
)


def sentence_input(model: TransformerLM, tokenizer: Tokenizer, text: str) -> ModelInput:
    """<eos> + the sentence's ids, cut to ``block_size`` (both transformers have that many positions)."""
    return model_input(tokenizer, text, model.config.block_size)


def default_position(inp: ModelInput) -> int | None:
    """The word to mask first: the longest known word (the first of equals); None if there is no word at all."""
    words = [(len(w), -i) for i, (w, u) in enumerate(zip(inp.words, inp.unknown, strict=True)) if w.isalpha() and not u]
    return -max(words)[1] + 1 if words else (1 if inp.words else None)


@dataclass
class FillIn:
    """One masked position filled three ways: MLM (both sides), causal (left only), MLM candidates rescored."""

    tokens: list[str]  # the T tokens read, the first is the start <eos>
    position: int  # index into ``tokens`` of the masked word
    target: str  # the word behind the mask, as the model sees it
    mlm_words: list[str]  # TOP most probable words, p(x_i | x_≠i)
    mlm_probs: np.ndarray  # (TOP,)
    mlm_rank: int  # 1-based rank of the true word
    causal_words: list[str]  # TOP most probable words, p(x_i | x_<i)
    causal_probs: np.ndarray  # (TOP,)
    causal_rank: int
    rescored_words: list[str]  # the MLM's candidates, best first by the causal log P(sentence with the candidate)
    rescored_logp: np.ndarray  # (TOP,) log P(w_1..w_T) = Σ_t log p(w_t | w_<t), with the candidate at i
    rescored_share: np.ndarray  # (TOP,) P(sentence) normalised over the candidates

    @property
    def right(self) -> list[str]:
        """The tokens after the mask: what only the MLM and the rescoring use."""
        return self.tokens[self.position + 1 :]


@torch.no_grad()
def sentence_logp(model: TransformerLM, rows: torch.Tensor) -> torch.Tensor:
    """Chain rule over each row (B, T): log P(w_1..w_{T−1} | <eos>) = Σ_t log p(w_t | w_<t), shape (B,)."""
    logits, _ = model(rows.to(model.device))  # (B, T, V)
    logp = torch.log_softmax(logits[:, :-1].float(), -1).cpu()
    return logp.gather(-1, rows[:, 1:, None])[..., 0].double().sum(1)


@torch.no_grad()
def fill_in(mlm: MaskedLM, causal: TransformerLM, tokenizer: Tokenizer, text: str, position: int) -> FillIn:
    """Mask ``tokens[position]`` and ask both transformers; rescore the MLM's candidates with the causal LM."""
    inp = sentence_input(mlm, tokenizer, text)
    if not 1 <= position < len(inp.ids):
        raise ValueError("there is no word at that position to mask")
    ids, itos = torch.tensor(inp.ids), tokenizer.vocab.itos
    both = masked_logprobs(mlm, ids, [position])[0]  # (V,) with <mask> last
    both[mlm.mask_id] = -torch.inf  # never a filler (the MLM was never asked to predict <mask>)
    left = torch.log_softmax(causal(ids[None, :position].to(causal.device))[0][0, -1].float(), -1).cpu()  # (V − 1,)
    mlm_top, causal_top = torch.topk(both, TOP), torch.topk(left, TOP)
    rows = ids.repeat(TOP, 1)  # (TOP, T): the sentence with each candidate at the mask
    rows[:, position] = mlm_top.indices
    logp = sentence_logp(causal, rows)
    order = torch.argsort(logp, descending=True)
    target = ids[position : position + 1]
    return FillIn(
        tokens=[itos[i] for i in inp.ids],
        position=position,
        target=itos[inp.ids[position]],
        mlm_words=[itos[i] for i in mlm_top.indices.tolist()],
        mlm_probs=mlm_top.values.exp().numpy(),
        mlm_rank=int(ranks(both[None], target)[0]),
        causal_words=[itos[i] for i in causal_top.indices.tolist()],
        causal_probs=causal_top.values.exp().numpy(),
        causal_rank=int(ranks(left[None], target)[0]),
        rescored_words=[itos[i] for i in mlm_top.indices[order].tolist()],
        rescored_logp=logp[order].numpy(),
        rescored_share=torch.softmax(logp[order], 0).numpy(),
    )


@dataclass
class AttentionPair:
    """Every head of both transformers on the same tokens: full squares (MLM) against triangles (causal)."""

    tokens: list[str]
    mlm: np.ndarray  # (L, H, T, T) rows sum to 1 over all T keys
    causal: np.ndarray  # (L, H, T, T) zero above the diagonal

    @property
    def forward_share(self) -> tuple[float, float]:
        """Mean attention weight on later tokens (above the diagonal), MLM and causal."""
        upper = np.triu(np.ones(self.mlm.shape[-2:], dtype=bool), 1)
        T = len(self.tokens)
        return tuple(float(a[..., upper].sum(-1).mean() / T) for a in (self.mlm, self.causal))


def attention_pair(mlm: MaskedLM, causal: TransformerLM, tokenizer: Tokenizer, text: str) -> AttentionPair:
    """Trace both transformers over <eos> + the sentence (cut to block_size)."""
    ids = torch.tensor([sentence_input(mlm, tokenizer, text).ids])
    maps = [m.trace(ids.to(m.device)).attention[0].float().cpu().numpy() for m in (mlm, causal)]
    return AttentionPair([tokenizer.vocab.itos[i] for i in ids[0].tolist()], *maps)


@dataclass
class Probe:
    """A cloze probe: the MLM's answers from both sides, the causal LM's from the words before the blank."""

    text: str
    words: list[str]  # the probe as read, "<mask>" at the blank (without the start <eos>)
    unknown: list[str]  # words of the probe that are not in the vocabulary (read as <unk>)
    mlm_words: list[str]
    mlm_probs: np.ndarray  # (k,)
    causal_words: list[str]
    causal_probs: np.ndarray  # (k,)


def probe_input(tokenizer: Tokenizer, mask_id: int, text: str) -> tuple[list[int], int, ModelInput, ModelInput]:
    """ids of <eos> + left + <mask> + right for a probe with one blank (``___``); the blank's index; both halves."""
    parts = BLANK.split(text)
    if len(parts) != 2:
        raise ValueError("write exactly one blank ___ where the answer goes" if len(parts) < 2 else
                         "write only one blank ___ (the model fills one word at a time)")
    left, right = (model_input(tokenizer, part) for part in parts)
    ids = left.ids + [mask_id] + right.ids[1:]
    return ids, len(left.ids), left, right


@torch.no_grad()
def read_probe(mlm: MaskedLM, causal: TransformerLM, tokenizer: Tokenizer, text: str, k: int = 5) -> Probe:
    """Fill the blank of a probe: the MLM's top k (both sides) and the causal transformer's (left side)."""
    ids, blank, left, right = probe_input(tokenizer, mlm.mask_id, text)
    if len(ids) > mlm.config.block_size:
        raise ValueError(f"the probe is longer than the model's {mlm.config.block_size} positions")
    itos = tokenizer.vocab.itos
    both = masked_logprobs(mlm, torch.tensor(ids), [blank])[0]
    both[mlm.mask_id] = -torch.inf
    before = torch.log_softmax(causal(torch.tensor([ids[:blank]], device=causal.device))[0][0, -1].float(), -1)
    b, c = torch.topk(both, k), torch.topk(before.cpu(), k)
    words = left.words + ["<mask>"] + right.words
    unknown = [w for w, u in zip(left.words + right.words, left.unknown + right.unknown, strict=True) if u]
    return Probe(text, words, unknown, [itos[i] for i in b.indices.tolist()], b.values.exp().numpy(),
                 [itos[i] for i in c.indices.tolist()], c.values.exp().numpy())
