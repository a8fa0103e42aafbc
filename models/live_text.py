"""The text a live language model learns: an uploaded file checked, split, tokenized; or stories our transformer writes.

An upload is refused with a message (never an exception) when it is empty, over 1 MB, binary or not UTF-8, or
too short to split into a training part and a validation part (the last 10%, nanoGPT's split).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .data import Corpus, encode_stream
from .lm import LanguageModel
from .sampling import SamplingConfig, sample_batch
from .tokenizer import EOS, CharTokenizer, Tokenizer, WordTokenizer

MAX_BYTES = 1_000_000  # 1 MB: the page's limit (and the server's, server.maxUploadSize)
LEVELS = ("char", "word")
MAX_WORD_VOCAB = 4000  # the rest of a large text's words become <unk>
MIN_VALID_TOKENS = 64  # the validation part must hold at least this many tokens ...
MIN_TRAIN_TOKENS = 256  # ... and the training part this many (several 64-token windows)


@dataclass(frozen=True)
class Checked:
    """An upload read as text, or why it cannot be used."""

    text: str
    message: str  # empty when the text is usable


def check_upload(data: bytes, max_bytes: int = MAX_BYTES) -> Checked:
    """Bytes of an uploaded ``.txt`` -> text, or a message naming what is wrong with the file."""
    if not data.strip():
        return Checked("", "The file is empty: upload a .txt file with some text in it.")
    if len(data) > max_bytes:
        return Checked("", f"The file is {len(data) / 1e6:.1f} MB; the limit is {max_bytes / 1e6:g} MB. "
                           "Upload a shorter text.")
    if b"\x00" in data:
        return Checked("", "The file looks binary (it contains zero bytes), not like text: upload a plain .txt file.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return Checked("", "The file is not UTF-8 text (binary, or another encoding): save it as UTF-8 plain text.")
    return Checked(text.replace("\r\n", "\n"), "")


@dataclass(frozen=True)
class LMData:
    """A text tokenized at one level and split: train ids, valid ids (both start after an ``<eos>``)."""

    level: str
    tokenizer: Tokenizer
    train: torch.Tensor  # (N_train,) ids
    valid: torch.Tensor  # (N_valid,) ids
    chars: int


def prepare(text: str, level: str, train_fraction: float = 0.9) -> LMData:
    """Split ``text`` by characters (the last 10% validates), build the vocabulary from the training part.

    Raises ValueError with a student-facing message when either part is too short.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}")
    corpus = Corpus.split_text(text, train_fraction)
    if level == "char":
        tokenizer: Tokenizer = CharTokenizer.build(corpus.train)
    else:
        tokenizer = WordTokenizer.build(corpus.train, min_count=1, max_size=MAX_WORD_VOCAB)
    train, valid = encode_stream(tokenizer, corpus.train), encode_stream(tokenizer, corpus.valid)
    if len(train) < MIN_TRAIN_TOKENS or len(valid) < MIN_VALID_TOKENS:
        need = math.ceil(round(max(MIN_TRAIN_TOKENS / train_fraction, MIN_VALID_TOKENS / (1 - train_fraction)), 6))
        unit = "characters" if level == "char" else "words"
        raise ValueError(f"The text is too short to split into training and validation parts: it has "
                         f"{len(train) + len(valid) - 2:,} {unit}, and at least about {need:,} are needed.")
    return LMData(level, tokenizer, train, valid, len(text))


def sample_stories(model: LanguageModel, tokenizer: Tokenizer, stories: int, tokens: int, seed: int,
                   temperature: float = 0.8) -> str:
    """Stories written by a trained LM from ``<eos>`` (a new story), one per row, cut at their first end."""
    cfg = SamplingConfig(temperature=temperature)
    rows = sample_batch(model, [], stories, tokens, cfg, torch.Generator().manual_seed(seed))  # (S, tokens)
    texts = []
    for row in rows.tolist():
        words = [tokenizer.vocab.itos[i] for i in row]
        story = words[: words.index(EOS)] if EOS in words else words
        if len(story) > 20:  # a story that ended at once, or barely began, teaches nothing
            texts.append(tokenizer.detokenize(story))
    return "\n\n".join(texts)
