"""The one path from text to ids: ``<eos>`` + the tokens, cut to what the model can read.

Every reading and the evaluator go through ``model_input``, so a page and ``python -m models.evaluate``
score exactly the same ids.
"""
from __future__ import annotations

from dataclasses import dataclass

from .tokenizer import EOS, UNK, Tokenizer


@dataclass(frozen=True)
class ModelInput:
    """What a model reads for one text: ids (the first is the start ``<eos>``) and what became of the words."""

    ids: list[int]  # (T,) <eos> + the tokens' ids, at most ``max_len``
    words: list[str]  # the tokens as typed, before the vocabulary lookup (cut like ids[1:])
    unknown: list[bool]  # word not in the vocabulary: read as <unk>
    cut: bool  # the text had more tokens than the model reads

    @property
    def tokens(self) -> list[str]:
        """The words as the model sees them (unknown words as ``<unk>``), without the start token."""
        return [UNK if u else w for w, u in zip(self.words, self.unknown, strict=True)]


def model_input(tokenizer: Tokenizer, text: str, max_len: int | None = None, append_eos: bool = False) -> ModelInput:
    """``<eos>`` (a story starts after the end of the last one) + the text's ids, cut to ``max_len`` ids.

    ``append_eos`` adds the end-of-story marker, so its probability is scored too.
    """
    words = tokenizer.tokens(text) + ([EOS] if append_eos else [])
    stoi, unk = tokenizer.vocab.stoi, tokenizer.vocab.unk_id
    ids = [tokenizer.vocab.eos_id] + [stoi.get(w, unk) for w in words]
    cut = max_len is not None and len(ids) > max_len
    if cut:
        ids, words = ids[:max_len], words[: max_len - 1]
    return ModelInput(ids, words, [w not in stoi for w in words], cut)
